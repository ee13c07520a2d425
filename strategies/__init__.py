"""Strategies: the :class:`Strategy` base, typed parameter spaces, indicators and built-ins.

A user strategy is a short subclass of :class:`Strategy` whose hyperparameters are declared once,
class-level, with :class:`Int`, :class:`Float` and :class:`Categorical`. Built-ins and user
files are resolved by :func:`get_strategy` (``"sma_cross"`` or ``"path/to/file.py:ClassName"``);
the indicator catalog lives in :mod:`strategies.indicators`.
"""

from strategies.base import Signals, Strategy, signals_to_positions
from strategies.cross_section import CrossSectionalStrategy
from strategies.exit_params import EXIT_PARAM_NAMES, exit_space, exit_values
from strategies.params import Categorical, Float, Int, Param
from strategies.registry import get_strategy, list_strategies
from strategies.timeframe import higher_timeframe

__all__ = [
    "Strategy",
    "CrossSectionalStrategy",
    "Signals",
    "signals_to_positions",
    "Param",
    "Int",
    "Float",
    "Categorical",
    "get_strategy",
    "list_strategies",
    "exit_space",
    "exit_values",
    "EXIT_PARAM_NAMES",
    "higher_timeframe",
]
