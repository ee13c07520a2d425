"""Universe runs on symbols with calendars of their own: union folds, late listings, gaps,
delistings; the books never trade or earn on a bar a symbol lacks (rebuilt apart from the
engine, from the recorded weights and each symbol's own closes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.splitters import WalkForward
from data_loaders.errors import DataTooShortError
from data_loaders.synthetic import synthetic_universe
from research.run.data import load_experiment_data
from research.run.pipeline import run_experiment
from research.run.universe import SymbolFolds
from research.spec import parse_experiment
from tests.research.run._universe import GATES_OFF, sma_universe_raw

GAP = slice(500, 520)  # AAA has no bar on union rows 500..519
LISTED = 350  # BBB's first bar is union row 350
DELISTED = 800  # CCC's last bar is union row 799


@pytest.fixture(scope="module")
def gappy() -> dict[str, pd.DataFrame]:
    full = synthetic_universe(("AAA", "BBB", "CCC"), 900, seed=11)
    aaa = full["AAA"].drop(full["AAA"].index[GAP])
    return {"AAA": aaa, "BBB": full["BBB"].iloc[LISTED:], "CCC": full["CCC"].iloc[:DELISTED]}


def _run(tmp_path, bars, tag, **changes):
    raw = sma_universe_raw(
        "cal",
        4,
        4,
        costs={"fees": 0.0, "slippage_bps": 0.0, "execution": "close"},
        gates={**GATES_OFF, "min_wfe": None},
    )
    raw.update(changes)
    exp = parse_experiment(raw)
    return run_experiment(exp, bars=bars, out_dir=tmp_path / tag, progress=False)


def test_experiment_data_keeps_each_symbols_calendar():
    """sample:stocks: GOOG is listed in 2004, the others trade from 2000; none is cut."""
    exp = parse_experiment({"name": "x", "data": {"source": "sample:stocks"},
                            "strategies": ["xs_momentum"]})  # fmt: skip
    bars = load_experiment_data(exp)
    assert bars["AAPL"].index[0].year == 2000 and bars["GOOG"].index[0].year == 2004
    assert len(bars["AAPL"]) == 3270 and len(bars["GOOG"]) == 2148  # not intersected
    early = parse_experiment({"name": "x", "data": {"source": "sample:stocks",
                              "end": "2003-12-31"}, "strategies": ["xs_momentum"]})  # fmt: skip
    with pytest.raises(DataTooShortError, match=r"leave no bar of symbol 'GOOG' in sample:stocks "
                       r"\(it covers 2004-08-19 -> 2013-03-01\); drop it from data\.symbols"):  # fmt: skip
        load_experiment_data(early)


def test_symbol_folds_are_the_union_folds_on_the_symbols_own_bars(gappy):
    from data_loaders.bars import bars_index

    union = bars_index(gappy)
    assert len(union) == 900
    wf = WalkForward(train=300, test=150)
    got = [(f.train.start, f.train.stop, f.test.start, f.test.stop) for f in wf.split(union)]
    assert got == [(0, 300, 300, 450), (150, 450, 450, 600), (300, 600, 600, 750),
                   (450, 750, 750, 900)]  # fmt: skip
    folds = SymbolFolds(wf, union)

    def own(sym):
        return [(f.number, f.train.start, f.train.stop, f.test.start, f.test.stop)
                for f in folds.split(gappy[sym].index)]  # fmt: skip

    # AAA lacks union rows 500..519: windows after row 500 are 20 own bars shorter
    assert own("AAA") == [(0, 0, 300, 300, 450), (1, 150, 450, 450, 580),
                          (2, 300, 580, 580, 730), (3, 450, 730, 730, 880)]  # fmt: skip
    # BBB (listed at row 350) needs 300 bars of history before a test window: fold 3 only
    assert own("BBB") == [(3, 100, 400, 400, 550)]
    # CCC (delisted after row 799) takes part in fold 3 up to its last bar
    assert own("CCC") == [(0, 0, 300, 300, 450), (1, 150, 450, 450, 600),
                          (2, 300, 600, 600, 750), (3, 450, 750, 750, 800)]  # fmt: skip
    f3 = folds.split(gappy["BBB"].index)[0]
    assert f3.test_start == union[750] and f3.test_end == union[899]
    assert folds.split(gappy["BBB"].index[-10:]) == []  # listed too late for any fold
    assert folds.split(gappy["BBB"].index[:0]) == []  # no bar (a night's history before it)


def test_per_symbol_searches_a_late_listing_on_the_folds_it_has_history_for(
    tmp_path, gappy, capsys
):
    # DDD: 5 bars, no fold at all; EEE: no bar (as in a night's history before its listing)
    late = {**gappy, "DDD": gappy["AAA"].iloc[-5:], "EEE": gappy["AAA"].iloc[:0]}
    exp = parse_experiment({"name": "cal", "seed": 4, "data": {"source": "sample:sp500_20"},
        "universe": {"mode": "per_symbol"}, "strategies": ["sma_cross"],
        "optimizers": ["random"], "budget": {"n_trials": 3},
        "walk_forward": {"train": 300, "test": 150}, "report": False,
        "gates": {"min_wfe": None}})  # fmt: skip
    res = run_experiment(exp, bars=late, out_dir=tmp_path / "ps", progress=True)
    said = capsys.readouterr().err.splitlines()
    assert sorted(res.leaderboard["name"]) == [f"{s}:sma_cross/random" for s in
                                               ("AAA", "BBB", "CCC")]  # fmt: skip
    assert any("DDD not searched" in line and "too short a history" in line for line in said)
    assert any("EEE not searched: EEE has no bar: too short a history" in line for line in said)
    group = res.results.universe["groups"][0]
    assert group["folds"] == [0, 1, 2, 3] and group["symbols"] == ["AAA", "BBB", "CCC"]
    grid = np.asarray(group["fold_sharpe"], dtype=float)
    assert np.isnan(grid[1, :3]).all() and np.isfinite(grid[1, 3])  # BBB enters at fold 3
    assert np.isfinite(grid[[0, 2]]).all()
    searched = {
        r["key"]: [f["number"] for f in r["folds"]] for r in res.results.to_json()["searches"]
    }
    assert searched["BBB:sma_cross/random"] == [3] and searched["AAA:sma_cross/random"] == [
        0,
        1,
        2,
        3,
    ]
    # the out-of-sample span is on the union calendar: union rows 300..899
    span = res.results.to_json()["oos_span"]
    assert span["n_bars"] == 600 and span["start"] == gappy["AAA"].index[300].isoformat()


def _rebuild(weights: pd.DataFrame, bars: dict[str, pd.DataFrame], cash=100_000.0) -> np.ndarray:
    """The book written apart from the engine: fills at the close, no costs. At each close a
    symbol with a bar there and a finite target is traded to ``target x book value`` at that
    close (NaN keeps its shares); a symbol without a bar keeps its last close as its mark."""
    syms = list(weights.columns)
    shares = dict.fromkeys(syms, 0.0)
    mark = dict.fromkeys(syms, np.nan)
    out, before = [], None
    for t, row in weights.iterrows():
        here = {s for s in syms if t in bars[s].index}
        for s in here:
            mark[s] = float(bars[s].at[t, "close"])
        value = cash + sum(shares[s] * mark[s] for s in syms if shares[s])
        out.append(0.0 if before is None else value / before - 1.0)
        for s in here:
            if np.isfinite(row[s]):
                new = float(row[s]) * value / mark[s]
                cash -= (new - shares[s]) * mark[s]
                shares[s] = new
        before = value
    return np.asarray(out)


def _search(tmp_path, gappy, cls, mode, **kw):
    """A book search (``universe.mode`` ``mode``) at the close, without costs."""
    from backtest.costs import Costs
    from backtest.execution import Execution
    from research.optimize import walk_forward_optimize
    from research.run.universe import search_class
    from research.spec import UniverseSpec

    return walk_forward_optimize(
        search_class(cls, UniverseSpec(mode=mode, **kw)), gappy,
        splitter=WalkForward(train=300, test=150), optimizer="random", n_trials=4, seed=2,
        execution=Execution(costs=Costs(fees=0.0), fill="close"), run_dir=tmp_path,
        progress=False,
    )  # fmt: skip


def _check_books(res, bars):
    """Every fold's book: no target on a bar a symbol lacks; returns rebuilt apart."""
    index = {s: f.index for s, f in bars.items()}
    assert [f.fold for f in res.folds] == [0, 1, 2, 3]
    for f in res.folds:
        w = pd.DataFrame(f.oos_positions)
        for sym in w.columns:
            missing = ~w.index.isin(index[sym])
            assert np.isnan(w[sym].to_numpy()[missing]).all()
        np.testing.assert_allclose(f.oos_returns.to_numpy(), _rebuild(w, bars), atol=1e-10)
    return pd.DataFrame(res.oos_positions)


