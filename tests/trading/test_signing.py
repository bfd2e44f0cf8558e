"""Request signing against web-socket-api.md "SIGNED request example (HMAC)", and credentials."""

import hashlib
import hmac
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftshm.trading import credentials
from hftshm.venues.binance_spot.signing import Signer, payload
from hftshm.venues.keyed_mac import KeyedMac

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
PARAMS = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01000000",
          "price": "52000.00", "newOrderRespType": "ACK", "recvWindow": "100", "timestamp": "1645423376532"}
SIGNATURE = "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a"


def test_documented_example():
    signed = Signer(KEY, SECRET).sign(dict(PARAMS))
    assert signed["apiKey"] == KEY
    assert signed["signature"] == SIGNATURE
    assert payload(signed).startswith("apiKey=" + KEY + "&newOrderRespType=ACK&price=52000.00")


@settings(max_examples=300, deadline=None)
@given(key=st.binary(min_size=1, max_size=200), message=st.binary(max_size=600))
def test_keyed_mac_is_hmac_sha256_for_every_key_length(key, message):
    # keys shorter than, equal to and longer than the 64-byte block (hashed first, RFC 2104)
    mac = KeyedMac(key)
    want = hmac.new(key, message, hashlib.sha256).hexdigest()
    assert mac.hexdigest(message) == want
    assert mac.hexdigest(message) == want  # the keyed states are not used up by a signature


def test_signer_hides_secret():
    s = Signer(KEY, SECRET)
    assert SECRET not in repr(s) and KEY not in repr(s)
    assert SECRET not in repr(s._mac) and not hasattr(s._mac, "__dict__")


def test_credentials_order(tmp_path):
    assert credentials.load("sim", env={}).api_key == "hftshm-demo-key"
    assert credentials.load("binance", env={"HFTSHM_API_KEY": "k", "HFTSHM_API_SECRET": "s"}).api_key == "k"
    with pytest.raises(credentials.CredentialsError):
        credentials.load("binance", env={})
    f = tmp_path / "key"
    f.write_text("mykey\nmysecret\n")
    os.chmod(f, 0o644)
    with pytest.raises(credentials.CredentialsError, match="chmod 600") as e:
        credentials.load("binance", str(f), env={})
    assert "mysecret" not in str(e.value)
    os.chmod(f, 0o600)
    assert credentials.load("binance", str(f), env={}).api_key == "mykey"
