"""The built-in cross-venue ``spread`` strategy on literal quote sequences: exact intents.

Two legs of one instrument, ``usdm:btcusdt`` (id 0, leg A) and ``bybit:btcusdt`` (id 1, leg B),
one symbol table over both venues, as the multi-venue strategy worker hands it."""

import numpy as np
import pytest

from hftshm.config_schema import KIND_KEYS, spread_legs
from hftshm.errors import ConfigError
from hftshm.layouts import exec_report as F
from hftshm.layouts import md as M
from hftshm.layouts import order as O
from hftshm.trading import loader
from hftshm.trading.builtins import check_params
from hftshm.trading.strategy import StrategyEngine
from hftshm.venues.instruments import InstrumentError, InstrumentRules

E8 = 100_000_000
MS = 1_000_000
SYMS = ["usdm:btcusdt", "bybit:btcusdt"]
A, B = 0, 1


def rules(tick, step, min_qty=None):
    return InstrumentRules(symbol="BTCUSDT", base="BTC", quote="USDT", tick_e8=e8(tick), step_e8=e8(step),
                           min_qty_e8=e8(min_qty or step))


def e8(text) -> int:
    whole, _, frac = str(text).partition(".")
    return int(whole) * E8 + int((frac + "0" * 8)[:8])


RULES = {"USDM:BTCUSDT": rules("0.1", "0.001"), "BYBIT:BTCUSDT": rules("0.1", "0.001")}
# fees + threshold = 5 bps; no cooldown unless a test sets one
BASE = {"name": "sp", "kind": "spread", "fee_bps": 4, "threshold_bps": 1, "qty": "0.001", "max_position": "0.002",
        "max_quote_age_ms": 100, "cooldown_ms": 0}


class Run:
    """One strategy on one engine; ``out`` the intents, ``fill`` reports on them."""

    def __init__(self, symbols=SYMS, table_rules=RULES, positions=None, **params):
        table = {**BASE, "symbols": list(symbols), **params}
        check_params("spread", table)
        self.out = []
        self.by_id = {}
        self.seq = 0
        self.trades = 0
        self.strategy = loader.load(table, list(symbols), table_rules)
        self.engine = StrategyEngine(self.strategy, 5, self.sink,
                                     clock=lambda: 0, positions=positions)

    def sink(self, rec):
        self.out.append(rec.copy())
        self.by_id[int(rec["order_id"][0])] = self.out[-1][0]
        return True

    def quote(self, sym, bid, ask, ms, bid_qty="1", ask_qty="1"):
        """One QUOTE record at ``ms`` ms; returns the intents it gave, as tuples."""
        r = np.zeros(1, M.DTYPE)
        self.seq += 1
        r["seq"], r["kind"], r["symbol_id"], r["recv_ns"] = self.seq, M.QUOTE, sym, int(ms * MS)
        r["price_e8"], r["qty_e8"], r["price2_e8"], r["qty2_e8"] = e8(bid), e8(bid_qty), e8(ask), e8(ask_qty)
        before = len(self.out)
        self.engine.on_md_batch(r)
        got = self.out[before:]
        for o in got:  # every intent is an IOC limit triggered by this record
            assert (o["type"][0], o["tif"][0], o["action"][0]) == (O.LIMIT, O.IOC, O.NEW)
            assert (o["trigger_seq"][0], o["trigger_recv_ns"][0]) == (self.seq, int(ms * MS))
        return [(int(o["symbol_id"][0]), "buy" if o["side"][0] == O.BUY else "sell", int(o["qty_e8"][0]),
                 int(o["price_e8"][0])) for o in got]

    def fill_all(self, fraction=1.0):
        """Every live order fills ``fraction`` of its quantity, the rest expires (an IOC's end)."""
        for oid in sorted(self.engine.live):
            o = self.by_id[oid]
            qty = int(int(o["qty_e8"]) * fraction)
            r = np.zeros(1, F.DTYPE)
            r["order_id"], r["strategy_id"], r["symbol_id"], r["side"] = o["order_id"], 5, o["symbol_id"], o["side"]
            if qty:
                self.trades += 1
                r["exec_type"], r["last_qty_e8"], r["last_px_e8"] = F.EX_TRADE, qty, o["price_e8"]
                r["trade_id"] = self.trades
                r["state"] = F.ST_FILLED if qty == int(o["qty_e8"]) else F.ST_PARTIAL
                self.engine.on_fill(r[0])
            if qty != int(o["qty_e8"]):
                r["exec_type"], r["state"], r["last_qty_e8"], r["trade_id"] = F.EX_EXPIRED, F.ST_EXPIRED, 0, 0
                self.engine.on_fill(r[0])

    @property
    def positions(self):
        return [int(p) for p in self.strategy.position]