def test_pooled_book_never_trades_a_missing_bar(tmp_path, gappy):
    from strategies.builtin.sma_cross import SmaCross

    w = _check_books(_search(tmp_path, gappy, SmaCross, "pooled", aggregate="mean"), gappy)
    listed = w.index >= gappy["BBB"].index[0]
    assert np.isnan(w["BBB"][~listed]).all() and np.isfinite(w["BBB"][listed]).all()  # enters
    assert np.isnan(w["CCC"][w.index > gappy["CCC"].index[-1]]).all()  # leaves
    assert np.isnan(
        w["AAA"][w.index.isin(gappy["BBB"].index[GAP.start - LISTED : GAP.stop - LISTED])]
    ).all()


def test_portfolio_book_never_trades_a_missing_bar(tmp_path, gappy):
    from strategies.builtin.xs_momentum import XsMomentum

    w = _check_books(_search(tmp_path, gappy, XsMomentum, "portfolio"), gappy)
    assert (w.loc[w.index > gappy["BBB"].index[0], "BBB"] > 0).any()  # BBB enters the ranking


def test_pooled_run_scores_each_symbol_on_the_folds_it_trades(tmp_path, gappy):
    res = _run(tmp_path, gappy, "pooled", universe={"mode": "pooled", "aggregate": "median"})
    group = res.results.universe["groups"][0]
    assert group["mode"] == "pooled" and group["symbols"] == ["AAA", "BBB", "CCC"]
    grid = np.asarray(group["fold_sharpe"], dtype=float)
    # BBB (listed at row 350) is scored on its 100 own bars of fold 0's test window (300..449),
    # CCC (delisted after row 799) on its 50 bars of fold 3's (750..899)
    assert grid.shape == (3, 4) and np.isfinite(grid).all()
