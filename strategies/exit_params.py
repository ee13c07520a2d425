"""Exit-layer hyperparameters declared like a strategy's, so every optimizer can search them.

:func:`exit_space` returns :class:`~strategies.params.Param` declarations whose names are the
fields of ``backtest.Exits`` (optionally prefixed); a trial's values go back through
:func:`exit_values` into ``backtest.Exits(**values)``. ``strategies`` does not import
``backtest`` (siblings); the research layer joins the two.

Default ranges (override any by keyword, e.g. ``stop_loss=Float(0.01, 0.05, log=True)``):

=====================  ==========================  =================================
name                   declaration                 meaning
=====================  ==========================  =================================
``stop_loss``          Float(0.005, 0.2, log)      stop at this fraction from entry
``stop_loss_atr``      Float(0.5, 6.0)             stop at this many ATRs from entry
``take_profit``        Float(0.01, 0.5, log)       target at this fraction from entry
``take_profit_atr``    Float(0.5, 10.0)            target at this many ATRs
``trailing_stop``      Float(0.005, 0.2, log)      trail this fraction behind the extreme
``trailing_stop_atr``  Float(0.5, 6.0)             trail this many ATRs behind it
``time_stop``          Int(1, 250, log)            close after this many bars
``break_even``         Float(0.005, 0.2, log)      stop to entry after this favourable move
=====================  ==========================  =================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from data_loaders.errors import ParameterError, did_you_mean
from strategies.params import Float, Int, Param

__all__ = ["EXIT_PARAM_NAMES", "exit_space", "exit_values"]


def _defaults() -> dict[str, Param]:
    return {
        "stop_loss": Float(0.005, 0.2, log=True),
        "stop_loss_atr": Float(0.5, 6.0),
        "take_profit": Float(0.01, 0.5, log=True),
        "take_profit_atr": Float(0.5, 10.0),
        "trailing_stop": Float(0.005, 0.2, log=True),
        "trailing_stop_atr": Float(0.5, 6.0),
        "time_stop": Int(1, 250, log=True),
        "break_even": Float(0.005, 0.2, log=True),
    }


EXIT_PARAM_NAMES = tuple(_defaults())


def exit_space(
    names: Iterable[str] | None = None, *, prefix: str = "", **overrides: Param
) -> dict[str, Param]:
    """Declarations of the exit hyperparameters ``names`` (default: all), keyed ``prefix + name``.

    Raises:
        ParameterError: an unknown name (with a "did you mean"), or an override that is not a
            ``Param``.
    """
    space = _defaults()
    chosen = list(space) if names is None else list(names)
    for name in [*chosen, *overrides]:
        if name not in space:
            raise ParameterError(
                f"exit_space: unknown exit parameter {name!r}{did_you_mean(name, space)}; "
                f"known: {', '.join(space)}"
            )
    out: dict[str, Param] = {}
    for name in chosen:
        param = overrides.get(name, space[name])
        if not isinstance(param, Param):
            raise ParameterError(
                f"exit_space: `{name}` must be an Int/Float/Categorical, got {type(param).__name__}"
            )
        param.__set_name__(None, prefix + name)
        out[prefix + name] = param
    return out


def exit_values(params: Mapping[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """The exit fields among ``params`` (keys ``prefix + name``), unprefixed, for ``Exits(**...)``."""
    return {
        key[len(prefix) :]: value
        for key, value in params.items()
        if key.startswith(prefix) and key[len(prefix) :] in EXIT_PARAM_NAMES
    }