Q = e8("0.001")


def test_b_rich_buys_a_at_its_ask_and_sells_b_at_its_bid():
    run = Run()
    assert run.quote(A, "99990", "100000", 0) == []  # one leg only
    # mid 100,030, 5 bps of it 50.015; B's bid is 60 over A's ask
    assert run.quote(B, "100060", "100070", 1) == [(A, "buy", Q, e8("100000")), (B, "sell", Q, e8("100060"))]


def test_a_rich_buys_b_and_sells_a():
    run = Run()
    run.quote(B, "99990", "100000", 0)
    assert run.quote(A, "100060", "100070", 1) == [(B, "buy", Q, e8("100000")), (A, "sell", Q, e8("100060"))]


def test_a_divergence_of_exactly_fees_plus_threshold_does_not_trade():
    run = Run()
    run.quote(A, "99900", "100000", 0)
    # the mid is exactly 100,000: B's bid 50 over A's ask is 5 bps, not more
    assert run.quote(B, "100050", "100050", 1) == []
    # a tick more is
    assert run.quote(B, "100050.1", "100050.1", 2) == [(A, "buy", Q, e8("100000")), (B, "sell", Q, e8("100050.1"))]


def test_fees_count_as_well_as_the_threshold():
    run = Run(fee_bps=6, threshold_bps=0)  # 6 bps: 60.02 of the mid below
    run.quote(A, "99990", "100000", 0)
    assert run.quote(B, "100060", "100070", 1) == []
    assert run.quote(B, "100061", "100071", 2) == [(A, "buy", Q, e8("100000")), (B, "sell", Q, e8("100061"))]


def test_a_stale_leg_does_not_trade():
    run = Run()  # max_quote_age_ms = 100
    run.quote(A, "99990", "100000", 0)
    assert run.quote(B, "100060", "100070", 100.000001) == []  # A's quote is 1 ns past 100 ms old
    assert run.quote(A, "99990", "100000", 150) != []  # a fresh A: both fresh again
    run2 = Run()
    run2.quote(A, "99990", "100000", 0)
    assert run2.quote(B, "100060", "100070", 100) != []  # exactly 100 ms: still fresh
    run3 = Run()  # records of two rings, interleaved out of time order: the newer decides the age
    run3.quote(B, "100060", "100070", 300)
    assert run3.quote(A, "99990", "100000", 150) == []


def test_an_empty_or_crossed_leg_does_not_trade():
    run = Run()
    run.quote(A, "0", "100000", 0)  # no bid
    assert run.quote(B, "100060", "100070", 1) == []
    run.quote(A, "100001", "100000", 2)  # crossed
    assert run.quote(B, "100060", "100070", 3) == []


