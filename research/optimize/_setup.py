"""The first two steps of :func:`research.optimize.walk_forward_optimize`: check every argument
(:func:`check_arguments` -> :class:`WalkForwardSetup`), then fix the folds and the studies'
identity (:func:`plan_studies` -> :class:`StudyPlan`: configuration, its hash, study names,
storage URL). Nothing is searched or written here; every error is raised before any study
exists.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.costs import Costs
from backtest.execution import Execution
from data_loaders import data_fingerprint
from data_loaders.bars import bars_index
from data_loaders.errors import DataValidationError, ParameterError
from research._json import to_jsonable
from research._version import code_version_text
from research.optimize._base import Optimizer, Problem
from research.optimize._search import FIDELITIES
from research.optimize.derived import DerivedMetric
from research.optimize.identity import code_identity
from research.optimize.objectives import (
    Guardrails,
    Objective,
    derived_metrics,
    resolve_objectives,
)
from research.optimize.space import SearchSpace
from research.optimize.storage import default_storage_url

__all__ = ["PRUNERS", "WalkForwardSetup", "StudyPlan", "check_arguments", "plan_studies", "slug"]

#: accepted ``pruner`` names -> canonical name
PRUNERS = {"hyperband": "hyperband", "sha": "sha", "successive_halving": "sha"}


@dataclass(frozen=True)
class WalkForwardSetup:
    """The checked arguments of one walk-forward optimization (see
    :func:`research.optimize.walk_forward_optimize` for each one's meaning)."""

    strategy_cls: Any
    bars: Any
    features: pd.DataFrame | None
    space: SearchSpace
    objectives: tuple[Objective, ...]
    guardrails: Guardrails
    optimizer: Optimizer
    execution: Execution
    n_trials: int
    seed: int
    warm_start: tuple[dict[str, Any], ...]
    fidelity: str | None
    pruner: str | None
    reduction_factor: int
    inner_validation: float | None
    inner_top_k: int
    batch_size: int | None
    timeout: float | None
    progress: bool
    derived: tuple[DerivedMetric, ...] = ()


def check_arguments(
    strategy_cls: Any,
    bars: Any,
    *,
    execution: str | Execution,
    costs: Any,
    direction: str | None,
    init_cash: float | None,
    periods_per_year: float | None,
    optimizer: str | Optimizer,
    optimizer_options: Mapping[str, Any] | None,
    n_trials: int,
    objective: Any,
    directions: Any,
    guardrails: Any,
    seed: int,
    warm_start: Any,
    inner_validation: float | None,
    inner_top_k: int,
    fidelity: str | None,
    pruner: str | None,
    reduction_factor: int,
    batch_size: int | None,
    timeout: float | None,
    progress: bool,
    features: pd.DataFrame | None,
) -> WalkForwardSetup:
    """Check the arguments (in this order) and resolve names into objects.

    Raises:
        ParameterError, DataValidationError, ConfigError: as
            :func:`research.optimize.walk_forward_optimize` documents.
    """
    cls = _resolve_strategy(strategy_cls)
    _check_bars(cls, bars)
    setup = _resolve_execution(execution, costs, direction, init_cash, periods_per_year)
    features = _check_features(features, bars)
    space = SearchSpace(cls)
    objectives = resolve_objectives(objective, directions)
    rails = Guardrails.coerce(guardrails)
    opt = _resolve_optimizer(optimizer, optimizer_options)
    n_trials = _positive_int(n_trials, "n_trials")
    inner_top_k = _positive_int(inner_top_k, "inner_top_k")
    pruner_name = _resolve_pruner(pruner, objectives)
    fidelity, rf, batch_size = _search_settings(
        pruner_name, fidelity, inner_validation, reduction_factor, batch_size, seed
    )
    return WalkForwardSetup(
        strategy_cls=cls,
        bars=bars,
        features=features,
        space=space,
        objectives=tuple(objectives),
        guardrails=rails,
        optimizer=opt,
        execution=setup,
        n_trials=n_trials,
        seed=int(seed),
        warm_start=_warm_starts(cls, space, warm_start),
        fidelity=fidelity,
        pruner=pruner_name,
        reduction_factor=rf,
        inner_validation=inner_validation,
        inner_top_k=inner_top_k,
        batch_size=batch_size,
        timeout=timeout,
        progress=progress,
        derived=derived_metrics(objectives, rails),
    )


@dataclass(frozen=True)
class StudyPlan:
    """The folds and the identity of their studies.

    Attributes:
        folds: the splitter's folds on the bars' index.
        index: the bars' (reference) index.
        config: everything that defines the trials (hashed into ``config_hash``).
        config_hash: 16 hex digits of the configuration's sha256.
        study_name: the base name; fold ``k``'s study is ``<study_name>.fold<k>``.
        url: the storage URL; ``run_path``: the folder of checkpoints and default storage.
        study_attrs: the user attributes every fold's study records (with its ``fold``): the
            configuration and its hash, strategy, optimizer, seed, data fingerprint, code version
            and ``code_identity`` (the strategy's source files and the library versions,
            :func:`research.optimize.identity.code_identity`, compared when a study reopens).
        problem: the search problem shared by every fold (a fold replaces its study fields).
        batch_size: candidates per batch (the given one or the optimizer's default).
        allow_changed_code: reopen a study made by other code anyway.
    """

    folds: tuple[Any, ...]
    index: pd.Index
    config: dict[str, Any]
    config_hash: str
    study_name: str
    url: str
    run_path: Path
    study_attrs: dict[str, Any]
    problem: Problem
    batch_size: int
    allow_changed_code: bool = False


def _search_settings(
    pruner: str | None,
    fidelity: str | None,
    inner_validation: float | None,
    reduction_factor: int,
    batch_size: int | None,
    seed: int,
) -> tuple[str | None, int, int | None]:
    """Check the fidelity, inner validation, reduction factor, batch size and seed (in this
    order); returns ``(fidelity, reduction_factor, batch_size)``, the fidelity ``fractions``
    by default under a pruner."""
    if fidelity not in FIDELITIES:
        raise ParameterError(f"`fidelity` must be None, 'fractions' or 'folds', got {fidelity!r}")
    if pruner is not None and fidelity is None:
        fidelity = "fractions"
    if inner_validation is not None and not (
        isinstance(inner_validation, int | float) and 0 < inner_validation < 1
    ):
        raise ParameterError(
            f"`inner_validation` must be a fraction in (0, 1), got {inner_validation!r}"
        )
    rf = _positive_int(reduction_factor, "reduction_factor")
    if rf < 2:
        raise ParameterError(f"`reduction_factor` must be >= 2, got {reduction_factor!r}")
    if batch_size is not None:
        batch_size = _positive_int(batch_size, "batch_size")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ParameterError(f"`seed` must be an int, got {seed!r}")
    return fidelity, rf, batch_size


def plan_studies(
    setup: WalkForwardSetup,
    splitter: Any,
    *,
    study_name: str | None,
    storage: str | None,
    run_dir: str | Path | None,
    allow_changed_code: bool = False,
) -> StudyPlan:
    """Split the bars into folds and name the studies after a hash of the configuration, so
    the same call resumes its studies and a different one never mixes with them."""
    index = bars_index(setup.bars)
    folds = list(splitter.split(index))
    _check_folds(folds)
    fp = data_fingerprint(setup.bars, setup.features)
    rails = setup.guardrails
    problem = Problem(
        setup.space, setup.objectives, ("params", *rails.names), warm_start=setup.warm_start
    )
    batch_size = setup.batch_size or setup.optimizer.default_batch_size(problem)
    config = _config(setup, splitter, folds, batch_size, fp)
    config_hash = hashlib.sha256(
        json.dumps(config, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    label, opt = setup.strategy_cls.label(), setup.optimizer.name
    if study_name is None:
        study_name = f"{slug(label)}-{opt}-s{setup.seed}-{config_hash[:10]}"
    elif not isinstance(study_name, str) or not study_name:
        raise ParameterError(f"`study_name` must be a non-empty string, got {study_name!r}")
    run_path = (
        Path(run_dir) if run_dir is not None else Path("runs") / "optimize" / slug(study_name)
    )
    url = storage if storage is not None else default_storage_url(run_path)
    if not isinstance(url, str):
        raise ParameterError(f"`storage` must be a database URL string or None, got {url!r}")
    return StudyPlan(
        folds=tuple(folds),
        index=index,
        config=config,
        config_hash=config_hash,
        study_name=study_name,
        url=url,
        run_path=run_path,
        study_attrs={
            "config_hash": config_hash,
            "config": config,
            "strategy": label,
            "optimizer": opt,
            "seed": setup.seed,
            "data_fingerprint": fp,
            "code_version": code_version_text(),
            "code_identity": code_identity(setup.strategy_cls),
        },
        problem=problem,
        batch_size=batch_size,
        allow_changed_code=bool(allow_changed_code),
    )


def _class_name(cls: Any) -> str:
    """``module.Class``; for a class from a user file, ``/path/file.py:Class`` (the module name
    the registry gives a file changes with its modification time; what the file holds is
    compared through :func:`research.optimize.identity.code_identity` instead)."""
    if cls.__module__.startswith("_user_strategy_"):
        try:
            return f"{Path(inspect.getfile(cls)).resolve()}:{cls.__qualname__}"
        except (TypeError, OSError):
            pass
    return f"{cls.__module__}.{cls.__qualname__}"


def _config(
    setup: WalkForwardSetup, splitter: Any, folds: Sequence[Any], batch_size: int, fp: str
) -> dict[str, Any]:
    """What defines the trials. Its keys and values are part of every study's name: change
    nothing here without meaning to start new studies. The name also decides results: Optuna's
    ``HyperbandPruner`` puts trial ``n`` in the bracket ``crc32(f"{study_name}_{n}")`` picks, so
    a renamed study prunes other trials. Settings added later therefore enter only when set away
    from their defaults (:func:`_costs_key`, :func:`_execution_extras`), which keeps the names
    (and the pruned runs' leaderboards) of configurations that do not use them."""
    cls, ex, opt = setup.strategy_cls, setup.execution, setup.optimizer
    return {
        **_execution_extras(ex),
        "strategy": cls.label(),
        "strategy_class": _class_name(cls),
        "space": {name: repr(p) for name, p in setup.space.params.items()},
        "constraints": list(cls.constraints),
        "optimizer": opt.name,
        "options": opt.options_key(),
        "objectives": [_objective_key(o) for o in setup.objectives],
        "guardrails": _guardrails_key(setup.guardrails),
        "costs": _costs_key(ex.costs),
        "execution": ex.fill,
        "direction": ex.direction,
        "init_cash": float(ex.init_cash),
        "periods_per_year": float(ex.periods_per_year),
        "seed": setup.seed,
        "splitter": repr(splitter),
        "folds": [[f.train.start, f.train.stop, f.test.start, f.test.stop] for f in folds],
        "fidelity": setup.fidelity,
        "pruner": setup.pruner,
        "reduction_factor": setup.reduction_factor,
        "inner_validation": setup.inner_validation,
        "inner_top_k": setup.inner_top_k,
        "batch_size": batch_size,
        "warm_start": to_jsonable(list(setup.warm_start)),
        "data_fingerprint": fp,
    }


#: the fields of Costs and Execution when study names were first derived; later fields enter the
#: configuration only when set away from their defaults
_COSTS_FIELDS = ("fees", "fixed_fees", "slippage_bps")
_EXECUTION_FIELDS = ("costs", "fill", "direction", "init_cash", "periods_per_year")


def _costs_key(costs: Costs) -> str:
    """``repr`` of the costs without the fields added after :data:`_COSTS_FIELDS` that hold
    their defaults: ``Costs(fees=0.0005, fixed_fees=0.0, slippage_bps=2.0)`` for plain costs,
    ``..., borrow_rate=0.02)`` with a borrow rate."""
    parts = [
        f"{f.name}={getattr(costs, f.name)!r}"
        for f in dataclasses.fields(costs)
        if f.name in _COSTS_FIELDS or getattr(costs, f.name) != f.default
    ]
    return f"Costs({', '.join(parts)})"


def _execution_extras(ex: Execution) -> dict[str, Any]:
    """The execution settings added after :data:`_EXECUTION_FIELDS` (leverage, margin, notional,
    whole units, participation) that are set away from their defaults."""
    return {
        f.name: getattr(ex, f.name)
        for f in dataclasses.fields(ex)
        if f.name not in _EXECUTION_FIELDS and getattr(ex, f.name) != f.default
    }


def _guardrails_key(rails: Guardrails) -> dict[str, Any]:
    """The guardrails in the configuration (``rules`` only when some are given, so studies made
    before rules existed keep their names)."""
    out = dataclasses.asdict(rails)
    if not out.get("rules"):
        out.pop("rules", None)
    else:
        out["rules"] = list(out["rules"])
    return out


def _objective_key(o: Objective) -> list[str]:
    """An objective in the configuration: ``[metric, direction]``, plus what computes a derived
    one (an expression's text, a callable's name) when it is not the metric's name."""
    if o.derived is None or o.derived.text == o.metric:
        return [o.metric, o.direction]
    return [o.metric, o.direction, o.derived.text]


def _resolve_execution(
    execution: str | Execution,
    costs: Any,
    direction: str | None,
    init_cash: float | None,
    periods_per_year: float | None,
) -> Execution:
    """One :class:`Execution` from an ``Execution`` or from the loose settings (defaults:
    ``Costs()``, ``both``, 100 000, 252)."""
    if isinstance(execution, Execution):
        loose = {"costs": costs, "direction": direction, "init_cash": init_cash}
        loose["periods_per_year"] = periods_per_year
        given = sorted(k for k, v in loose.items() if v is not None)
        if given:
            raise ParameterError(
                f"give the settings in `execution` (an Execution) or as {given}, not both"
            )
        costs = execution.costs
    costs = Costs() if costs is None else costs
    if not isinstance(costs, Costs):
        raise ParameterError(f"`costs` must be a backtest.Costs, got {type(costs).__name__}")
    if isinstance(execution, Execution):
        return execution
    return Execution(
        costs=costs,
        fill=execution,
        direction="both" if direction is None else direction,
        init_cash=100_000.0 if init_cash is None else float(init_cash),
        periods_per_year=252.0 if periods_per_year is None else float(periods_per_year),
    )


def _resolve_strategy(strategy: Any) -> Any:
    from strategies.base import Strategy

    if isinstance(strategy, str):
        from strategies.registry import get_strategy

        strategy = get_strategy(strategy)
    if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
        raise ParameterError(
            f"`strategy_cls` must be a Strategy subclass or a registry name, got {strategy!r}"
        )
    return strategy


def _resolve_optimizer(optimizer: Any, options: Mapping[str, Any] | None) -> Optimizer:
    from research.optimize import get_optimizer

    if isinstance(optimizer, Optimizer):
        if options:
            raise ParameterError("pass `optimizer_options` only with an optimizer name")
        optimizer.check_options()
        optimizer.check_available()
        return optimizer
    if not isinstance(optimizer, str):
        raise ParameterError(
            f"`optimizer` must be a registry name or an Optimizer, got {type(optimizer).__name__}"
        )
    return get_optimizer(optimizer, **dict(options or {}))


def _resolve_pruner(pruner: Any, objectives: Sequence[Objective]) -> str | None:
    if pruner is None:
        return None
    if pruner not in PRUNERS:
        raise ParameterError(f"`pruner` must be one of {sorted(PRUNERS)} or None, got {pruner!r}")
    if len(objectives) > 1:
        raise ParameterError(
            "pruning needs one objective; drop `pruner` for multi-objective search"
        )
    return PRUNERS[pruner]


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ParameterError(f"`{name}` must be an int >= 1, got {value!r}")
    return int(value)


def _check_bars(cls: Any, bars: Any) -> None:
    frames = bars.values() if isinstance(bars, Mapping) else [bars]
    if isinstance(bars, Mapping) != bool(cls.multi_asset):
        kind = "a dict of bars per symbol" if cls.multi_asset else "one DataFrame of bars"
        raise DataValidationError(f"{cls.label()} needs {kind}, got {type(bars).__name__}")
    for df in frames:
        if not isinstance(df, pd.DataFrame):
            raise DataValidationError(f"bars must be DataFrames, got {type(df).__name__}")
        missing = [c for c in ("open", "close") if c not in df.columns]
        if missing:
            raise DataValidationError(f"bars lack column(s) {missing}; columns: {list(df.columns)}")


def _check_features(features: Any, bars: Any) -> pd.DataFrame | None:
    if features is None:
        return None
    if not isinstance(features, pd.DataFrame):
        raise DataValidationError(f"`features` must be a DataFrame, got {type(features).__name__}")
    if not features.index.equals(bars_index(bars)):
        raise DataValidationError(
            f"`features` must be indexed like the bars ({len(bars_index(bars))} rows), got "
            f"{len(features)} rows with a different index"
        )
    return features


def _warm_starts(cls: Any, space: SearchSpace, warm: Any) -> tuple[dict[str, Any], ...]:
    if warm is None:
        return ()
    if isinstance(warm, Mapping):
        warm = [warm]
    out = []
    for i, params in enumerate(warm):
        if not isinstance(params, Mapping):
            raise ParameterError(f"`warm_start[{i}]` must be a dict of params, got {params!r}")
        try:
            cls(**dict(params))
        except ParameterError as exc:
            raise ParameterError(f"`warm_start[{i}]`: {exc}") from None
        out.append(space.complete(params))
    return tuple(out)


def _check_folds(folds: Sequence[Any]) -> None:
    if not folds:
        raise ParameterError("the splitter produced no folds")
    for prev, cur in zip(folds, folds[1:]):
        if cur.test.start < prev.test.stop:
            raise ParameterError(
                f"test windows of folds {prev.number} and {cur.number} overlap; stitched "
                "out-of-sample returns need `step` >= `test`"
            )


def slug(text: str) -> str:
    """``text`` made safe for a study or file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "study"
