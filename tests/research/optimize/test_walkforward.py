"""Walk-forward driver: inner validation, efficiency, timings, progress bars, argument errors."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from backtest.metrics import sharpe_ratio
from data_loaders.errors import ParameterError
from research.optimize._progress import FoldProgress


def test_inner_validation_picks_among_the_top_k_by_the_held_out_window(wfo, bars, splitter):
    res = wfo(optimizer="random", n_trials=24, inner_validation=0.3, inner_top_k=5)
    for fold, fr in zip(splitter.split(bars.index), res.folds):
        t = res.trials[(res.trials["fold"] == fr.fold) & res.trials["feasible"]]
        top = t.sort_values(["value", "number"], ascending=[False, True]).head(5)
        scored = top[np.isfinite(top["val_value_sharpe_ratio"])]
        best = scored.sort_values(["val_value_sharpe_ratio", "number"], ascending=[False, True])
        assert fr.best_number == best["number"].iloc[0]
        # the search saw only the first 70 % of the train window
        n = fold.train.stop - fold.train.start
        every = res.trials[res.trials["fold"] == fr.fold]
        assert fr.full_bars == int((every["step"] > 0).sum()) * (n - round(n * 0.3))
        assert fr.val_metrics["sharpe_ratio"] == pytest.approx(
            best["val_value_sharpe_ratio"].iloc[0]
        )


def test_walk_forward_efficiency_and_summary(wfo):
    res = wfo(optimizer="tpe", n_trials=12)
    is_sharpes = [f.is_metrics["sharpe_ratio"] for f in res.folds]
    oos = sharpe_ratio(res.oos_returns.to_numpy(), periods_per_year=252)
    expected = oos / np.mean(is_sharpes) if np.mean(is_sharpes) > 0 else math.nan
    assert res.wfe == pytest.approx(expected, nan_ok=True)
    for f in res.folds:
        exp = f.oos_metrics["sharpe_ratio"] / f.is_metrics["sharpe_ratio"]
        assert f.wfe == pytest.approx(
            exp if f.is_metrics["sharpe_ratio"] > 0 else math.nan, nan_ok=True
        )
    summary = res.summary()
    assert list(summary["n_trials"]) == [12, 12]
    assert list(summary["best_number"]) == [f.best_number for f in res.folds]


def test_timings_split_the_search_wall_time(wfo):
    res = wfo(optimizer="tpe", n_trials=12)
    for f in res.folds:
        assert set(f.timings) == {"ask", "eval", "tell", "store", "other"}
        assert all(v >= 0 for v in f.timings.values())
        assert sum(f.timings.values()) == pytest.approx(f.seconds, rel=1e-6)
        assert f.timings["eval"] == f.eval_seconds > 0


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_shows_trials_pruned_failed_and_best_on_a_terminal():
    stream = _Tty()
    bar = FoldProgress(3, 20, enabled=True, file=stream)
    assert bar.enabled
    bar.update(7, 2, 1, 0.8125)
    bar.close()
    text = stream.getvalue()
    assert "fold 3" in text and "7/20" in text
    assert "pruned=2" in text and "failed=1" in text and "best=0.8125" in text


def test_progress_bar_is_quiet_off_a_terminal_or_when_disabled():
    for stream, enabled in ((io.StringIO(), True), (_Tty(), False)):
        bar = FoldProgress(0, 10, enabled=enabled, file=stream)
        bar.update(5, 1, 1, 1.0)
        bar.close()
        assert not bar.enabled and stream.getvalue() == ""


def test_a_search_in_tests_prints_nothing(wfo, capsys):
    wfo(optimizer="tpe", n_trials=6, progress=True)  # stderr is not a terminal under pytest
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"n_trials": 0}, "`n_trials` must be an int >= 1, got 0"),
        ({"optimizer": "tpee"}, "did you mean 'tpe'"),
        ({"objective": "sharpe"}, "did you mean 'sharpe_ratio'"),
        ({"objective": ["sharpe_ratio"], "directions": ["up"]}, "'maximize' or 'minimize'"),
        ({"guardrails": {"min_trade": 3}}, "did you mean 'min_trades'"),
        ({"guardrails": {"max_drawdown": 30}}, "positive fraction"),
        ({"inner_validation": 1.5}, "fraction in \\(0, 1\\)"),
        ({"fidelity": "halves"}, "`fidelity` must be"),
        ({"reduction_factor": 1}, "`reduction_factor` must be >= 2"),
        ({"seed": "7"}, "`seed` must be an int"),
        ({"optimizer": "ga", "optimizer_options": {"n_elite": 40}}, "n_elite"),
    ],
)
def test_bad_arguments_name_the_argument_and_the_rule(wfo, kw, match):
    with pytest.raises(ParameterError, match=match):
        wfo(**kw)


def test_an_execution_object_gives_the_same_search_as_the_loose_settings(wfo):
    from backtest.costs import Costs
    from backtest.execution import Execution

    costs = Costs(fees=0.002, slippage_bps=3)
    loose = wfo(n_trials=8, costs=costs, direction="longonly", init_cash=5e4, periods_per_year=260)
    setup = Execution(costs, "next-open", "longonly", 5e4, 260)
    packed = wfo(n_trials=8, execution=setup)
    assert packed.config["config_hash"] == loose.config["config_hash"]
    assert packed.config["direction"] == "longonly" and packed.config["init_cash"] == 5e4
    assert packed.trials["value"].equals(loose.trials["value"])
    np.testing.assert_array_equal(packed.oos_returns.to_numpy(), loose.oos_returns.to_numpy())
    with pytest.raises(ParameterError, match=r"settings in `execution`.*\['init_cash'\]"):
        wfo(n_trials=8, execution=setup, init_cash=1e5)
