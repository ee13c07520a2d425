"""A strategy that raises, or returns exposures outside [-1, 1]: one line naming Class.method,
the user's file and line, and the exception (issue 11, item 3) - in backtest and check-lookahead,
and recorded per trial by the search."""

from __future__ import annotations

import pytest

from research.cli import EXIT_USAGE
from tests.redteam._cli import one_line, research

STRATEGIES = """\
from strategies import Int, Strategy


class Boom(Strategy):
    n = Int(1, 20, default=5)

    def positions(self, bars, features=None):
        scale = 1.0
        raise ValueError("kaboom " + str(scale))


class Wide(Strategy):
    def positions(self, bars, features=None):
        pos = bars["close"] * 0.0
        pos.iloc[100:] = 2.5
        return pos


class BadWarmup(Strategy):
    @property
    def warmup(self):
        return {}["window"]

    def positions(self, bars, features=None):
        return bars["close"] * 0.0


class BadFit(Strategy):
    needs_fit = True

    def fit(self, bars, features=None):
        return bars["nonexistent"]

    def positions(self, bars, features=None):
        return bars["close"] * 0.0
"""


def _line(code: str) -> int:
    """1-based line of ``code`` in STRATEGIES (the line the message must name)."""
    return next(i for i, text in enumerate(STRATEGIES.splitlines(), 1) if code in text)


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(STRATEGIES, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["backtest", "check-lookahead"])
def test_a_raising_positions_is_one_line_with_class_method_file_and_line(
    tmp_path, user_file, command
):
    res = research(command, "--strategy", f"{user_file}:Boom", "--data", "sample:sp500",
                   cwd=tmp_path)  # fmt: skip
    one_line(
        res,
        EXIT_USAGE,
        f"research {command}: error: Boom.positions raised ValueError: kaboom 1.0",
        f"(at {user_file}:{_line('raise ValueError')})",
    )


@pytest.mark.parametrize("command", ["backtest", "check-lookahead"])
def test_exposures_outside_the_range_name_the_first_timestamp(tmp_path, user_file, command):
    import data_loaders

    first = data_loaders.load_bars("sample:sp500").index[100]
    res = research(command, "--strategy", f"{user_file}:Wide", "--data", "sample:sp500",
                   cwd=tmp_path)  # fmt: skip
    one_line(res, EXIT_USAGE, "Wide.positions returned exposure 2.5", f"at {first}", "[-1, 1]")


def test_a_raising_warmup_property_is_named(tmp_path, user_file):
    res = research("check-lookahead", "--strategy", f"{user_file}:BadWarmup", "--data",
                   "sample:sp500", cwd=tmp_path)  # fmt: skip
    one_line(
        res,
        EXIT_USAGE,
        "BadWarmup.warmup raised KeyError: 'window'",
        f"{user_file}:{_line('return {}')}",
    )


def test_a_raising_fit_is_named(tmp_path, user_file):
    res = research("backtest", "--strategy", f"{user_file}:BadFit", "--data", "sample:sp500",
                   cwd=tmp_path)  # fmt: skip
    one_line(
        res,
        EXIT_USAGE,
        "BadFit.fit raised KeyError: 'nonexistent'",
        f"{user_file}:{_line('nonexistent')}",
    )


def test_a_strategy_with_a_syntax_error_is_one_line(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("from strategies import Strategy\nclass X(Strategy:\n    pass\n")
    res = research("backtest", "--strategy", f"{path}:X", "--data", "sample:sp500", cwd=tmp_path)
    one_line(res, EXIT_USAGE, "failed to import: SyntaxError")


def test_the_search_records_the_strategy_error_per_trial(user_file):
    from backtest.splitters import WalkForward
    from research.optimize import walk_forward_optimize
    from tests.research.optimize._strategies import sample_bars

    res = walk_forward_optimize(
        f"{user_file}:Boom", sample_bars(500), splitter=WalkForward(train=300, test=200),
        optimizer="random", n_trials=3, run_dir=user_file.parent / "run", progress=False,
    )  # fmt: skip
    reasons = set(res.trials["reason"])
    assert reasons == {
        f"Boom.positions raised ValueError: kaboom 1.0 (at {user_file}:{_line('raise Value')})"
    }
    assert (res.trials["state"] == "fail").all()
