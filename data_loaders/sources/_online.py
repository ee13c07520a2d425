"""Helpers shared by the online sources (yfinance, ccxt): errors and range handling."""

from __future__ import annotations

import pandas as pd

from data_loaders.errors import ParameterError, ResearchError

__all__ = ["OnlineSourceError", "to_utc", "floor_now"]


class OnlineSourceError(ResearchError):
    """An online source failed: no network, unknown symbol, rate limit, empty response."""


def to_utc(value: object, name: str) -> pd.Timestamp | None:
    """``"2024-01-01"``, a datetime or epoch-ms int -> UTC Timestamp (naive = UTC); None stays None."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            ts = pd.Timestamp(int(value), unit="ms")
        else:
            ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"`{name}`: cannot read {value!r} as a date ({exc})") from None
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def floor_now(step: pd.Timedelta) -> pd.Timestamp:
    """Now (UTC) floored to a multiple of ``step``: the end of the last complete bar."""
    now = pd.Timestamp.now(tz="UTC")
    return now.floor(step) if step <= pd.Timedelta(days=1) else now.floor("D")
