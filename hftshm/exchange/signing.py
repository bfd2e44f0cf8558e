"""HMAC-SHA256 request signatures, as web-socket-api.md "SIGNED request example (HMAC)" states:

1. take every request parameter except ``signature``, sorted by name;
2. join them as ``name=value`` pairs with ``&`` (the payload);
3. HMAC-SHA256 the ASCII payload with the ASCII secret key; the hex digest is the signature
   (compared case-insensitively).

Values are written as the client most likely wrote them: strings as-is, integers in decimal,
booleans as ``true``/``false`` and other JSON numbers as Python's shortest ``repr``. Neither the
secret nor a signature is ever logged or put in an error message.
"""

from __future__ import annotations

import hashlib
import hmac


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):  # e.g. exchangeInfo "symbols"; signed methods do not take lists
        return "[" + ",".join(f'"{v}"' if isinstance(v, str) else _text(v) for v in value) + "]"
    return str(value)


def payload(params: dict) -> str:
    """The signature payload of a request's ``params``."""
    return "&".join(f"{k}={_text(params[k])}" for k in sorted(params) if k != "signature")


def sign(secret: str, params: dict) -> str:
    return hmac.new(secret.encode(), payload(params).encode(), hashlib.sha256).hexdigest()


def verify(secret: str, params: dict) -> bool:
    """Constant-time check of ``params["signature"]`` against the secret."""
    signature = params.get("signature")
    if not isinstance(signature, str):
        return False
    return hmac.compare_digest(sign(secret, params), signature.lower())
