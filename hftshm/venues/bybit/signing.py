"""Bybit v5 request signatures (HMAC-SHA256, lower-case hex), as Bybit's v5 docs state them:

* WebSocket auth ("WebSocket Stream" > "Connect" > "Authentication"; "WebSocket Trade" >
  "Guideline" > "Authentication" points there): ``{"op":"auth","args":[apiKey, expires,
  signature]}`` with ``signature = HMAC(secret, "GET/realtime" + expires)``, ``expires`` a
  millisecond timestamp in the future. The same auth serves the trade (``/v5/trade``) and the
  private (``/v5/private``) connection.
* REST ("Integration Guidance" > "Authentication for HTTP API" / "Parameters for Authenticated
  Endpoints"): headers ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-RECV-WINDOW`` and
  ``X-BAPI-SIGN = HMAC(secret, timestamp + apiKey + recvWindow + queryString)`` for a GET.

The trade API's order requests themselves carry no signature (the connection is authenticated;
the ``header`` holds only ``X-BAPI-TIMESTAMP`` and ``X-BAPI-RECV-WINDOW``). The secret stays in
the keyed MAC; ``repr`` shows neither it nor the key.
"""

from __future__ import annotations

from ..keyed_mac import KeyedMac

AUTH_PREFIX = "GET/realtime"


def auth_payload(expires_ms: int) -> str:
    return f"{AUTH_PREFIX}{int(expires_ms)}"


def rest_payload(timestamp_ms: int, api_key: str, recv_window: str, query: str) -> str:
    return f"{int(timestamp_ms)}{api_key}{recv_window}{query}"


class BybitSigner:
    """``auth_args(expires_ms)`` -> the auth op's args; ``rest_headers(..)`` -> signed headers."""

    __slots__ = ("api_key", "_mac")

    def __init__(self, api_key: str, secret: str):
        if not api_key or not secret:
            raise ValueError("API key and secret must not be empty")
        self.api_key = api_key
        self._mac = KeyedMac(secret.encode())

    def hexdigest(self, payload: str) -> str:
        return self._mac.hexdigest(payload.encode())

    def auth_args(self, expires_ms: int) -> list:
        return [self.api_key, int(expires_ms), self.hexdigest(auth_payload(expires_ms))]

    def rest_headers(self, timestamp_ms: int, recv_window: str, query: str) -> dict:
        return {"X-BAPI-API-KEY": self.api_key, "X-BAPI-TIMESTAMP": str(int(timestamp_ms)),
                "X-BAPI-RECV-WINDOW": recv_window,
                "X-BAPI-SIGN": self.hexdigest(rest_payload(timestamp_ms, self.api_key, recv_window, query))}

    def __repr__(self) -> str:
        return "BybitSigner(<hidden>)"


def signer_from(signer) -> BybitSigner:
    """A Bybit signer for the key pair execution loaded (``trading/credentials.py`` builds a
    ``binance_spot.signing.Signer``): both are HMAC-SHA256 keyed with the secret, so its keyed
    MAC is taken over as it is and the secret is never read back out."""
    if isinstance(signer, BybitSigner):
        return signer
    mac = getattr(signer, "_mac", None)
    if mac is None or not getattr(signer, "api_key", ""):
        raise TypeError(f"Bybit orders need a key pair signer, got {type(signer).__name__}")
    out = BybitSigner.__new__(BybitSigner)
    out.api_key = signer.api_key
    out._mac = mac  # keyed once; each signature copies its states
    return out
