import pytest

from data_loaders.errors import ParameterError
from strategies import Categorical, Float, Int, Strategy


class _Demo(Strategy):
    fast = Int(2, 100, default=10)
    slow = Int(5, 400, default=30)
    mode = Categorical(["band", "atr"])
    mult = Float(0.5, 3.0, default=2.0, when={"mode": ["atr"]})
    lr = Float(1e-3, 1e-1, log=True)
    constraints = ("fast < slow",)


def test_values_are_read_through_the_declaration():
    s = _Demo(fast=5, mode="atr", mult=1.5)
    assert (s.fast, s.slow, s.mode, s.mult) == (5, 30, "atr", 1.5)
    assert isinstance(_Demo.fast, Int)
    assert list(_Demo.space()) == ["fast", "slow", "mode", "mult", "lr"]


def test_log_default_is_geometric_mean():
    assert _Demo.lr.default == pytest.approx(1e-2)


def test_inactive_conditional_parameter_takes_default():
    assert _Demo(mode="band", mult=2.5).mult == 2.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fsat": 3}, "unknown parameter 'fsat' for _Demo (did you mean 'fast'?)"),
        ({"fast": 50, "slow": 20}, "_Demo: `fast` must be < `slow`, got fast=50, slow=20"),
        ({"fast": 1.5}, "`fast` must be an integer, got fast=1.5"),
        ({"fast": 1}, "`fast` must be in [2, 100], got fast=1"),
        ({"mode": "x"}, "`mode` must be one of ['band', 'atr'], got mode='x'"),
        ({"mult": float("nan")}, "`mult` must be a finite number, got mult=nan"),
    ],
)
def test_bad_values_name_the_rule(params, message):
    with pytest.raises(ParameterError) as err:
        _Demo(**params)
    assert str(err.value) == message


def test_grid_respects_step_and_log():
    assert Int(5, 50, step=5).grid(100) == list(range(5, 55, 5))
    g = Float(1e-3, 1e-1, log=True).grid(3)
    assert g == pytest.approx([1e-3, 1e-2, 1e-1])


def test_violations_report_without_raising():
    assert _Demo.violations({"fast": 40, "slow": 20}) == [
        "`fast` must be < `slow`, got fast=40, slow=20"
    ]
    assert _Demo.violations({"fast": 10}) == []
