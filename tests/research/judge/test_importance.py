"""Tests of research.importance: the planted hyperparameter is found, the space narrows."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest

from data_loaders.errors import DataTooShortError, DataValidationError, ParameterError
from research.importance import (
    fanova_importance,
    hyperparameter_importance,
    regress_metric_on_params,
    suggest_narrowed_space,
)
from strategies.params import Categorical, Float, Int

SPACE = {
    "lookback": Int(5, 100, step=5),
    "threshold": Float(0.0, 2.0),
    "mode": Categorical(["trend", "revert", "both"]),
}


def _trials(n: int = 120, seed: int = 0, peak: bool = False) -> pd.DataFrame:
    """Random trials whose metric depends on ``lookback`` only (plus noise)."""
    rng = np.random.default_rng(seed)
    lookback = rng.choice(np.arange(5, 101, 5), n)
    threshold = rng.uniform(0.0, 2.0, n)
    mode = rng.choice(["trend", "revert", "both"], n)
    if peak:
        signal = -(((lookback - 52.5) / 20.0) ** 2)  # peak mid-range
    else:
        signal = 0.02 * lookback
    value = signal + rng.normal(0.0, 0.3, n)
    return pd.DataFrame(
        {
            "number": np.arange(n),
            "value": value,
            "params_lookback": lookback,
            "params_threshold": threshold,
            "params_mode": mode,
            "state": "COMPLETE",
        }
    )


def test_regression_finds_the_planted_parameter():
    res = regress_metric_on_params(_trials(seed=1))
    assert res.significant == ["lookback"]
    assert res.params.index[0] == "lookback" and res.params.loc["lookback", "effect"] > 0
    assert res.params.loc["mode", "kind"] == "categorical"
    assert res.n_trials == 120 and res.cov_type == "HC3"
    # over many searches: the planted parameter always, the noise ones at about the 5 % level
    found, false = 0, 0
    for seed in range(20):
        sig = regress_metric_on_params(_trials(seed=seed)).significant
        found += "lookback" in sig
        false += len(set(sig) - {"lookback"})
    assert found == 20 and false <= 6  # 40 null tests at alpha = 0.05


def test_regression_coefficients_match_least_squares_on_the_documented_design():
    trials = _trials(seed=1)
    res = regress_metric_on_params(trials, cov_type="nonrobust")
    lb = trials["params_lookback"].to_numpy(float)
    th = trials["params_threshold"].to_numpy(float)
    design = np.column_stack(
        [
            np.ones(len(trials)),
            (lb - lb.mean()) / lb.std(),
            (th - th.mean()) / th.std(),
            (trials["params_mode"] == "revert").to_numpy(float),  # "both" is the dropped level
            (trials["params_mode"] == "trend").to_numpy(float),
        ]
    )
    coef, *_ = np.linalg.lstsq(design, trials["value"].to_numpy(), rcond=None)
    np.testing.assert_allclose(
        res.terms.loc[["const", "lookback", "threshold", "mode=revert", "mode=trend"], "coef"],
        coef,
        rtol=1e-10,
    )


def test_quadratic_terms_and_interactions():
    trials = _trials(seed=2, peak=True)
    linear = regress_metric_on_params(trials)
    quad = regress_metric_on_params(trials, quadratic=True)
    assert "lookback" not in linear.significant  # a peak in the middle has no linear slope
    assert quad.significant == ["lookback"]
    assert quad.terms.loc["lookback^2", "coef"] < 0
    inter = regress_metric_on_params(trials, interactions=True)
    assert "lookback:threshold" in inter.terms.index and "lookback:mode=trend" in inter.terms.index
    assert "mode=revert:mode=trend" not in inter.terms.index


def test_fanova_and_regression_side_by_side():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(3)

    def objective(trial: optuna.Trial) -> float:
        lookback = trial.suggest_int("lookback", 5, 100, step=5)
        trial.suggest_float("threshold", 0.0, 2.0)
        trial.suggest_categorical("mode", ["trend", "revert", "both"])
        return 0.02 * lookback + rng.normal(0.0, 0.2)

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=60)
    fan = fanova_importance(study, seed=0)
    assert fan.index[0] == "lookback" and fan.sum() == pytest.approx(1.0)
    report = hyperparameter_importance(study=study)
    assert report.significant == ["lookback"]
    assert report.table.loc["lookback", "fanova"] == pytest.approx(fan["lookback"])
    assert list(report.table.columns) == [
        "kind",
        "ols_effect",
        "ols_p_value",
        "significant",
        "fanova",
    ]
    no_study = hyperparameter_importance(study.trials_dataframe())
    assert no_study.fanova is None and no_study.table["fanova"].isna().all()


def test_suggest_narrowed_space_keeps_types_and_the_best_region():
    trials = _trials(seed=4, peak=True)
    narrowed = suggest_narrowed_space(trials, SPACE, top_quantile=0.2)
    lb = narrowed["lookback"]
    assert isinstance(lb, Int) and lb.step == 5
    top = trials.nlargest(24, "value")["params_lookback"]
    assert lb.low == max(5, top.min() - 5) and lb.high == min(100, top.max() + 5)
    assert lb.low <= 52.5 <= lb.high and lb.high - lb.low < 95
    assert lb.default == trials.loc[trials["value"].idxmax(), "params_lookback"]
    assert isinstance(narrowed["threshold"], Float)
    assert 0.0 <= narrowed["threshold"].low < narrowed["threshold"].high <= 2.0
    assert set(narrowed["mode"].choices) <= {"trend", "revert", "both"}
    # a single best trial at a bound still gives a valid, non-empty range
    single = suggest_narrowed_space(trials.nsmallest(1, "value"), SPACE, pad_steps=0)
    assert single["lookback"].low < single["lookback"].high


def test_importance_rejects_bad_input():
    trials = _trials(n=6)
    with pytest.raises(DataTooShortError, match="needs more trials than that, got 6"):
        regress_metric_on_params(trials, quadratic=True, interactions=True)
    with pytest.raises(DataValidationError, match="no metric column 'sharpe'"):
        regress_metric_on_params(_trials(), metric="sharpe")
    with pytest.raises(ParameterError, match="`top_quantile` must be in \\(0, 1\\], got 0"):
        suggest_narrowed_space(_trials(), SPACE, top_quantile=0)
    with pytest.raises(ParameterError, match="`study` must be an optuna.Study, got DataFrame"):
        fanova_importance(_trials())
    with pytest.raises(ParameterError, match="give `trials` \\(a DataFrame\\) or `study`"):
        hyperparameter_importance()


def test_parameters_that_move_together_are_reported_not_warned_about(recwarn):
    trials = _trials(seed=3)
    trials["params_threshold"] = trials["params_lookback"] / 50.0  # collinear with lookback
    res = regress_metric_on_params(trials)
    assert any("rank-deficient (rank 4 of 5 terms" in note for note in res.notes)
    assert not [w for w in recwarn if "rank-deficient" in str(w.message)]
