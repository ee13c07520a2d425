"""The truncation check for lookahead, run on every strategy of a run before its search.

For each strategy of the spec, one feasible parameter set (the defaults, or the first random
set meeting the constraints) is instantiated, fitted on the first fold's training window when
the strategy needs fitting, and :func:`backtest.lookahead.check_lookahead` compares its
positions on all bars with its positions on a few truncated copies: a position that changes
when later bars are removed used the future.

``lookahead:`` in the spec says what a leak does: ``error`` (the default) stops the run with one
line naming the strategy, the first differing timestamp and the command that shows more;
``warn`` records it and goes on; ``off`` skips the check. Strategies fed explored features are
not checked here (their features are computed causally by the exploration). Built-in strategies
are checked once per process for the same code, parameters and data (a cache keyed by the hash
of their module file); user files always.

The outcome (one entry per strategy) goes into ``results.json`` (``lookahead``) and the report's
verdict.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Any

from data_loaders.bars import bars_index, slice_bars
from data_loaders.errors import ConfigError
from research.run.preflight import feasible_point

__all__ = ["LOOKAHEAD_MODES", "check_run_lookahead", "lookahead_line"]

LOOKAHEAD_MODES = ("error", "warn", "off")

#: truncated copies compared per strategy (the check-lookahead command uses 20)
_CUTS = 4

_CACHE: dict[str, dict[str, Any]] = {}


def _code_key(cls: Any, params: dict[str, Any], fingerprint: str) -> str | None:
    """Hash of a built-in strategy's module file, class, parameters and data; None for user
    strategies (never cached)."""
    module = inspect.getmodule(cls)
    file = getattr(module, "__file__", None)
    if not cls.__module__.startswith("strategies.") or not file:
        return None
    h = hashlib.sha256(Path(file).read_bytes())
    h.update(repr((cls.__qualname__, sorted(params.items()), fingerprint)).encode())
    return h.hexdigest()


def _check_one(cls: Any, bars: Any, fit: tuple[int, int] | None, seed: int) -> dict[str, Any]:
    from backtest.lookahead import check_lookahead
    from strategies.guard import call_strategy, decisions, strategy_warmup

    params, _ = feasible_point(cls, seed)
    strategy = cls(**(params or {}))
    n = len(bars_index(bars))
    min_bars = max(strategy_warmup(strategy) + 1, n // 10, 2)
    if cls.needs_fit and fit is not None:
        call_strategy(strategy, "fit", slice_bars(bars, *fit))
        min_bars = max(min_bars, fit[1])
    if min_bars >= n:
        return {"status": "skipped", "params": params, "note": "too few bars for the check"}
    rep = check_lookahead(decisions(strategy), bars, n_cuts=_CUTS, min_bars=min_bars)
    out: dict[str, Any] = {"status": "ok" if rep.ok else "leak", "params": params}
    if not rep.ok:
        out.update(first_bad_bar=str(rep.first_bad_bar), cut=str(rep.cut), message=rep.message)
    return out


def check_run_lookahead(exp: Any, plan: Any, bars: Any, say: Any = None) -> list[dict[str, Any]]:
    """Run the check on every strategy of ``exp``; returns one entry per strategy
    (``strategy``, ``status``: ok / leak / skipped / off, and where a leak showed).

    Raises:
        ConfigError: a strategy leaks and ``lookahead`` is ``error``.
    """
    from research.spec import resolve_strategy
    from research.spec.build import strategy_bars

    mode = getattr(exp, "lookahead", "error")
    src = exp.path or "<spec>"
    fold = plan.folds[0]
    fit = (int(fold.train.start), int(fold.train.stop))
    out = []
    for i, s in enumerate(exp.strategies):
        label = s.label
        if mode == "off":
            out.append({"strategy": label, "status": "off"})
            continue
        if getattr(s, "features", None) not in (None, "none"):
            out.append({"strategy": label, "status": "skipped", "note": "uses explored features"})
            continue
        key = f"{src}: strategies[{i}]"
        cls = resolve_strategy(s, key=key)
        universe = getattr(s, "mode", None) or exp.universe.mode
        sbars = strategy_bars(cls, bars, key, universe)
        if universe in ("per_symbol", "pooled"):  # one rule on every symbol: check it on one
            sbars = max(sbars.values(), key=len)  # the longest history (the first of equals)
        params, _ = feasible_point(cls, exp.seed)
        ck = _code_key(cls, params or {}, plan.data.fingerprint)
        entry = dict(_CACHE[ck]) if ck is not None and ck in _CACHE else None
        if entry is None:
            entry = _check_one(cls, sbars, fit, exp.seed)
            if ck is not None:
                _CACHE[ck] = dict(entry)
        entry = {"strategy": label, **entry}
        if entry["status"] == "leak":
            line = lookahead_line(entry, s.name, exp.data.source, src)
            if mode == "error":
                raise ConfigError(line)
            if say is not None:
                say(f"warning: {line}")
        out.append(entry)
    return out


def lookahead_line(entry: dict[str, Any], ref: str, source: str, src: str) -> str:
    """The one line about a leaking strategy: which, where, how to see more."""
    return (
        f"{src}: lookahead: strategy {entry['strategy']!r} ({ref}) reads the future: its position "
        f"at {entry['first_bad_bar']} changes when the bars after {entry['cut']} are removed; "
        f"see `research check-lookahead --strategy {ref} --data {source}` "
        "(or set `lookahead: warn` in the spec to run anyway)"
    )
