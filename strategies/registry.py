"""Strategy registry: built-ins by name, user strategies from ``path/to/file.py:ClassName``.

Built-ins are listed once in :data:`BUILTINS` (name -> ``"module:Class"``) and imported only when
asked for, so listing names costs nothing. Adding a built-in = one module in
``strategies/builtin/`` plus one line here.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

from data_loaders.errors import ParameterError, did_you_mean
from strategies.base import Strategy

__all__ = ["BUILTINS", "get_strategy", "list_strategies", "builtin_names"]

BUILTINS: dict[str, str] = {
    "sma_cross": "strategies.builtin.sma_cross:SmaCross",
    "macd_momentum": "strategies.builtin.macd_momentum:MacdMomentum",
    "rsi_reversion": "strategies.builtin.rsi_reversion:RsiReversion",
    "bollinger": "strategies.builtin.bollinger:Bollinger",
    "donchian_atr": "strategies.builtin.donchian_atr:DonchianAtr",
    "pairs_zscore": "strategies.builtin.pairs_zscore:PairsZscore",
    "lgbm_direction": "strategies.builtin.lgbm_direction:LgbmDirection",
    "xs_momentum": "strategies.builtin.xs_momentum:XsMomentum",
    "xs_reversal": "strategies.builtin.xs_reversal:XsReversal",
    "xs_low_vol": "strategies.builtin.xs_low_vol:XsLowVol",
}


def builtin_names() -> list[str]:
    """Names of the built-in strategies (no import)."""
    return list(BUILTINS)


def list_strategies() -> dict[str, type[Strategy]]:
    """Every built-in strategy class by name (imports them)."""
    return {name: _load_builtin(name) for name in BUILTINS}


def get_strategy(spec: str) -> type[Strategy]:
    """Resolve a strategy class from a built-in name or ``path/to/file.py:ClassName``.

    ``path/to/file.py`` alone is accepted when the file defines exactly one Strategy subclass.

    Raises:
        ParameterError: unknown built-in name (with "did you mean"), missing file, file that
            fails to import, missing class (with the classes the file does define), or a class
            that is not a :class:`~strategies.Strategy` subclass.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ParameterError(f"strategy must be a name or 'file.py:ClassName', got {spec!r}")
    spec = spec.strip()
    path_part, _, class_name = spec.rpartition(":") if ":" in spec else (spec, "", "")
    if path_part.endswith(".py") or spec.endswith(".py"):
        return _load_from_file(path_part if path_part.endswith(".py") else spec, class_name)
    if spec in BUILTINS:
        return _load_builtin(spec)
    raise ParameterError(
        f"unknown strategy {spec!r}{did_you_mean(spec, BUILTINS)} "
        "(or give a user strategy as path/to/file.py:ClassName)"
    )


def _load_builtin(name: str) -> type[Strategy]:
    module_name, _, class_name = BUILTINS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def _load_from_file(path_text: str, class_name: str) -> type[Strategy]:
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise ParameterError(
            f"strategy file {path_text!r} not found (resolved to {path.resolve()}); "
            "give an existing path/to/file.py:ClassName"
        )
    module = _import_file(path.resolve())
    found = {
        n: obj
        for n, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, Strategy) and obj is not Strategy
    }
    own = {n: c for n, c in found.items() if c.__module__ == module.__name__}
    if not class_name:
        if len(own) == 1:
            return next(iter(own.values()))
        raise ParameterError(
            f"strategy file {path_text!r} defines {len(own)} Strategy classes {sorted(own)}; "
            f"name one as {path_text}:ClassName"
        )
    obj = getattr(module, class_name, None)
    if obj is None:
        hint = did_you_mean(class_name, own or found)
        raise ParameterError(f"strategy file {path_text!r} has no class {class_name!r}{hint}")
    if not (inspect.isclass(obj) and issubclass(obj, Strategy)):
        what = f"class {obj.__name__}" if inspect.isclass(obj) else type(obj).__name__
        raise ParameterError(
            f"{path_text}:{class_name} is a {what}, not a subclass of strategies.Strategy"
        )
    return obj


def _import_file(path: Path):
    """Import ``path`` as a module named after its location (re-imported when the file changes)."""
    stat = path.stat()
    key = hashlib.sha1(f"{path}:{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest()[:12]
    module_name = f"_user_strategy_{path.stem}_{key}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ParameterError(f"strategy file {str(path)!r} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise ParameterError(
            f"strategy file {str(path)!r} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    return module
