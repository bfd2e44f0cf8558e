"""Signing WebSocket API requests with HMAC-SHA256, per Binance's web-socket-api.md
"SIGNED (TRADE and USER_DATA) request security" / "SIGNED request example (HMAC)":

the payload is every parameter except ``signature``, sorted by name, as ``name=value`` joined
with ``&``; the signature is the lower-case hex HMAC-SHA256 of that payload keyed with the
secret. We send every value as a string (decimals as Binance's text, integers in decimal) so
that what we sign is exactly what the venue reads. The secret never leaves this module's caller.
"""

from __future__ import annotations

from ..keyed_mac import KeyedMac


def payload(params: dict) -> str:
    return "&".join(f"{k}={_text(params[k])}" for k in sorted(params) if k != "signature")


def _text(v) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    return v if isinstance(v, str) else str(v)


class Signer:
    """Holds the key pair; ``sign(params)`` adds ``apiKey``, ``signature`` in place. ``repr``
    shows neither secret nor key."""

    __slots__ = ("api_key", "_mac")

    def __init__(self, api_key: str, secret: str):
        if not api_key or not secret:
            raise ValueError("API key and secret must not be empty")
        self.api_key = api_key
        self._mac = KeyedMac(secret.encode())

    def signature(self, params: dict) -> str:
        return self._mac.hexdigest(payload(params).encode())

    def signature_of(self, text: str) -> str:
        """The signature of a payload already in ``payload``'s form (sorted, ``apiKey`` in it)."""
        return self._mac.hexdigest(text.encode())

    def sign(self, params: dict) -> dict:
        params["apiKey"] = self.api_key
        params["signature"] = self.signature(params)
        return params

    def __repr__(self) -> str:
        return "Signer(<hidden>)"
