"""Universe runs: the spec's ``universe`` section, the three modes end to end on small data,
the book path checked against independent computations, breadth and the ``min_breadth`` gate."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from backtest.batch import evaluate_batch
from data_loaders.errors import ConfigError
from data_loaders.synthetic import synthetic_universe
from research.judge.gates import Gates, evaluate_gates
from research.judge.universe import breadth_of
from research.optimize.evaluate import EvalContext, EvalTask, run_task
from research.run.pipeline import run_experiment
from research.run.universe import search_class
from research.spec import UniverseSpec, parse_experiment
from strategies.builtin.sma_cross import SmaCross
from strategies.builtin.xs_momentum import XsMomentum
from tests.research.run._universe import sma_universe_raw

SYMBOLS = ("AAA", "BBB", "CCC")


@pytest.fixture(scope="module")
def uni_bars() -> dict[str, pd.DataFrame]:
    return synthetic_universe(SYMBOLS, 900, seed=11)


def _spec(**changes):
    return parse_experiment(sma_universe_raw("uni", 5, 5, **changes))


def _run(tmp_path, bars, tag, workers=1, **changes):
    exp = _spec(**changes)
    return run_experiment(exp, bars=bars, out_dir=tmp_path / tag, progress=False, workers=workers)


# --- spec ------------------------------------------------------------------------------------
def test_universe_section_parses_and_names_bad_keys():
    exp = _spec(universe={"mode": "pooled", "aggregate": "median", "rebalance": "monthly",
                          "max_gross": 1.5, "allocation": "inverse_vol"})  # fmt: skip
    assert exp.universe == UniverseSpec("pooled", "median", "monthly", 1.5, 1.0, "inverse_vol")
    assert _spec(universe="per_symbol").universe.mode == "per_symbol"
    with pytest.raises(ConfigError, match=r"universe\.mode.*pooledd|pooledd.*universe\.mode"):
        _spec(universe={"mode": "pooledd"})
    with pytest.raises(ConfigError, match=r"universe\.max_gross: must be > 0"):
        _spec(universe={"mode": "pooled", "max_gross": 0})
    assert _spec(gates={"min_breadth": 0.6}).gates.min_breadth == 0.6


def test_one_symbol_strategy_on_several_symbols_is_refused_without_a_mode(tmp_path, uni_bars):
    with pytest.raises(ConfigError, match=r"sma_cross trades one symbol but the data hold 3 "
                       r"\(AAA, BBB, CCC\); set universe\.mode"):  # fmt: skip
        _run(tmp_path, uni_bars, "refused")
    assert not (tmp_path / "refused").exists()  # refused before a run folder exists


# --- per_symbol ------------------------------------------------------------------------------
def test_per_symbol_has_a_row_per_symbol_and_is_seed_stable_across_workers(tmp_path, uni_bars):
    one = _run(tmp_path, uni_bars, "w1", universe={"mode": "per_symbol"})
    # in a folder of its own: a run beside w1 would count w1's candidates as earlier looks
    two = _run(tmp_path / "apart", uni_bars, "w2", workers=2, universe={"mode": "per_symbol"})
    names = sorted(one.leaderboard["name"])
    assert names == [f"{s}:sma_cross/random" for s in SYMBOLS]
    cols = ["name", "params", "sharpe_ratio", "dsr", "n_trials"]
    pd.testing.assert_frame_equal(one.leaderboard[cols], two.leaderboard[cols])
    # the DSR counts the candidates compared out of sample: one per symbol (gates.dsr_trials)
    assert set(one.leaderboard["n_trials"]) == {len(SYMBOLS)}
    results = json.loads((one.run_dir / "results.json").read_text())
    total = sum(int(s["counts"]["complete"]) for s in results["searches"])
    assert results["overfitting"]["n_trials_total"] == total and total > 5 * 3
    # the universe summary: each symbol's OOS Sharpe is its row's, median across symbols
    uni = one.results.universe["groups"][0]
    assert uni["mode"] == "per_symbol" and uni["symbols"] == list(SYMBOLS)
    board = one.leaderboard.set_index("name")
    mine = [board.loc[f"{s}:sma_cross/random", "sharpe_ratio"] for s in SYMBOLS]
    np.testing.assert_allclose(uni["oos_sharpe"], mine, rtol=1e-9)
    assert uni["median_oos"] == pytest.approx(float(np.median(mine)))
    assert uni["breadth"] == pytest.approx(np.mean(np.array(mine) > 0))
    assert np.asarray(uni["fold_sharpe"]).shape == (3, len(one.results.folds))
    # the benchmark of a per-symbol run is the equal-weight buy-and-hold of the universe
    bench = pd.read_parquet(one.run_dir / "series" / "benchmark.parquet").iloc[:, 0]
    close = pd.DataFrame({s: uni_bars[s]["close"] for s in SYMBOLS})
    span = close.loc[bench.index[0] : bench.index[-1]]
    each = span.iloc[-1] / span.iloc[0]  # every symbol's own growth over the span
    assert len(span) == len(bench) and each.std() > 0.05  # the symbols differ
    assert (1 + bench).prod() == pytest.approx(each.mean(), rel=0.02)
    # the report's universe section: summary, heatmap, per-symbol table
    from research.report import build_report

    html = build_report(one.run_dir).read_text(encoding="utf-8")
    assert "Across the universe" in html and "fig-universe-0" in html
    assert "folds with Sharpe &gt; 0" in html or "folds with Sharpe > 0" in html
    for sym in SYMBOLS:
        assert f'<td class="l">{sym}</td>' in html


# --- pooled ----------------------------------------------------------------------------------
def test_pooled_run_has_one_candidate_trading_every_symbol(tmp_path, uni_bars):
    res = _run(tmp_path, uni_bars, "pooled", universe={"mode": "pooled", "aggregate": "mean"})
    assert list(res.leaderboard["name"]) == ["sma_cross/random"]
    group = res.results.universe["groups"][0]
    assert group["mode"] == "pooled" and group["symbols"] == list(SYMBOLS)
    assert any("next bar's close" not in n for n in group["notes"]) or group["notes"] == []


def test_pooled_search_picks_one_set_per_fold_for_all_symbols(tmp_path, uni_bars):
    from backtest.splitters import WalkForward
    from research.optimize import walk_forward_optimize

    cls = search_class(SmaCross, UniverseSpec(mode="pooled", aggregate="median"))
    res = walk_forward_optimize(
        cls, uni_bars, splitter=WalkForward(train=300, test=150), optimizer="random",
        n_trials=4, seed=2, run_dir=tmp_path, progress=False,
    )  # fmt: skip
    m = len(SYMBOLS)
    for f in res.folds:
        weights = pd.DataFrame(f.oos_positions)
        assert list(weights.columns) == list(SYMBOLS)
        # one parameter set: every symbol's weight is that set's own position on its bars / m
        for sym in SYMBOLS:
            own = SmaCross(**f.best_params).positions(uni_bars[sym]).to_numpy()
            want = own[f.test_range.start : f.test_range.stop] / m
            np.testing.assert_allclose(weights[sym].to_numpy(), want, atol=1e-12)


# --- the book path against independent computations ------------------------------------------
def _task(params, window, returns=True):
    return EvalTask(
        numbers=tuple(range(len(params))), params=tuple(params), stop=window[1],
        windows=(window,), returns=returns,
    )  # fmt: skip


def test_pooled_mean_objective_is_the_mean_of_each_symbols_own_metric(uni_bars):
    cls = search_class(SmaCross, UniverseSpec(mode="pooled", aggregate="mean"))
    params = [{"fast": 10, "slow": 50}, {"fast": 20, "slow": 100}]
    (a, b) = (300, 700)
    got, _ = run_task(EvalContext(cls, uni_bars, None, "next-open"), _task(params, (a, b)))
    for k, p in enumerate(params):
        each = []
        for sym in SYMBOLS:  # the single-symbol batch path, one symbol at a time
            bars = uni_bars[sym]
            pos = SmaCross(**p).positions(bars).to_numpy()[:b].reshape(-1, 1)
            r = evaluate_batch(bars["open"].to_numpy()[:b], bars["close"].to_numpy()[:b], pos,
                               start=a, stop=b)  # fmt: skip
            each.append(float(r.metrics["sharpe_ratio"].iloc[0]))
        assert got[k].metrics[0]["sharpe_ratio"] == pytest.approx(np.mean(each), rel=1e-9)


def test_book_returns_rebuilt_from_weights_and_closes(uni_bars):
    """Fill at the close, no costs, rebalance every bar: the book holds its target weights at
    every close, so its return at t is sum_j w[t-1, j] * r[t, j] (written apart from the engine)."""
    from backtest.costs import Costs
    from backtest.execution import Execution

    cls = search_class(XsMomentum, UniverseSpec(mode="portfolio", max_gross=1.0))
    params = [{"lookback": 60, "skip": 5, "k": 1, "side": "long_short", "select": "top_k"}]
    ex = Execution(costs=Costs(fees=0.0), fill="close")
    a, b = 200, 600
    got, _ = run_task(EvalContext(cls, uni_bars, None, ex), _task(params, (a, b)))
    assert got[0].error is None, got[0].error
    close = pd.DataFrame({s: uni_bars[s]["close"] for s in SYMBOLS}).to_numpy()
    w = np.nan_to_num(XsMomentum(**params[0]).positions(uni_bars).to_numpy())
    ret = close[1:] / close[:-1] - 1.0
    want = (w[:-1] * ret).sum(axis=1)[a - 1 : b - 1]
    want[0] = 0.0  # the window starts in cash: the weights decided at a fill at a's close
    np.testing.assert_allclose(got[0].returns[0], want, atol=1e-10)


def test_portfolio_run_reports_per_symbol_contributions(tmp_path, uni_bars):
    res = _run(
        tmp_path, uni_bars, "portfolio", strategies=["xs_momentum"],
        universe={"mode": "portfolio", "rebalance": "weekly", "max_gross": 0.5},
    )  # fmt: skip
    group = res.results.universe["groups"][0]
    assert group["mode"] == "portfolio" and len(group["oos_sharpe"]) == 3
    assert 0.0 <= group["breadth"] <= 1.0
    assert res.leaderboard["breadth"].iloc[0] == pytest.approx(group["breadth"])


def test_universe_exploration_ranks_symbols_on_the_first_training_window(tmp_path, uni_bars):
    from research.report import build_report

    res = _run(tmp_path, uni_bars, "explore", explore=True, universe="pooled")
    ex = res.results.explore
    table = pd.DataFrame(ex["cross_section"])
    assert set(table["factor"]) == {"xs_momentum", "xs_reversal", "xs_low_vol"}
    assert ex["summary"]["train window ends at bar"] == 300  # the first fold's training stop
    # the same ICs computed directly on the bars before that stop
    from data_loaders.universe import align_universe
    from research.explore.cross_section import cross_sectional_ic
    from strategies.registry import get_strategy

    uni = align_universe(uni_bars)
    name = "xs_reversal"
    direct = cross_sectional_ic(
        uni, {name: get_strategy(name)().scores(uni)}, train_stop=300, min_symbols=3
    ).table
    got = table[table["factor"] == name].reset_index(drop=True)
    np.testing.assert_allclose(got["mean_ic"], direct["mean_ic"], rtol=1e-12)
    html = build_report(res.run_dir).read_text(encoding="utf-8")
    assert "Cross-sectional rank ICs across the symbols" in html


# --- breadth and its gate --------------------------------------------------------------------
def test_breadth_counts_symbols_with_a_positive_oos_sharpe():
    assert breadth_of([0.5, -0.1, float("nan"), 1.2]) == 0.5
    assert breadth_of([]) is None


def test_min_breadth_gate_row():
    ok, failed = evaluate_gates({"breadth": 0.4}, Gates(min_dsr=None, max_pbo=None,
        min_stability=None, min_trades=None, max_drawdown=None, min_wfe=None,
        min_breadth=0.5))  # fmt: skip
    assert ok == {"min_breadth": False} and failed == ["breadth (40% < 50%)"]
    ok, _ = evaluate_gates({"breadth": 0.6}, Gates(min_dsr=None, max_pbo=None,
        min_stability=None, min_trades=None, max_drawdown=None, min_wfe=None,
        min_breadth=0.5))  # fmt: skip
    assert ok == {"min_breadth": True}
