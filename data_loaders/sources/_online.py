"""Helpers shared by the online sources (yfinance, ccxt): errors, range handling, the cache."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from data_loaders.cache import BarCache, cached_bars
from data_loaders.errors import ParameterError, ResearchError

__all__ = ["OnlineSourceError", "to_utc", "floor_now", "query_options", "cached_download"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


class OnlineSourceError(ResearchError):
    """An online source failed: no network, unknown symbol, rate limit, empty response."""


def to_utc(value: object, name: str) -> pd.Timestamp | None:
    """``"2024-01-01"``, a datetime or epoch-ms number (also as text, as in a ``?start=`` query)
    -> UTC Timestamp (naive = UTC); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
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


def query_options(options: dict[str, object], ints: tuple[str, ...] = ()) -> dict[str, object]:
    """Convert the text values of a ``scheme:target?key=value`` query to the loader's types.

    ``cache`` and ``refresh`` are flags (``1/true/yes/on`` or ``0/false/no/off``; a ``cache``
    that is neither names a cache folder); the keys in ``ints`` are integers. Values that are
    not text (keyword arguments) pass unchanged.
    """
    from data_loaders.cache import BarCache

    out = dict(options)
    for key in ("cache", "refresh"):
        value = out.get(key)
        if not isinstance(value, str):
            continue
        flag = value.strip().lower()
        if flag in _TRUE:
            out[key] = True
        elif flag in _FALSE:
            out[key] = False
        elif key == "cache":
            out[key] = BarCache(value)
        else:
            raise ParameterError(f"`{key}` must be true or false, got {value!r}")
    for key in ints:
        value = out.get(key)
        if isinstance(value, str):
            try:
                out[key] = int(value)
            except ValueError:
                raise ParameterError(f"`{key}` must be an integer, got {value!r}") from None
    return out


def cached_download(
    source: str,
    params: Mapping[str, Any],
    repair: Iterable[str] | str,
    fetch: Callable[[], pd.DataFrame],
    *,
    cache: BarCache | bool | None,
    refresh: bool,
) -> pd.DataFrame:
    """:func:`data_loaders.cache.cached_bars` of a download: the entry is keyed by the request
    ``params`` and the repairs asked for (``repair``, as given, sorted)."""
    key = {**params, "repair": sorted(repair.split(",") if isinstance(repair, str) else repair)}
    return cached_bars(source, key, fetch, cache=cache, refresh=refresh)
