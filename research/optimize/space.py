"""One declared space, two encodings: Optuna distributions and a DEAP genome.

A strategy declares its hyperparameters once (:mod:`strategies.params`). :class:`SearchSpace`
reads that declaration and gives every optimizer what it needs:

* **Optuna** (define-by-run): :meth:`SearchSpace.suggest` asks a trial for each parameter in
  dependency order and only while the parameter is *active* (its ``when`` condition holds), so
  samplers never see a conditional parameter that has no effect. Inactive parameters take their
  declared default in the returned full parameter set. :meth:`SearchSpace.distributions` maps
  ``Int -> IntDistribution``, ``Float -> FloatDistribution`` (``step``/``log`` kept) and
  ``Categorical -> CategoricalDistribution``.
* **DEAP**: one gene in ``[0, 1]`` per parameter (:meth:`SearchSpace.decode` /
  :meth:`SearchSpace.encode`). A gene is decoded per parameter: integers and categoricals split
  ``[0, 1]`` into equal-width bins (one per value, so every value is equally likely under a
  uniform gene), log-scale integers use bins equal-width in ``log`` space, floats map linearly
  (or in ``log`` space) and snap to their ``step``. Genes of inactive parameters are carried but
  ignored.
* **Constraints** (``"fast < slow"``) are not encoded in either form: a sampled point that breaks
  one is *infeasible* (:meth:`SearchSpace.violations`); the optimizers honour that through
  Optuna's trial constraints or a penalty (see :mod:`research.optimize.objectives`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from data_loaders.errors import ParameterError, did_you_mean
from strategies.params import Categorical, Float, Int, Param, constraint_violations

__all__ = ["SearchSpace"]


class SearchSpace:
    """The hyperparameter space of a strategy class, as every optimizer sees it.

    Args:
        strategy_cls: a :class:`strategies.Strategy` subclass (its ``space()`` and
            ``parsed_constraints()`` are read).
    """

    def __init__(self, strategy_cls: Any) -> None:
        self.strategy_cls = strategy_cls

    # --- declaration ------------------------------------------------------------------------
    @cached_property
    def params(self) -> dict[str, Param]:
        """Declared parameters, parents before the parameters whose ``when`` names them."""
        declared = self.strategy_cls.space()
        if not declared:
            raise ParameterError(
                f"{self.strategy_cls.label()} declares no hyperparameters; nothing to optimize"
            )
        order: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in order:
                return
            if name in visiting:
                raise ParameterError(
                    f"{self.strategy_cls.label()}: the `when` conditions of {name!r} form a cycle"
                )
            visiting.add(name)
            for parent in declared[name].when:
                if parent not in declared:
                    raise ParameterError(
                        f"{self.strategy_cls.label()}: `{name}` is conditional on unknown "
                        f"parameter {parent!r}"
                    )
                visit(parent)
            visiting.discard(name)
            order.append(name)

        for name in declared:
            visit(name)
        return {name: declared[name] for name in order}

    @property
    def names(self) -> list[str]:
        """Parameter names in suggestion (dependency) order."""
        return list(self.params)

    @property
    def is_conditional(self) -> bool:
        """Whether some parameter is active only under a condition."""
        return any(p.when for p in self.params.values())

    @cached_property
    def constraints(self) -> list:
        """The parsed cross-parameter constraints of the strategy."""
        return list(self.strategy_cls.parsed_constraints())

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its declared default."""
        return {name: p.default for name, p in self.params.items()}

    # --- parameter sets ---------------------------------------------------------------------
    def complete(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Full parameter set: defaults filled in, inactive parameters reset to their default.

        Raises:
            ParameterError: an unknown name or a value outside its declared range.
        """
        for key in params:
            if key not in self.params:
                raise ParameterError(
                    f"unknown parameter {key!r} for {self.strategy_cls.label()}"
                    f"{did_you_mean(key, self.params)}"
                )
        out = self.defaults()
        for key, value in params.items():
            out[key] = self.params[key].validate(value)
        for name, p in self.params.items():
            if not p.is_active(out):
                out[name] = p.default
        return {name: out[name] for name in self.strategy_cls.space()}

    def active(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The active subset of a full parameter set (what a sampler suggested)."""
        return {n: params[n] for n, p in self.params.items() if p.is_active(params) and n in params}

    def violations(self, params: Mapping[str, Any]) -> list[str]:
        """Messages of the constraints a full parameter set breaks (empty when feasible)."""
        return constraint_violations(self.constraints, params)

    def key(self, params: Mapping[str, Any]) -> tuple:
        """A hashable identity of a full parameter set (declaration order)."""
        return tuple((n, params[n]) for n in self.strategy_cls.space())

    # --- Optuna ------------------------------------------------------------------------------
    def distribution(self, name: str) -> Any:
        """The Optuna distribution of one parameter (one shared object per parameter)."""
        return self._distributions[name]

    @cached_property
    def _distributions(self) -> dict[str, Any]:
        return {name: self._make_distribution(name) for name in self.params}

    def _make_distribution(self, name: str) -> Any:
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        p = self.params[name]
        if isinstance(p, Int):
            return IntDistribution(p.low, p.high, log=p.log, step=1 if p.log else p.step)
        if isinstance(p, Float):
            return FloatDistribution(p.low, p.high, log=p.log, step=None if p.log else p.step)
        if isinstance(p, Categorical):
            return CategoricalDistribution(p.choices)
        raise ParameterError(f"parameter `{name}` has unsupported type {type(p).__name__}")

    def distributions(self) -> dict[str, Any]:
        """Optuna distributions of every parameter (conditional ones included)."""
        return dict(self._distributions)

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Suggest the active parameters on an Optuna trial; return the full parameter set."""
        values = self.defaults()
        for name, p in self.params.items():
            if not p.is_active(values):
                continue
            if isinstance(p, Int):
                step = 1 if p.log else p.step
                values[name] = trial.suggest_int(name, p.low, p.high, step=step, log=p.log)
            elif isinstance(p, Float):
                step = None if p.log else p.step
                values[name] = trial.suggest_float(name, p.low, p.high, step=step, log=p.log)
            else:
                values[name] = trial.suggest_categorical(name, list(p.choices))
        return {name: values[name] for name in self.strategy_cls.space()}

    def grid(self, points: int = 10) -> dict[str, list[Any]]:
        """Up to ``points`` values per parameter (every choice of a categorical), for grid search."""
        return {name: p.grid(points) for name, p in self.params.items()}

    # --- DEAP genome -------------------------------------------------------------------------
    @property
    def n_genes(self) -> int:
        """Genome length: one gene in ``[0, 1]`` per parameter (suggestion order)."""
        return len(self.params)

    def decode(self, genes: Sequence[float]) -> dict[str, Any]:
        """Full parameter set encoded by ``genes`` (``n_genes`` floats, clipped to ``[0, 1]``)."""
        if len(genes) != self.n_genes:
            raise ParameterError(f"a genome needs {self.n_genes} genes, got {len(genes)}")
        values = self.defaults()
        for (name, p), g in zip(self.params.items(), genes):
            if p.is_active(values):
                values[name] = _decode_gene(p, min(max(float(g), 0.0), 1.0))
        return {name: values[name] for name in self.strategy_cls.space()}

    def encode(self, params: Mapping[str, Any]) -> list[float]:
        """Genes in ``[0, 1]`` that decode to ``params`` (bin centres; inactive genes at 0.5)."""
        full = self.complete(params)
        return [
            _encode_value(p, full[name]) if p.is_active(full) else 0.5
            for name, p in self.params.items()
        ]


# --- per-parameter gene maps ----------------------------------------------------------------
def _n_values(p: Int | Float) -> int:
    return int(round((p.high - p.low) / p.step)) + 1


def _decode_gene(p: Param, g: float) -> Any:
    if isinstance(p, Categorical):
        return p.choices[min(int(g * len(p.choices)), len(p.choices) - 1)]
    if isinstance(p, Int):
        if p.log:
            lo, hi = math.log(p.low - 0.5), math.log(p.high + 0.5)
            return int(min(max(round(math.exp(lo + g * (hi - lo))), p.low), p.high))
        k = min(int(g * _n_values(p)), _n_values(p) - 1)
        return int(p.low + k * p.step)
    if isinstance(p, Float):
        if p.log:
            lo, hi = math.log(p.low), math.log(p.high)
            return float(min(max(math.exp(lo + g * (hi - lo)), p.low), p.high))
        if p.step:
            k = min(int(g * _n_values(p)), _n_values(p) - 1)
            return float(min(p.low + k * p.step, p.high))
        return float(p.low + g * (p.high - p.low))
    raise ParameterError(f"parameter `{p.name}` has unsupported type {type(p).__name__}")


def _encode_value(p: Param, value: Any) -> float:
    if isinstance(p, Categorical):
        return (p.choices.index(value) + 0.5) / len(p.choices)
    if isinstance(p, Int) and p.log:
        lo, hi = math.log(p.low - 0.5), math.log(p.high + 0.5)
        return (math.log(value) - lo) / (hi - lo)
    if isinstance(p, Float) and p.log:
        return (math.log(value) - math.log(p.low)) / (math.log(p.high) - math.log(p.low))
    if isinstance(p, Int | Float) and p.step:
        k = round((value - p.low) / p.step)
        return (k + 0.5) / _n_values(p)
    return (value - p.low) / (p.high - p.low)
