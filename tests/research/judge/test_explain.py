"""One-sentence explanations of failing gates and the DSR's required Sharpe ratio."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from data_loaders.errors import ParameterError
from research.judge.explain import explain_gate, explain_row
from research.judge.gates import TRADEABLE, Gates
from research.overfitting import deflated_sharpe_ratio, required_sharpe


def _emax(n: float, v: float) -> float:
    g = 0.5772156649015329
    z = (1 - g) * stats.norm.ppf(1 - 1 / n) + g * stats.norm.ppf(1 - 1 / (n * math.e))
    return math.sqrt(v) * z


def _closed_form(q: float, t: int, n: float, v: float) -> float:
    # normal returns: (SR - b)^2 (t - 1) = z^2 (1 + SR^2 / 2), larger root
    b, z = _emax(n, v), stats.norm.ppf(q)
    a = (t - 1) - z * z / 2
    bb = -2 * b * (t - 1)
    c = b * b * (t - 1) - z * z
    return (-bb + math.sqrt(bb * bb - 4 * a * c)) / (2 * a)


@pytest.mark.parametrize(("q", "t", "n", "v"), [(0.95, 2016, 6, 1 / 2015), (0.9, 500, 40, 0.004)])
def test_required_sharpe_matches_the_closed_form_for_normal_returns(q, t, n, v):
    sr = required_sharpe(q, t, n, v)
    assert sr == pytest.approx(_closed_form(q, t, n, v), rel=1e-9)
    assert deflated_sharpe_ratio(sr, t, n, v) == pytest.approx(q, abs=1e-9)


def test_required_sharpe_with_skew_reaches_the_threshold_exactly():
    sr = required_sharpe(0.95, 1000, 10, 0.002, skew=-1.0, kurtosis=6.0)
    assert deflated_sharpe_ratio(sr, 1000, 10, 0.002, -1.0, 6.0) == pytest.approx(0.95, abs=1e-9)
    assert deflated_sharpe_ratio(sr * 0.99, 1000, 10, 0.002, -1.0, 6.0) < 0.95


def test_the_dsr_sentence_says_what_would_have_passed():
    t, n, v = 2016, 6, 1 / 2015
    need = _closed_form(0.95, t, n, v) * math.sqrt(252)
    text = explain_gate(
        "min_dsr",
        0.41,
        0.95,
        {"n_obs": t, "n_trials": n, "trials_sharpe_variance": v, "sharpe": 0.8 / math.sqrt(252)},
    )
    assert text == (
        f"the deflated Sharpe is 0.41 (needs 0.95): it needs an out-of-sample Sharpe of at least "
        f"{need:.2f} with 6 candidates over 8 years (it is 0.80)"
    )


@pytest.mark.parametrize(
    ("gate", "value", "limit", "expected"),
    [
        ("min_trades", 6, 10, "only 6 out-of-sample trades (needs 10): too few to judge"),
        ("max_drawdown", -0.62, 0.5, "the out-of-sample drawdown reached 62% (the limit is 50%)"),
        (
            "max_pbo",
            0.62,
            0.5,
            "the probability of backtest overfitting is 0.62 (needs at most 0.50)",
        ),
        (
            "min_stability",
            0.31,
            0.5,
            "their neighbours keep 31% of the pick's performance (needs 50%)",
        ),
        ("min_wfe", 0.12, 0.2, "walk-forward efficiency 0.12, needs 0.20"),
        (
            "max_spa_pvalue",
            0.31,
            0.2,
            "the SPA p-value against buy-and-hold is 0.310 (needs at most 0.200)",
        ),
        (
            "min_breadth",
            0.4,
            0.6,
            "positive out-of-sample Sharpe on 40% of the universe's symbols (needs 60%)",
        ),
        ("min_dsr", None, 0.95, "min_dsr was not computed for this candidate"),
    ],
)
def test_each_gate_has_a_sentence(gate, value, limit, expected):
    assert expected in explain_gate(gate, value, limit)


def test_unknown_gates_and_thresholds_are_one_line_errors():
    with pytest.raises(ParameterError, match="unknown gate 'min_sharpe'"):
        explain_gate("min_sharpe", 1.0, 0.5)
    with pytest.raises(ParameterError, match=r"`min_dsr` must be in \(0, 1\), got 1.0"):
        required_sharpe(1.0, 100, 2, 0.01)


def test_a_row_gets_one_sentence_per_failed_gate_in_table_order_and_tradeable_last():
    t, n, v = 2016, 6, 1 / 2015
    row = {
        "dsr": 0.41,
        "gate_min_dsr": False,
        "sharpe_per_period": 0.8 / math.sqrt(252),
        "kurtosis_raw": 3.0,
        "n_trials": n,
        "trials_sharpe_variance": v,
        "stability": 0.7,
        "gate_min_stability": True,
        "n_trades": 6,
        "gate_min_trades": False,
        "max_drawdown": -0.2,
        "gate_max_drawdown": True,
        "wfe": math.nan,
        "gate_min_wfe": False,
    }
    need = _closed_form(0.95, t, n, v) * math.sqrt(252)
    got = explain_row(row, Gates(), n_obs=t, n_prior=2, tradeable=False)
    assert got[0] == (
        f"the deflated Sharpe is 0.41 (needs 0.95): it needs an out-of-sample Sharpe of at least "
        f"{need:.2f} with 6 candidates (with 2 earlier looks at this data) over 8 years "
        "(it is 0.80)"
    )
    assert got[1] == "only 6 out-of-sample trades (needs 10): too few to judge"
    assert got[2].startswith("min_wfe was not computed for this candidate: a fold's in-sample")
    assert got[3].startswith(TRADEABLE) and len(got) == 4
    row_ok = {**row, "gate_min_dsr": True, "gate_min_trades": True, "gate_min_wfe": True}
    assert explain_row(row_ok, Gates(), n_obs=t) == []
