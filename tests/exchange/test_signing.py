"""HMAC-SHA256 signatures as web-socket-api.md "SIGNED request example (HMAC)" computes them."""

import hashlib
import hmac

from hftshm.exchange.signing import payload, sign, verify

# The documented example: key, secret, request parameters and the resulting signature.
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_PARAMS = {
    "symbol": "BTCUSDT",
    "side": "SELL",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.01000000",
    "price": "52000.00",
    "newOrderRespType": "ACK",
    "recvWindow": 100,
    "timestamp": 1645423376532,
    "apiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
}
DOC_PAYLOAD = (
    "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&newOrderRespType=ACK"
    "&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC"
    "&timestamp=1645423376532&type=LIMIT"
)
DOC_SIGNATURE = "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a"


def test_documented_example():
    assert payload(DOC_PARAMS) == DOC_PAYLOAD
    assert sign(DOC_SECRET, DOC_PARAMS) == DOC_SIGNATURE
    assert verify(DOC_SECRET, {**DOC_PARAMS, "signature": DOC_SIGNATURE})


def test_hand_computed_vector():
    params = {"timestamp": 1700000000000, "apiKey": "hftshm-demo-key", "symbol": "BTCUSDT",
              "omitZeroBalances": True}
    by_hand = hmac.new(
        b"hftshm-demo-secret",
        b"apiKey=hftshm-demo-key&omitZeroBalances=true&symbol=BTCUSDT&timestamp=1700000000000",
        hashlib.sha256,
    ).hexdigest()
    assert sign("hftshm-demo-secret", params) == by_hand


def test_signature_is_excluded_and_case_insensitive():
    signed = {**DOC_PARAMS, "signature": DOC_SIGNATURE.upper()}
    assert payload(signed) == DOC_PAYLOAD
    assert verify(DOC_SECRET, signed)


def test_tampering_or_wrong_secret_fails():
    good = {**DOC_PARAMS, "signature": DOC_SIGNATURE}
    assert not verify(DOC_SECRET, {**good, "quantity": "0.02000000"})
    assert not verify("another-secret", good)
    assert not verify(DOC_SECRET, DOC_PARAMS)  # no signature at all
    assert not verify(DOC_SECRET, {**DOC_PARAMS, "signature": 12345})