def test_worst_case_position_stays_within_max_position():
    run = Run(exit_bps=-1000)  # no exit in this test
    run.quote(A, "99990", "100000", 0)
    assert len(run.quote(B, "100060", "100070", 1)) == 2
    assert len(run.quote(B, "100060", "100070", 2)) == 2  # open orders count: 0.002 each way
    assert run.quote(B, "100060", "100070", 3) == []  # a third would take A to +0.003 (worst case)
    run.fill_all()
    assert run.positions == [2 * Q, -2 * Q]
    assert run.quote(B, "100060", "100070", 4) == []  # filled: the same worst case
    # the other way reduces both legs: allowed
    assert run.quote(B, "99930", "99940", 5) == [(B, "buy", Q, e8("99940")), (A, "sell", Q, e8("99990"))]


def test_a_leg_at_its_limit_blocks_the_pair():
    # A restored short at the limit: selling A (B cheap) is refused, buying A (B rich) is not
    run = Run(positions={A: -2 * Q}, exit_bps=-1000)
    run.quote(A, "99990", "100000", 0)
    assert run.quote(B, "99930", "99940", 1) == []
    assert run.quote(B, "100060", "100070", 2) == [(A, "buy", Q, e8("100000")), (B, "sell", Q, e8("100060"))]
    # B restored long at the limit: selling B is fine twice; A's open buys alone then stop a third
    run = Run(positions={B: 2 * Q}, exit_bps=-1000)
    run.quote(A, "99990", "100000", 0)
    assert len(run.quote(B, "100060", "100070", 1)) == 2
    assert len(run.quote(B, "100060", "100070", 2)) == 2
    assert run.quote(B, "100060", "100070", 3) == []
    run = Run(positions={A: -2 * Q}, exit_bps=-1000)  # and the other way round: B's open sells stop it
    run.quote(A, "99990", "100000", 0)
    assert len(run.quote(B, "100060", "100070", 1)) == 2
    assert len(run.quote(B, "100060", "100070", 2)) == 2
    assert run.quote(B, "100060", "100070", 3) == []


def test_the_sell_goes_only_with_the_buy():
    run = Run()
    run.engine.sink = lambda rec: False  # the orders ring full
    run.quote(A, "99990", "100000", 0)
    assert run.quote(B, "100060", "100070", 1) == []
    assert run.engine.dropped == 1  # the buy was refused: no sell was tried
    run.engine.sink = run.sink
    assert len(run.quote(B, "100060", "100070", 2)) == 2  # nothing sent started no cooldown


def test_cooldown_per_group():
    run = Run(cooldown_ms=50)
    run.quote(A, "99990", "100000", 0)
    assert len(run.quote(B, "100060", "100070", 10)) == 2
    run.fill_all(0)  # nothing filled: the IOCs expired
    assert run.quote(B, "100060", "100070", 59.999999) == []
    assert len(run.quote(B, "100060", "100070", 60)) == 2


def test_exit_when_the_divergence_crosses_back():
    run = Run()
    run.quote(A, "99990", "100000", 0)
    run.quote(B, "100060", "100070", 1)
    run.quote(B, "100060", "100070", 2)
    assert run.quote(A, "99990", "100000", 3) == []  # a third pair would pass max_position
    run.fill_all()
    assert run.positions == [2 * Q, -2 * Q]
    assert run.quote(B, "100005", "100015", 5) == []  # B's mid still above A's (99,995): held
    assert run.quote(B, "99990", "100000", 6) == []  # equal mids: not below 0
    # B's mid below A's: take back qty of each leg, A sold at its bid, B bought at its ask
    assert run.quote(B, "99989.9", "99999.9", 7) == [(A, "sell", Q, e8("99990")), (B, "buy", Q, e8("99999.9"))]
    assert run.quote(B, "99989.9", "99999.9", 8) == []  # live: wait for the reports
    run.fill_all()
    assert run.positions == [Q, -Q]
    assert run.quote(B, "99989.9", "99999.9", 9) == [(A, "sell", Q, e8("99990")), (B, "buy", Q, e8("99999.9"))]
    run.fill_all()
    assert run.positions == [0, 0]
    assert run.quote(B, "99989.9", "99999.9", 10) == []  # flat: nothing to take back, no edge to enter


