"""The registry: built-ins by name, user strategies from files, and the error messages."""

import textwrap

import pytest

from data_loaders.errors import ParameterError
from strategies import Strategy, get_strategy, list_strategies
from strategies.registry import BUILTINS, builtin_names

USER_FILE = '''
from strategies import Int, Strategy
import pandas as pd


class Helper:
    pass


class MyCross(Strategy):
    """Long when the close is above its mean over `window` bars."""

    window = Int(2, 50, default=5)

    @property
    def warmup(self):
        return self.window - 1

    def positions(self, bars, features=None):
        c = bars["close"]
        return (c > c.rolling(self.window).mean()).astype(float).rename("position")


NOT_A_CLASS = 3
'''


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "my_strats.py"
    path.write_text(USER_FILE)
    return path


def test_builtins_are_listed_once_and_load_by_name():
    assert builtin_names() == [
        "sma_cross",
        "macd_momentum",
        "rsi_reversion",
        "bollinger",
        "donchian_atr",
        "pairs_zscore",
        "lgbm_direction",
        "xs_momentum",
        "xs_reversal",
        "xs_low_vol",
    ]
    classes = list_strategies()
    assert list(classes) == list(BUILTINS)
    for name, cls in classes.items():
        assert issubclass(cls, Strategy) and cls.name == name
        assert get_strategy(name) is cls
        assert cls.__module__ == f"strategies.builtin.{name}"


def test_user_strategy_loads_from_a_file(user_file, bars):
    cls = get_strategy(f"{user_file}:MyCross")
    assert cls.__name__ == "MyCross" and issubclass(cls, Strategy)
    pos = cls(window=10).positions(bars)
    assert ((pos == 0) | (pos == 1)).all()
    assert get_strategy(f"{user_file}:MyCross") is cls  # unchanged file: same class
    assert get_strategy(str(user_file)) is cls  # one Strategy class: the name may be omitted


def test_an_edited_file_is_reloaded(user_file):
    first = get_strategy(f"{user_file}:MyCross")
    user_file.write_text(USER_FILE.replace("default=5", "default=7") + "\n# edited\n")
    second = get_strategy(f"{user_file}:MyCross")
    assert first.window.default == 5 and second.window.default == 7


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "sma_cros",
            "unknown strategy 'sma_cros' (did you mean 'sma_cross'?) (or give a user "
            "strategy as path/to/file.py:ClassName)",
        ),
        ("", "strategy must be a name or 'file.py:ClassName', got ''"),
    ],
)
def test_unknown_names(spec, message):
    with pytest.raises(ParameterError) as err:
        get_strategy(spec)
    assert str(err.value) == message


def test_missing_file(tmp_path):
    spec = f"{tmp_path}/nope.py:X"
    with pytest.raises(ParameterError) as err:
        get_strategy(spec)
    assert str(err.value).startswith(f"strategy file '{tmp_path}/nope.py' not found")


def test_missing_class_suggests_the_defined_one(user_file):
    with pytest.raises(ParameterError) as err:
        get_strategy(f"{user_file}:MyCros")
    assert (
        str(err.value)
        == f"strategy file '{user_file}' has no class 'MyCros' (did you mean 'MyCross'?)"
    )


@pytest.mark.parametrize(("name", "what"), [("Helper", "class Helper"), ("NOT_A_CLASS", "int")])
def test_not_a_strategy(user_file, name, what):
    with pytest.raises(ParameterError) as err:
        get_strategy(f"{user_file}:{name}")
    assert (
        str(err.value) == f"{user_file}:{name} is a {what}, not a subclass of strategies.Strategy"
    )


def test_file_that_fails_to_import(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("import definitely_not_a_module_xyz\n")
    with pytest.raises(ParameterError) as err:
        get_strategy(f"{bad}:X")
    assert str(err.value) == (
        f"strategy file '{bad}' failed to import: ModuleNotFoundError: "
        "No module named 'definitely_not_a_module_xyz'"
    )
    assert isinstance(err.value.__cause__, ModuleNotFoundError)


def test_file_without_class_name_and_several_strategies(tmp_path):
    path = tmp_path / "two.py"
    path.write_text(
        textwrap.dedent(
            """
            from strategies import Strategy
            class A(Strategy):
                pass
            class B(Strategy):
                pass
            """
        )
    )
    with pytest.raises(ParameterError) as err:
        get_strategy(str(path))
    assert str(err.value) == (
        f"strategy file '{path}' defines 2 Strategy classes ['A', 'B']; name one as {path}:ClassName"
    )
