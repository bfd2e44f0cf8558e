"""The one simulated account's balances: free and locked amount per asset, exact 1e-8 integers.

Orders lock what they may spend when they are accepted (quote for a buy, base for a sell) and
release it as they fill, expire or are cancelled; fills credit the received asset less the
commission. ``changed`` collects the assets touched since the last ``take_changed`` so an
``outboundAccountPosition`` event lists exactly those (user-data-stream.md "Account Update").
"""

from __future__ import annotations

from hftshm.layouts.md import format_e8


class Account:
    def __init__(self, balances: dict[str, int]):
        self._free: dict[str, int] = dict(balances)
        self._locked: dict[str, int] = {a: 0 for a in balances}
        self.changed: set[str] = set()
        self.update_ms = 0

    def free(self, asset: str) -> int:
        return self._free.get(asset, 0)

    def locked(self, asset: str) -> int:
        return self._locked.get(asset, 0)

    def _touch(self, asset: str) -> None:
        self._free.setdefault(asset, 0)
        self._locked.setdefault(asset, 0)
        self.changed.add(asset)

    def lock(self, asset: str, amount: int) -> bool:
        """Move ``amount`` from free to locked; False (nothing moved) when free is short."""
        if amount > self.free(asset):
            return False
        self._touch(asset)
        self._free[asset] -= amount
        self._locked[asset] += amount
        return True

    def unlock(self, asset: str, amount: int) -> None:
        if amount > self.locked(asset):
            raise AssertionError(f"unlocking {amount} {asset} but only {self.locked(asset)} is locked")
        self._touch(asset)
        self._locked[asset] -= amount
        self._free[asset] += amount

    def spend_locked(self, asset: str, amount: int) -> None:
        if amount > self.locked(asset):
            raise AssertionError(f"spending {amount} locked {asset} but only {self.locked(asset)} is locked")
        self._touch(asset)
        self._locked[asset] -= amount

    def credit(self, asset: str, amount: int) -> None:
        self._touch(asset)
        self._free[asset] += amount

    def balances(self) -> list[dict]:
        """account.status ``balances``: every asset, sorted, as Binance's decimal strings."""
        return [
            {"asset": a, "free": format_e8(self._free[a]), "locked": format_e8(self._locked[a])}
            for a in sorted(self._free)
        ]

    def take_changed(self) -> list[dict]:
        """outboundAccountPosition ``B``: the assets changed since the last call."""
        out = [{"a": a, "f": format_e8(self._free[a]), "l": format_e8(self._locked[a])}
               for a in sorted(self.changed)]
        self.changed.clear()
        return out

    def totals(self) -> dict[str, int]:
        """Free + locked per asset, in 1e-8 units (for PnL checks)."""
        return {a: self._free[a] + self._locked[a] for a in self._free}