def test_exit_bps_takes_back_earlier_and_sizes_come_from_positions():
    held = {A: Q // 2 * 3, B: -Q // 2}  # long A 0.0015, short B 0.0005: entered buying A
    run = Run(positions=held)
    run.quote(A, "100010", "100020", 0)
    assert run.quote(B, "100020", "100030", 1) == []  # B's mid 10 (1 bp) above A's: held at exit_bps 0
    run = Run(positions=held, exit_bps=2)
    run.quote(A, "100010", "100020", 0)
    # 1 bp is below 2: A takes back min(0.0015, qty); B's 0.0005 is below its step 0.001: not sent
    assert run.quote(B, "100020", "100030", 1) == [(A, "sell", Q, e8("100010"))]
    run.fill_all()
    assert run.positions == [Q // 2, -Q // 2]
    assert run.quote(B, "100020", "100030", 2) == []  # what is left is below both steps
    # the other way: short A/long B (entered selling A), taken back when A's mid falls under B's + 2 bp
    run = Run(positions={A: -Q, B: Q}, exit_bps=2)
    run.quote(B, "100010", "100020", 0)
    assert run.quote(A, "100040", "100050", 1) == []  # A 30 (3 bp) over B
    assert run.quote(A, "100020", "100030", 2) == [(A, "buy", Q, e8("100030")), (B, "sell", Q, e8("100010"))]
    # a leg whose position is on its step but below its minQty is left alone (the venue would refuse it)
    table_rules = {**RULES, "BYBIT:BTCUSDT": rules("0.1", "0.001", min_qty="0.002")}
    run = Run(table_rules=table_rules, qty="0.002", positions={A: 2 * Q, B: -Q})
    run.quote(A, "100010", "100020", 0)
    assert run.quote(B, "100000", "100010", 1) == [(A, "sell", 2 * Q, e8("100010"))]


def test_an_exit_with_nothing_to_send_lets_the_entry_decide():
    run = Run(positions={A: Q // 2}, cooldown_ms=1000)  # long A, below its step: nothing to sell
    run.quote(B, "99990", "100000", 0)
    assert run.quote(A, "100060", "100070", 1) == [(B, "buy", Q, e8("100000")), (A, "sell", Q, e8("100060"))]


def test_a_naked_leg_is_taken_back_too():
    run = Run(positions={B: -Q})  # the buy on A never filled
    run.quote(A, "100010", "100020", 0)
    assert run.quote(B, "100000", "100010", 1) == [(B, "buy", Q, e8("100010"))]


def test_prices_on_each_legs_tick_and_qty_on_both_steps():
    coarse = {"USDM:BTCUSDT": rules("0.5", "0.0005"), "BYBIT:BTCUSDT": rules("0.1", "0.0001")}
    run = Run(table_rules=coarse, qty="0.00157", max_position="1")
    q = e8("0.0015")  # 0.00157 down onto 0.0005 (and 0.0001)
    run.quote(A, "99990.3", "100000.2", 0)  # ask off A's tick: bought at 100,000.5 (still crossing)
    assert run.quote(B, "100060.37", "100070", 1) == [(A, "buy", q, e8("100000.5")), (B, "sell", q, e8("100060.3"))]
    # decided on the rounded prices: 50.17 raw, 49.8 rounded; 5 bps of the mid is 50.0114
    assert run.quote(B, "100050.37", "100050.4", 2) == []
    # the exit rounds too: A sold at its bid (99,990.3) down onto 0.5, B bought at its ask up onto 0.1
    run.fill_all()
    assert run.positions == [q, -q]
    assert run.quote(B, "99980.01", "99990.01", 3) == [(A, "sell", q, e8("99990")), (B, "buy", q, e8("99990.1"))]


def test_rules_keyed_in_lower_case_and_symbols_in_upper_case_work_alike():
    lower = {k.lower(): v for k, v in RULES.items()}
    for symbols, table_rules in ((SYMS, lower), ([s.upper() for s in SYMS], RULES)):
        run = Run(symbols=symbols, table_rules=table_rules)
        run.quote(A, "99990", "100000", 0)
        assert run.quote(B, "100060", "100070", 1) == [(A, "buy", Q, e8("100000")), (B, "sell", Q, e8("100060"))]


def test_two_instruments_are_two_groups():
    syms = ["usdm:btcusdt", "usdm:ethusdt", "bybit:ethusdt", "bybit:btcusdt"]
    assert spread_legs(syms) == [(0, 3), (1, 2)]
    eth = InstrumentRules(symbol="ETHUSDT", base="ETH", quote="USDT", tick_e8=e8("0.01"), step_e8=e8("0.01"),
                          min_qty_e8=e8("0.01"))
    table = {**RULES, "USDM:ETHUSDT": eth, "BYBIT:ETHUSDT": eth}
    run = Run(symbols=syms, table_rules=table, qty="0.01", max_position="1", cooldown_ms=1000)
    run.quote(0, "99990", "100000", 0)
    assert run.quote(3, "100060", "100070", 1) == [(0, "buy", e8("0.01"), e8("100000")),
                                                   (3, "sell", e8("0.01"), e8("100060"))]
    run.quote(2, "3000", "3000.01", 2)
    # the BTC group's cooldown does not hold the ETH group; its qty is on ETH's step
    assert run.quote(1, "3003.02", "3003.03", 3) == [(2, "buy", e8("0.01"), e8("3000.01")),
                                                     (1, "sell", e8("0.01"), e8("3003.02"))]


@pytest.mark.parametrize("symbols, message", [
    (["usdm:btcusdt"], r"instrument 'btcusdt' has 1 leg \('usdm:btcusdt'\); each needs exactly two"),
    (["usdm:btcusdt", "bybit:btcusdt", "okx:btcusdt"],
     r"instrument 'btcusdt' has 3 legs \('usdm:btcusdt', 'bybit:btcusdt', 'okx:btcusdt'\); each needs exactly two"),
    (["usdm:btcusdt", "bybit:btcusdt", "usdm:ethusdt"], r"instrument 'ethusdt' has 1 leg"),
    (["btcusdt", "ethusdt"], r"symbol 'btcusdt' is not a venue:symbol name"),
    (["usdm:btcusdt", "bybit"], r"symbol 'bybit' is not a venue:symbol name"),
    (["usdm:btcusdt", "binanceusdm:btcusdt"], r"'binanceusdm:btcusdt' is not a venue:symbol name"),
    (["usdm:btcusdt", "USDM:BTCUSDT"], r"instrument 'btcusdt' is listed twice on one venue"),
    ([], r"spread: no symbols"),
])
def test_a_bad_symbols_list_is_refused_with_a_clear_message(symbols, message):
    with pytest.raises(ConfigError, match=message):
        spread_legs(symbols)
    if symbols:  # and the strategy refuses to start with it
        table = {**BASE, "symbols": symbols}
        check_params("spread", table)
        with pytest.raises(ConfigError, match=message):
            StrategyEngine(loader.load(table, symbols, {s.upper(): RULES["USDM:BTCUSDT"] for s in symbols}), 5,
                           lambda rec: True, clock=lambda: 0)


def test_rules_missing_or_a_qty_below_a_legs_minimum_refuses_to_start():
    with pytest.raises(InstrumentError, match="no instrument rules"):
        Run(table_rules=None)
    with pytest.raises(InstrumentError, match="BYBIT:BTCUSDT"):
        Run(table_rules={"USDM:BTCUSDT": RULES["USDM:BTCUSDT"]})
    with pytest.raises(InstrumentError, match="minQty|LOT_SIZE"):
        Run(table_rules={**RULES, "BYBIT:BTCUSDT": rules("0.1", "0.001", min_qty="0.002")})


def test_the_keys_are_checked():
    defaults = KIND_KEYS["spread"].defaults()
    assert defaults["exit_bps"] == 0.0 and defaults["qty"] == "0.001"
    for bad, message in (({"exit_bps": 13}, r"exit_bps = 13.0: expected at most fee_bps \+ threshold_bps \(12\)"),
                         ({"max_quote_age_ms": 0}, "max_quote_age_ms = 0"),
                         ({"fee_bps": -1}, "fee_bps = -1"),
                         ({"qty": "0"}, "qty = '0'"),
                         ({"thresold_bps": 1}, "unknown key 'thresold_bps'")):
        with pytest.raises(ConfigError, match=message):
            check_params("spread", {"name": "sp", "kind": "spread", **bad})


def _walk(n, seed):
    """Quotes of two instruments on two venues: a shared random walk, each venue's own noise."""
    rng = np.random.default_rng(seed)
    recs = np.zeros(n, M.DTYPE)
    recs["seq"] = np.arange(1, n + 1)
    recs["kind"] = M.QUOTE
    recs["symbol_id"] = rng.integers(0, 4, n)
    recs["recv_ns"] = np.cumsum(rng.integers(0, 20 * MS, n))
    base = np.where(recs["symbol_id"] % 2 == 0, 100_000.0, 3_000.0) * np.exp(np.cumsum(rng.normal(0, 1e-5, n)))
    mid = base * (1 + rng.normal(0, 4e-4, n))
    tick = np.where(recs["symbol_id"] % 2 == 0, e8("0.1"), e8("0.01"))
    recs["price_e8"] = (mid * E8 * (1 - 5e-5)).astype(np.int64) // tick * tick
    recs["price2_e8"] = recs["price_e8"] + tick * rng.integers(1, 4, n)
    recs["qty_e8"] = recs["qty2_e8"] = E8
    return recs


def test_same_records_same_intents_and_limits_hold():
    """A long random sequence over two groups, every order filled half (its rest expiring) after
    each record: twice the same intents, byte for byte; both directions, exits, and the worst
    case within max_position throughout."""
    syms = ["usdm:btcusdt", "usdm:ethusdt", "bybit:btcusdt", "bybit:ethusdt"]
    eth = InstrumentRules(symbol="ETHUSDT", base="ETH", quote="USDT", tick_e8=e8("0.01"), step_e8=e8("0.001"),
                          min_qty_e8=e8("0.001"))
    table = {**RULES, "USDM:ETHUSDT": eth, "BYBIT:ETHUSDT": eth}
    recs = _walk(6000, 7)
    outs = []
    for _ in range(2):
        run = Run(symbols=syms, table_rules=table, qty="0.002", max_position="0.006", cooldown_ms=30,
                  max_quote_age_ms=40, exit_bps=1)
        for i in range(len(recs)):
            run.engine.on_md_batch(recs[i: i + 1])
            worst = run.strategy.position + run.strategy.open_e8
            assert (np.abs(worst) <= e8("0.006")).all()
            run.fill_all(0.5)
        outs.append(np.concatenate(run.out))
    a, b = outs
    assert a.tobytes() == b.tobytes()
    assert len(a) > 50
    assert {(s, side) for s, side in zip(a["symbol_id"].tolist(), a["side"].tolist())} == {
        (s, side) for s in range(4) for side in (O.BUY, O.SELL)}
    assert (a["price_e8"][a["symbol_id"] % 2 == 0] % e8("0.1") == 0).all()
    assert (a["qty_e8"] % e8("0.001") == 0).all() and (a["qty_e8"] > 0).all()
    trig = recs[a["trigger_seq"] - 1]
    assert (trig["recv_ns"] == a["trigger_recv_ns"]).all()
    # exits happened: some intent is smaller than qty (half-filled positions taken back)
    assert (a["qty_e8"] < e8("0.002")).any()
