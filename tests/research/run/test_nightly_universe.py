"""Nightly on a universe spec: the night re-optimizes every universe mode, judges each candidate
the way it was searched (window metrics rebuilt apart from the engine), warm-starts and hands
off per-symbol targets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from research.run.nightly import read_champion, run_nightly
from research.run.universe import search_class
from research.spec import UniverseSpec, parse_experiment
from strategies.builtin.sma_cross import SmaCross
from tests.research.run.test_universe_calendars import _rebuild

SPACE = {"fast": {"low": 5, "high": 30}, "slow": {"low": 40, "high": 120}}
WINDOW = 150


@pytest.fixture(scope="module")
def universe():
    from data_loaders.synthetic import synthetic_universe

    full = synthetic_universe(("AAA", "BBB", "CCC"), 1050, seed=7)
    return {**full, "BBB": full["BBB"].iloc[200:]}  # BBB is listed later


def _exp(mode: str):
    return parse_experiment({
        "name": f"night_{mode}", "seed": 3, "data": {"source": "sample:sp500_20"},
        "universe": {"mode": mode, "aggregate": "portfolio"},  # metrics: the book's
        "strategies": [{"name": "sma_cross", "label": f"sma_{mode}", "space": SPACE}],
        "optimizers": ["random"], "budget": {"n_trials": 4},
        "walk_forward": {"train": 300, "test": 150},
        "costs": {"fees": 0.0, "slippage_bps": 0.0, "execution": "close"},
        "gates": {"min_dsr": None, "max_pbo": None, "min_stability": None, "min_trades": None,
                  "max_drawdown": None, "min_wfe": None},
        "nightly": {"n_trials": 3, "window": WINDOW, "warm_start": 2, "min_improvement": 0.0},
        "report": False,
    })  # fmt: skip


def _window_return(record, bars) -> float:
    """The candidate's total return on the last WINDOW union bars, rebuilt apart: a pooled
    candidate's book of every symbol, a per-symbol candidate's one symbol (fills at the close,
    no costs; the window starts in cash)."""
    params = record["params"]
    union = bars["AAA"].index.union(bars["BBB"].index)
    if ":" in record["candidate"]:
        sym = record["candidate"].split(":")[0]
        w = SmaCross(**params).positions(bars[sym]).to_frame(sym)
        w = w.loc[union[-WINDOW] :]
        own = {sym: bars[sym]}
    else:
        cls = search_class(SmaCross, UniverseSpec(mode="pooled"))
        w = cls(**params).positions(bars).loc[union[-WINDOW] :]
        own = bars
    return float(np.prod(1.0 + _rebuild(w, own)) - 1.0)


@pytest.mark.parametrize("mode", ["pooled", "per_symbol"])
def test_two_nights_on_a_universe(mode, universe, tmp_path):
    exp = _exp(mode)
    first_bars = {s: f.iloc[:-100] for s, f in universe.items()}
    first = run_nightly(exp, runs_root=tmp_path, bars=first_bars)
    assert first.decision == "promoted", first.reasons
    champ = read_champion(tmp_path, exp.name)
    if mode == "per_symbol":
        assert champ["candidate"].split(":")[0] in universe
    else:
        assert champ["candidate"] == "sma_pooled/random"
    got = first.challenger["window_metrics"]["total_return"]
    assert got == pytest.approx(_window_return(first.challenger, first_bars), abs=1e-9)
    targets = json.loads((tmp_path / exp.name / "targets.json").read_text())
    held = {r["symbol"] for r in targets["targets"]}
    assert held == ({"AAA", "BBB", "CCC"} if mode == "pooled" else {champ["candidate"][:3]})

    second = run_nightly(exp, runs_root=tmp_path, bars=universe)
    assert second.warm_start[f"sma_{mode}"] >= 1  # the champion's parameters first
    for who in (second.champion, second.challenger):
        got = who["window_metrics"]["total_return"]
        assert got == pytest.approx(_window_return(who, universe), abs=1e-9)
    assert second.decision in ("promoted", "kept") and second.reasons
    history = (tmp_path / exp.name / "champion_history.jsonl").read_text().splitlines()
    assert [json.loads(line)["decision"] for line in history][0] == "promoted"
    assert len(history) == 2
    assert isinstance(pd.Timestamp(second.window["start"]), pd.Timestamp)
