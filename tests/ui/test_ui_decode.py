"""Decoding records to dicts and table lines: literal records in, exact fields out."""

from __future__ import annotations

import numpy as np

from hftshm.layouts import bench, exec_report, md, order
from hftshm.ui import decode

SYMBOLS = ["BTCUSDT", "ETHUSDT"]


def test_md_quote_and_level():
    recs = md.records(2)
    recs[0] = (7, md.QUOTE, 0, md.F_FROM_BOOK, md.VENUE_CODES["bybit_linear"], 1, 10, 0, 20, 30, 99, 0,
               6_183_763_000_000, 50_000_000,
               6_183_764_000_000, 1, 61837.63, 0.5, 61837.64, 1e-8)
    recs[1]["kind"], recs[1]["side"], recs[1]["symbol_id"] = md.LEVEL, md.ASK, 5
    d = decode.to_dict(recs[0], decode.MD, SYMBOLS)
    assert d == {"seq": 7, "kind": "quote", "symbol": "ETHUSDT", "venue": "bybit_linear", "side": "",
                 "flags": md.F_FROM_BOOK,
                 "price": "61837.63000000", "qty": "0.50000000", "price2": "61837.64000000", "qty2": "0.00000001",
                 "venue_id": 99, "venue_id2": 0, "exch_ns": 10, "txn_ns": 0, "recv_ns": 20, "publish_ns": 30}
    d1 = decode.to_dict(recs[1], decode.MD, SYMBOLS)
    assert d1["kind"] == "level" and d1["side"] == "ask" and d1["symbol"] == "#5"  # an id past the table
    line = decode.text_line(d, decode.MD)
    assert line.split()[0] == "7" and "61837.63" in line and "0.00000001" in line
    assert decode.header_line(decode.MD).split()[:3] == ["seq", "time", "symbol"]


def test_order_and_fill():
    o = np.zeros(1, order.DTYPE)[0]
    o["seq"], o["order_id"], o["symbol_id"], o["side"], o["type"], o["action"] = 3, order.make_order_id(2, 9), 0, \
        order.SELL, order.LIMIT, order.NEW
    o["price_e8"], o["qty_e8"], o["verdict"], o["reason"] = 100 * md.E8, 12_345, order.REJECTED, 3
    d = decode.to_dict(o, decode.ORDER, SYMBOLS)
    assert (d["order_id"], d["symbol"], d["side"], d["type"], d["action"], d["price"], d["qty"], d["verdict"],
            d["reason"]) == ((2 << 40) | 9, "BTCUSDT", "SELL", "LIMIT", "new", "100.00000000", "0.00012345",
                             "rejected", "MAX_POSITION")
    f = np.zeros(1, exec_report.DTYPE)[0]
    f["seq"], f["symbol_id"], f["exec_type"], f["state"], f["last_px_e8"], f["venue_code"] = \
        4, 1, exec_report.EX_TRADE, exec_report.ST_PARTIAL, 3_000 * md.E8, 0
    d = decode.to_dict(f, decode.FILL, SYMBOLS)
    assert (d["exec_type"], d["state"], d["symbol"], d["last_px"]) == ("TRADE", "partially_filled", "ETHUSDT",
                                                                        "3000.00000000")
    assert "TRADE" in decode.text_line(d, decode.FILL)


def test_other_layouts_decode_field_by_field():
    recs = np.zeros(1, bench.DTYPE)
    recs["seq"], recs["value"] = 5, 42
    (d,) = decode.to_dicts(recs, bench.LAYOUT.name)
    assert d["seq"] == 5 and d["value"] == 42
    assert decode.header_line(bench.LAYOUT.name, bench.DTYPE).startswith("seq publish_ns")


def test_md_mark_and_liquidation_decode_by_meaning():
    recs = md.records(2)
    recs[0]["kind"], recs[0]["symbol_id"], recs[0]["txn_ns"] = md.MARK, 0, 1_562_306_400_000_000_000
    recs[0]["price_e8"], recs[0]["qty_e8"], recs[0]["price2_e8"], recs[0]["qty2_e8"] = \
        1_179_415_000_000, -38_167, 1_178_462_659_091, 0
    recs[1]["kind"], recs[1]["side"], recs[1]["symbol_id"], recs[1]["txn_ns"] = md.LIQUIDATION, md.SELL, 1, 7
    recs[1]["price_e8"], recs[1]["qty_e8"], recs[1]["price2_e8"], recs[1]["qty2_e8"] = \
        991_000_000_000, 1_400_000, 991_050_000_000, 1_200_000
    mark, liq = decode.to_dicts(recs, decode.MD, SYMBOLS)
    assert (mark["kind"], mark["symbol"], mark["mark_price"], mark["funding_rate"], mark["index_price"],
            mark["settle_price"], mark["next_funding_ns"]) == (
        "mark", "BTCUSDT", "11794.15000000", "-0.00038167", "11784.62659091", "0.00000000", 1_562_306_400_000_000_000)
    assert mark["qty"] == "-0.00038167"  # the generic fields stay as well
    assert (liq["kind"], liq["side"], liq["symbol"], liq["order_price"], liq["order_qty"], liq["avg_price"],
            liq["filled_qty"], liq["order_ns"]) == ("liquidation", "sell", "ETHUSDT", "9910.00000000", "0.01400000",
                                                    "9910.50000000", "0.01200000", 7)
    line = decode.text_line(liq, decode.MD)
    assert "liquidation" in line.split() and "9910.5" in line and "-0.00038167" in decode.text_line(mark, decode.MD)
