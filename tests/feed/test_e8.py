"""Exact decimal text <-> int64 1e-8 units: edge cases, literal inputs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hftshm.feed.e8 import INT64_MAX, E8Memo, format_e8, parse_e8

GOOD = [
    ("0", 0),
    ("0.00000000", 0),
    ("0.00000001", 1),
    ("1", 100_000_000),
    ("1.5", 150_000_000),
    ("61837.63000000", 6_183_763_000_000),
    ("3.78826000", 378_826_000),
    ("007.10000000", 710_000_000),  # leading zeros are still a plain decimal
    ("00000000000000000092233720368.54775807", INT64_MAX),
    ("92233720368.54775807", INT64_MAX),
    ("92233720368", 9_223_372_036_800_000_000),
]

BAD = [
    "", "1e5", "1E5", "1.123456789", "92233720368.54775808", "92233720369", "100000000000",
    "-1", "-0.00000001", "+1", "+1.00000000", " 1", "1 ", "1.00000000 ", "1_000", "1_0.00000000",
    "1.0000_000", "1.", ".5", ".", "1.2.3", "1.2.000000", "nan", "inf", "0x10", "\u0663",
    "\u0663.00000000", "\u00b2", "1,5", "9" * 5000,
]


@pytest.mark.parametrize("text,value", GOOD)
def test_parses_exactly(text, value):
    assert parse_e8(text) == value
    assert E8Memo().parse(text) == value
    assert value == Decimal(text) * 100_000_000


@pytest.mark.parametrize("text", BAD)
def test_rejects_anything_but_a_plain_decimal(text):
    for parse in (parse_e8, E8Memo().parse):
        with pytest.raises(ValueError) as err:
            parse(text)
        assert repr(text)[:20] in str(err.value)  # the message names the text


@pytest.mark.parametrize("value", [None, 1, 1.5, b"1.0", ["1"]])
def test_rejects_non_strings_with_a_value_error(value):
    with pytest.raises(ValueError, match="expected a str"):
        parse_e8(value)


def test_float_is_the_correctly_rounded_division():
    for text, value in GOOD:
        assert value / 100_000_000 == float(text)


@pytest.mark.parametrize("value", [0, 1, 6_183_763_000_000, INT64_MAX])
def test_format_round_trips(value):
    assert parse_e8(format_e8(value)) == value
    assert len(format_e8(value).split(".")[1]) == 8


def test_memo_remembers_and_forgets_the_oldest_first():
    memo = E8Memo(limit=3)
    assert memo.get("1.00000000") is None
    assert memo.parse("1.00000000") == 100_000_000
    assert memo.get("1.00000000") == 100_000_000
    for text in ("2", "3", "4", "5"):
        memo.parse(text)
        assert len(memo) <= 3
    assert [memo.get(t) is not None for t in ("1.00000000", "2", "3", "4", "5")] == [False, False, True, True, True]
    memo.parse("5")  # parsing a remembered text again does not duplicate it
    memo.parse("6")
    memo.parse("7")
    assert [memo.get(t) is not None for t in ("5", "6", "7")] == [True, True, True]
    with pytest.raises(ValueError):
        E8Memo(limit=0)
    with pytest.raises(ValueError):
        memo.parse("1e5")
    assert memo.get("1e5") is None


@pytest.mark.parametrize("text", ["2.507", "61800.2", "0.001", "00.10", "92233720368.5477580", "1.0000000",
                                  "92233720368.5477581", "99999999999.9", "1.", ".5", "-1.5", "1.5e3", "1_0.5",
                                  " 1.5", "1.5 ", "\u0663.5", "12.123456789", "1..5", "1.5.5", "+1.5"])
def test_memo_short_decimal_path_agrees_with_parse_e8(text):
    """E8Memo.parse takes futures' shorter decimals without the general path: same value, same
    refusals (overflow included) as parse_e8."""
    try:
        expected = parse_e8(text)
    except ValueError:
        with pytest.raises(ValueError):
            E8Memo(4).parse(text)
        return
    assert E8Memo(4).parse(text) == expected == int(Decimal(text) * 100_000_000)


def test_memo_short_decimals_exhaustively_against_decimal():
    memo = E8Memo(64)
    for whole in ("0", "7", "61800", "92233720367"):
        for decimals in range(1, 8):
            for frac in ("0" * decimals, "9" * decimals, "1".zfill(decimals), "5" + "0" * (decimals - 1)):
                text = f"{whole}.{frac}"
                assert memo.parse(text) == int(Decimal(text) * 100_000_000), text
SHORT_FORMS = ["58123.4", "58123.40", "0.002", "0.0020000", "1.5", "00012.345", "92233720368.5477580",
               "92233720368.5477581", "92233720369.0", "99999999999.9", "1.", ".5", "1.2.3", "1.+5", "1._5",
               "١.5", "1.5 ", " 1.5", "-1.5", "1e5", "1.123456789", "0.0", "", "."]


@pytest.mark.parametrize("text", SHORT_FORMS)
def test_short_decimals_parse_as_the_general_rule_says(text):
    """The fast path for 1-7 decimals (USD-M's form) gives what the general parser gives: the same
    value, or a ValueError; parse_e8 and the memo alike."""
    from hftshm.feed.e8 import _parse_general

    try:
        want = _parse_general(text)
    except ValueError:
        want = None
    for parse in (parse_e8, E8Memo().parse):
        if want is None:
            with pytest.raises(ValueError):
                parse(text)
        else:
            assert parse(text) == want
            assert want == int(Decimal(text) * 10**8)
