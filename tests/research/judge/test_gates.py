"""research.judge.gates: one definition, one sign, one table; the tradeable gate."""

from __future__ import annotations

import math
from dataclasses import fields

import pytest

from data_loaders.errors import ParameterError
from research.judge.gates import GATES, TRADEABLE, Gates, evaluate_gates, gates_from_spec
from research.spec import GateSpec


def test_defaults_and_fields_are_the_specs():
    assert [f.name for f in fields(Gates)] == [f.name for f in fields(GateSpec)]
    assert Gates() == gates_from_spec(GateSpec())
    assert {r.name for r in GATES} | {"dsr_trials"} == {f.name for f in fields(Gates)}
    spec = GateSpec(max_drawdown=0.3, min_wfe=0.2, min_trades=None)
    g = gates_from_spec(spec)
    assert (g.max_drawdown, g.min_wfe, g.min_trades) == (0.3, 0.2, None)


def test_the_defaults_are_the_calibrated_set_of_the_gates_guide():
    # docs/gates.md: DSR 0.95 counting the candidates, stability 0.5, 10 trades, 50 % drawdown,
    # WFE 0.2; PBO and SPA reported but not gated
    g = Gates()
    assert (g.min_dsr, g.dsr_trials, g.max_pbo, g.max_spa_pvalue) == (
        0.95,
        "candidates",
        None,
        None,
    )
    assert (g.min_stability, g.min_trades, g.max_drawdown, g.min_wfe) == (0.5, 10, 0.5, 0.2)
    assert [r.name for r, _ in g.enabled()] == [
        "min_dsr", "min_stability", "min_trades", "max_drawdown", "min_wfe"
    ]  # fmt: skip
    with pytest.raises(ParameterError, match="`Gates.dsr_trials` must be one of candidates, "):
        Gates(dsr_trials="every")


def test_max_drawdown_is_a_positive_fraction_against_the_drawdown_size():
    gates = Gates(min_dsr=None, min_stability=None, min_trades=None, max_drawdown=0.5, min_wfe=None)
    ok, failed = evaluate_gates({"max_drawdown": -0.49}, gates)
    assert ok == {"max_drawdown": True} and failed == []
    ok, failed = evaluate_gates({"max_drawdown": -0.55}, gates)
    assert ok == {"max_drawdown": False}
    assert failed == ["max drawdown (55.0% > 50.0%)"]
    with pytest.raises(ParameterError, match=r"Gates.max_drawdown.*positive fraction"):
        Gates(max_drawdown=-0.5)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"dsr": 0.9}, "DSR (0.90 < 0.95)"),
        ({"dsr": 0.949}, "DSR (0.949 < 0.950)"),  # digits added until the numbers differ
        ({"dsr": math.nan}, "DSR (not computed; set Gates.min_dsr=None to disable)"),
        ({}, "DSR (not computed; set Gates.min_dsr=None to disable)"),
    ],
)
def test_failure_messages_name_value_and_threshold(row, message):
    only_dsr = Gates(
        min_dsr=0.95, min_stability=None, min_trades=None, max_drawdown=None, min_wfe=None
    )
    ok, failed = evaluate_gates(row, only_dsr)
    assert ok == {"min_dsr": False} and failed == [message]


def test_every_enabled_gate_is_checked_in_table_order():
    gates = Gates(max_pbo=0.5, min_wfe=0.2, max_spa_pvalue=0.1, min_breadth=0.5)
    row = {
        "breadth": 0.8,
        "dsr": 0.99,
        "pbo": 0.6,
        "stability": 0.7,
        "n_trades": 3,
        "max_drawdown": -0.1,
        "wfe": 0.1,
        "spa_pvalue": 0.05,
    }
    ok, failed = evaluate_gates(row, gates)
    assert list(ok) == [r.name for r in GATES]
    assert [k for k, v in ok.items() if not v] == ["max_pbo", "min_trades", "min_wfe"]
    assert failed == ["PBO (0.60 > 0.50)", "trades (3 < 10)", "WFE (0.10 < 0.20)"]


def test_tradeable_is_required_and_listed_last_without_a_column():
    ok, failed = evaluate_gates({"dsr": 0.1}, Gates(), tradeable=False)
    assert "tradeable" not in ok
    assert failed[-1] == TRADEABLE and failed[0].startswith("DSR")
    none = Gates(min_dsr=None, min_stability=None, min_trades=None, max_drawdown=None, min_wfe=None)
    assert evaluate_gates({}, none, tradeable=False) == ({}, [TRADEABLE])


@pytest.mark.parametrize(
    ("name", "value"), [("min_dsr", 1.5), ("max_pbo", -0.1), ("min_trades", -1)]
)
def test_out_of_range_thresholds_are_refused(name, value):
    with pytest.raises(ParameterError, match=f"Gates.{name}"):
        Gates(**{name: value})


def test_report_badges_come_from_the_table():
    by_name = {r.name: r for r in GATES}
    assert by_name["max_drawdown"].badge(0.5) == "max drawdown ≤ 50%"
    assert by_name["min_dsr"].badge(0.95) == "DSR ≥ 0.95"
    assert by_name["min_trades"].badge(10) == "trades ≥ 10"
