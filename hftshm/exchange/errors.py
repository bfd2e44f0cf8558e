"""Binance error codes and messages the simulator answers with (errors.md), in one place.

``ApiError`` is raised by request parsing and the matching engine for bad input and rejected
orders; ``wsapi`` turns it into the WebSocket API's ``{"status": .., "error": {"code", "msg"}}``.
"""

from __future__ import annotations

from hftshm.errors import HftshmError


class ApiError(HftshmError):
    def __init__(self, code: int, msg: str, status: int = 400, data: dict | None = None):
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.data = data

    def body(self) -> dict:
        err = {"code": self.code, "msg": self.msg}
        if self.data is not None:
            err["data"] = self.data
        return err


# errors.md "10xx - General Server or Network issues" and "11xx - Request issues"
def mandatory(name: str) -> ApiError:
    return ApiError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def illegal_chars(name: str, legal: str) -> ApiError:
    return ApiError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def too_precise(name: str) -> ApiError:
    return ApiError(-1111, f"Parameter '{name}' has too much precision.")


def not_required(name: str) -> ApiError:
    return ApiError(-1106, f"Parameter '{name}' sent when not required.")


def invalid_value(name: str) -> ApiError:
    return ApiError(-1130, f"Data sent for parameter '{name}' is not valid.")


BAD_SYMBOL = (-1121, "Invalid symbol.")
INVALID_SIDE = (-1117, "Invalid side.")
INVALID_TYPE = (-1116, "Invalid orderType.")
INVALID_TIF = (-1115, "Invalid timeInForce.")
INVALID_SIGNATURE = (-1022, "Signature for this request is not valid.")
BAD_KEY_FORMAT = (-2014, "API-key format invalid.")
REJECTED_KEY = (-2015, "Invalid API-key, IP, or permissions for action.")
NO_SUCH_ORDER = (-2013, "Order does not exist.")
SUBSCRIPTION_ACTIVE = (-2035, "User Data Stream subscription already active.")
SUBSCRIPTION_INACTIVE = (-2036, "User Data Stream subscription not active.")

# errors.md "Messages for -1010 ERROR_MSG_RECEIVED, -2010 NEW_ORDER_REJECTED, -2011 CANCEL_REJECTED"
NEW_ORDER_REJECTED = -2010
CANCEL_REJECTED = -2011
DUPLICATE_ORDER = "Duplicate order sent."
INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
WOULD_TAKE = "Order would immediately match and take."
UNKNOWN_ORDER = "Unknown order sent."
MARKET_CLOSED = "Market is closed."


def rejected(msg: str) -> ApiError:
    return ApiError(NEW_ORDER_REJECTED, msg)


def cancel_rejected(msg: str) -> ApiError:
    return ApiError(CANCEL_REJECTED, msg)


def filter_failure(name: str) -> ApiError:
    """errors.md "Filter failures": code -1013 (INVALID_MESSAGE)."""
    return ApiError(-1013, f"Filter failure: {name}")


def error(pair: tuple[int, str], status: int = 400) -> ApiError:
    return ApiError(pair[0], pair[1], status)
