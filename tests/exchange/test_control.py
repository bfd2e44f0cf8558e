"""SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / properties, and their error shapes
(web-socket-streams.md "Live Subscribing/Unsubscribing to streams", "Error Messages")."""

import pytest

from hftshm.exchange.stream_control import StreamSession, handle
from hftshm.exchange.streams import parse_stream


def check(name):
    symbol, _ = parse_stream(name)
    if symbol not in ("btcusdt", "ethusdt"):
        raise ValueError(f"unknown symbol {symbol!r}")


def run(session, text, max_streams=1024):
    return handle(text, session, check, max_streams)


def test_subscribe_list_unsubscribe():
    s = StreamSession(combined=False)
    assert run(s, '{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1}') == {"result": None, "id": 1}
    assert run(s, '{"method":"LIST_SUBSCRIPTIONS","id":3}') == {"result": ["btcusdt@aggTrade", "btcusdt@depth"], "id": 3}
    assert run(s, '{"method":"UNSUBSCRIBE","params":["btcusdt@depth"],"id":312}') == {"result": None, "id": 312}
    assert run(s, '{"method":"LIST_SUBSCRIPTIONS","id":"abc"}') == {"result": ["btcusdt@aggTrade"], "id": "abc"}


def test_properties():
    s = StreamSession(combined=False)
    assert run(s, '{"method":"GET_PROPERTY","params":["combined"],"id":2}') == {"result": False, "id": 2}
    assert run(s, '{"method":"SET_PROPERTY","params":["combined",true],"id":5}') == {"result": None, "id": 5}
    assert s.combined is True


@pytest.mark.parametrize("text, code, msg", [
    ('{"method":"SUBSCRIBE","params":[', 3, "Invalid JSON: "),
    ('{"params":[],"id":1}', 2, "Invalid request: missing field `method`"),
    ('{"method":"SUBSCRIBE","params":[]}', 2, "Invalid request: request ID must be an unsigned integer"),
    ('{"method":"SUBSCRIBE","params":[],"id":true}', 2, "Invalid request: request ID must be an unsigned integer"),
    ('{"method":"SUBSCRIBE","params":[],"id":"has space"}', 2, "Invalid request: request ID must be an unsigned integer"),
    ('{"method":"SUBSCRIB","params":[],"id":1}', 2,
     "Invalid request: unknown variant `SUBSCRIB`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, "
     "`LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"),
    ('{"method":"LIST_SUBSCRIPTIONS","params":["x"],"id":1}', 2, "Invalid request: too many parameters"),
    ('{"method":"GET_PROPERTY","params":[1],"id":1}', 2, "Invalid request: property name must be a string"),
    ('{"method":"GET_PROPERTY","params":["colour"],"id":1}', 0, "Unknown property"),
    ('{"method":"SET_PROPERTY","params":["combined","yes"],"id":1}', 1, "Invalid value type: expected Boolean"),
    ('{"method":"SUBSCRIBE","params":["dogeusdt@trade"],"id":1}', 2, "Invalid request: unknown symbol 'dogeusdt'"),
    ('{"method":"SUBSCRIBE","params":["btcusdt@kline_1m"],"id":1}', 2, "unknown kind 'kline_1m'"),
])
def test_errors(text, code, msg):
    s = StreamSession(combined=True)
    resp = run(s, text)
    assert set(resp) == {"error", "id"}
    assert resp["error"]["code"] == code
    assert msg in resp["error"]["msg"]
    assert s.streams == {}


def test_stream_limit():
    s = StreamSession(combined=True)
    assert run(s, '{"method":"SUBSCRIBE","params":["btcusdt@trade","ethusdt@trade"],"id":1}', 2)["result"] is None
    resp = run(s, '{"method":"SUBSCRIBE","params":["btcusdt@bookTicker"],"id":2}', 2)
    assert resp["error"]["code"] == 2 and "at most 2" in resp["error"]["msg"]
    assert s.names() == ["btcusdt@trade", "ethusdt@trade"]
    # Subscribing again to what is already there does not count twice.
    assert run(s, '{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":3}', 2)["result"] is None
