"""User-facing error classes shared by every layer.

They live in the lowest package (``data_loaders``) so that ``strategies``, ``backtest`` and
``research`` can all raise them without importing upwards. Every error a user can cause is one of
these; the ``research`` command turns any of them into one line on stderr and exit status 2.

Messages name what was wrong and where (file, row or timestamp, column, argument), the rule that
was broken and the value received, and suggest a fix where one is obvious.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ResearchError",
    "DataValidationError",
    "ConfigError",
    "ParameterError",
    "DataTooShortError",
    "did_you_mean",
]


class ResearchError(Exception):
    """Base class of every error caused by user input (bad data, config, parameters)."""


class DataValidationError(ResearchError, ValueError):
    """Bars break the bars contract (see :mod:`data_loaders.validation`); the message names file,
    row, column, rule."""


class ConfigError(ResearchError, ValueError):
    """An experiment or exploration spec is invalid; the message names the key."""


class ParameterError(ResearchError, ValueError):
    """A strategy or optimizer hyperparameter is unknown, out of its space or breaks a constraint."""


class DataTooShortError(ResearchError, ValueError):
    """The data is too short for the requested walk-forward layout or warm-up."""


_MAX_LISTED = 20


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest candidate, or the valid names.

    Long lists are cut to their first ``_MAX_LISTED`` names so the message stays one short line.
    """
    candidates = sorted(candidates)
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    if not candidates:
        return ""
    shown = ", ".join(candidates[:_MAX_LISTED])
    more = len(candidates) - _MAX_LISTED
    return f"; valid names: {shown}" + (f", ... ({more} more)" if more > 0 else "")
