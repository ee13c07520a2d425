"""Which hyperparameters matter? Regression and fANOVA importance, and a narrower next search.

* :func:`regress_metric_on_params` regresses the out-of-sample metric of each trial on its
  hyperparameters with statsmodels OLS and heteroskedasticity-robust (HC3 by default) standard
  errors: numeric parameters standardised (z-scores, so coefficients compare: the change in the
  metric per standard deviation of the parameter), categoricals one-hot encoded (first level
  dropped, jointly Wald-tested), optional square terms and pairwise interactions. Parameters
  whose main effect has ``p < alpha`` are reported as significant.
* :func:`fanova_importance` is Optuna's fANOVA importance of a study (random-forest variance
  decomposition, normalised to sum to 1).
* :func:`hyperparameter_importance` puts both side by side.
* :func:`suggest_narrowed_space` narrows each parameter to the range of the best trials, for the
  next run.

Trials come as a DataFrame with one row per trial, parameter columns ``params_<name>`` (Optuna's
``study.trials_dataframe()``) or plain ``<name>``, a metric column (``value`` by default) and
optionally ``state`` (only ``COMPLETE`` trials are used).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data_loaders.errors import DataTooShortError, DataValidationError, ParameterError
from research.overfitting.stability import resolve_space, step_info, trial_params
from strategies.params import Categorical, Float, Int, Param

__all__ = [
    "RegressionImportance",
    "ImportanceReport",
    "regress_metric_on_params",
    "fanova_importance",
    "hyperparameter_importance",
    "suggest_narrowed_space",
]


@dataclass
class RegressionImportance:
    """Outcome of :func:`regress_metric_on_params`.

    Attributes:
        terms: one row per regression term (``const``, ``<param>``, ``<param>=<level>``,
            ``<a>:<b>``): ``coef``, ``std_err``, ``t``, ``p_value``, ``significant``.
        params: one row per parameter: ``effect`` (coefficient of a numeric parameter per
            standard deviation; for a categorical the largest absolute level coefficient),
            ``p_value`` (the term's, or the joint Wald test of a categorical's levels),
            ``significant``, ``kind``.
        significant: names of the significant parameters, most significant first.
        r_squared: R^2 of the fit.
        n_trials: number of trials used.
        cov_type: covariance estimator of the standard errors.
        notes: data handling remarks (constant parameters dropped, inactive values filled).
        model: the statsmodels results object.
    """

    terms: pd.DataFrame
    params: pd.DataFrame
    significant: list[str]
    r_squared: float
    n_trials: int
    cov_type: str
    notes: list[str] = field(default_factory=list)
    model: Any = None


@dataclass
class ImportanceReport:
    """Outcome of :func:`hyperparameter_importance`.

    Attributes:
        table: one row per parameter: ``ols_effect``, ``ols_p_value``, ``significant``,
            ``fanova`` (NaN when no study was given), sorted by ``ols_p_value``.
        significant: significant parameters by the regression.
        regression: the :class:`RegressionImportance`.
        fanova: fANOVA importances (or ``None``).
    """

    table: pd.DataFrame
    significant: list[str]
    regression: RegressionImportance
    fanova: pd.Series | None


def _param_names(trials: pd.DataFrame, params: Sequence[str] | None, metric: str) -> list[str]:
    if params is not None:
        return list(params)
    prefixed = [c[len("params_") :] for c in trials.columns if str(c).startswith("params_")]
    if prefixed:
        return prefixed
    skip = {metric, "state", "number", "datetime_start", "datetime_complete", "duration"}
    return [c for c in trials.columns if c not in skip and not str(c).startswith("user_attrs_")]


def _is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def regress_metric_on_params(
    trials: pd.DataFrame,
    params: Sequence[str] | None = None,
    metric: str = "value",
    *,
    interactions: bool = False,
    quadratic: bool = False,
    cov_type: str = "HC3",
    alpha: float = 0.05,
) -> RegressionImportance:
    """OLS of the metric on the hyperparameters across trials, with robust standard errors.

    Args:
        trials: trials DataFrame (see module docstring).
        params: parameter names (default: every ``params_*`` column, else every other column).
        metric: metric column (e.g. the out-of-sample Sharpe ratio of each trial).
        interactions: add every pairwise product of terms of different parameters.
        quadratic: add the square of each standardised numeric parameter (an optimum inside the
            range shows as a negative square term); the parameter's p-value is then the joint
            Wald test of its linear and square terms.
        cov_type: statsmodels robust covariance (``HC0``..``HC3``) or ``nonrobust``.
        alpha: significance level of the main effects.

    Inactive conditional parameters (missing values) are filled with the mean (0 after
    standardisation) for numeric parameters and a level ``"<inactive>"`` for categoricals;
    constant parameters are dropped (both noted in ``notes``).
    """
    if cov_type not in ("HC0", "HC1", "HC2", "HC3", "nonrobust"):
        raise ParameterError(
            f"`cov_type` must be HC0, HC1, HC2, HC3 or nonrobust, got {cov_type!r}"
        )
    if not 0.0 < alpha < 1.0:
        raise ParameterError(f"`alpha` must be in (0, 1), got alpha={alpha}")
    names = _param_names(trials, params, metric)
    if not names:
        raise DataValidationError("the trials have no parameter columns to regress on")
    frame = trial_params(trials, names, metric)
    notes: list[str] = []
    columns, owner, kinds, main_terms = _design_columns(
        frame, names, interactions, quadratic, notes
    )
    design = pd.DataFrame(columns, index=frame.index)
    res, exog = _fit_ols(frame["value"].to_numpy(dtype=float), design, cov_type, notes)
    terms = pd.DataFrame(
        {
            "coef": res.params,
            "std_err": res.bse,
            "t": res.tvalues,
            "p_value": res.pvalues,
        }
    )
    terms["significant"] = terms["p_value"] < alpha
    terms.index.name = "term"
    rows = _param_effects(res, exog, kinds, owner, main_terms)
    table = pd.DataFrame(rows).set_index("param").sort_values("p_value")
    table["significant"] = table["p_value"] < alpha
    return RegressionImportance(
        terms=terms,
        params=table,
        significant=list(table.index[table["significant"]]),
        r_squared=float(res.rsquared),
        n_trials=int(design.shape[0]),
        cov_type=cov_type,
        notes=notes,
        model=res,
    )


def _fit_ols(
    y: np.ndarray, design: pd.DataFrame, cov_type: str, notes: list[str]
) -> tuple[Any, pd.DataFrame]:
    """The OLS fit of ``y`` on ``design`` plus a constant, and that matrix; a rank-deficient
    design is said in ``notes``.

    Raises:
        DataTooShortError: no more trials than coefficients plus one.
    """
    # the two pieces of statsmodels used (``statsmodels.api`` imports all of it: ~0.3 s more)
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    n_obs, n_terms = design.shape
    if n_obs <= n_terms + 1:
        raise DataTooShortError(
            f"the regression has {n_terms + 1} coefficients and needs more trials than that, "
            f"got {n_obs} completed trials"
        )
    exog = add_constant(design, has_constant="add")
    rank = int(np.linalg.matrix_rank(exog.to_numpy(dtype=float)))
    if rank < exog.shape[1]:
        notes.append(
            f"design matrix is rank-deficient (rank {rank} of {exog.shape[1]} terms: some "
            "parameters move together across the trials), so their separate effects are not "
            "identified; sample more varied trials to separate them"
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*rank-deficient.*")  # said in `notes`
        return OLS(y, exog).fit(cov_type=cov_type), exog


def _design_columns(
    frame: pd.DataFrame, names: Sequence[str], interactions: bool, quadratic: bool, notes: list
) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, str], list[str]]:
    """``(columns, term -> parameter, parameter -> kind, main-effect terms)`` of the design:
    numeric parameters standardised (inactive = mean), categoricals one-hot (first level
    dropped), optional pairwise interactions and squares; remarks appended to ``notes``."""
    columns: dict[str, np.ndarray] = {}
    owner: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for n in names:
        col = frame[n]
        if _is_categorical(col):
            levels = col.astype(object).where(col.notna(), "<inactive>").astype(str)
            if col.isna().any():
                notes.append(f"{n}: inactive trials coded as level '<inactive>'")
            dummies = pd.get_dummies(levels, prefix=n, prefix_sep="=", drop_first=True, dtype=float)
            if dummies.shape[1] == 0:
                notes.append(f"{n}: constant, dropped")
                continue
            kinds[n] = "categorical"
            for d in dummies.columns:
                columns[d] = dummies[d].to_numpy()
                owner[d] = n
        else:
            x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            missing = ~np.isfinite(x)
            if missing.all() or np.nanstd(x) == 0.0:
                notes.append(f"{n}: constant, dropped")
                continue
            z = (x - np.nanmean(x)) / np.nanstd(x)
            if missing.any():
                z[missing] = 0.0
                notes.append(f"{n}: {int(missing.sum())} inactive trials filled with the mean")
            kinds[n] = "numeric"
            columns[n] = z
            owner[n] = n
    if not columns:
        raise DataValidationError("every parameter is constant across the trials: nothing to fit")
    base_terms = list(columns)
    if interactions:
        for a, b in itertools.combinations(base_terms, 2):
            if owner[a] != owner[b]:
                columns[f"{a}:{b}"] = columns[a] * columns[b]
                owner[f"{a}:{b}"] = f"{owner[a]}:{owner[b]}"
    main_terms = list(base_terms)
    if quadratic:
        for n, kind in kinds.items():
            if kind == "numeric":
                columns[f"{n}^2"] = columns[n] ** 2
                owner[f"{n}^2"] = n
                main_terms.append(f"{n}^2")
    return columns, owner, kinds, main_terms


def _param_effects(
    res: Any,
    exog: pd.DataFrame,
    kinds: Mapping[str, str],
    owner: Mapping[str, str],
    main_terms: list[str],
) -> list[dict[str, Any]]:
    """One row per parameter: its effect and p-value (joint Wald test over several terms)."""
    rows = []
    for n, kind in kinds.items():
        own = [t for t in main_terms if owner[t] == n]
        if kind == "numeric":
            effect = float(res.params[n])
        else:
            effect = float(res.params[own].abs().max())
        if len(own) == 1:
            p_value = float(res.pvalues[own[0]])
        else:
            restriction = np.zeros((len(own), exog.shape[1]))
            for i, t in enumerate(own):
                restriction[i, exog.columns.get_loc(t)] = 1.0
            p_value = float(res.f_test(restriction).pvalue)
        rows.append({"param": n, "kind": kind, "effect": effect, "p_value": p_value})
    return rows


def fanova_importance(
    study: Any,
    params: Sequence[str] | None = None,
    *,
    target: Callable[[Any], float] | None = None,
    seed: int = 0,
    n_trees: int = 64,
) -> pd.Series:
    """Optuna's fANOVA importance of a study's parameters (normalised to sum to 1).

    Args:
        study: an ``optuna.Study`` with completed trials.
        params: parameters to assess (default: those present in every completed trial).
        target: value to explain for multi-objective studies (``lambda t: t.values[0]``).
        seed, n_trees: random-forest settings of ``optuna.importance.FanovaImportanceEvaluator``.
    """
    import optuna

    if not isinstance(study, optuna.Study):
        raise ParameterError(f"`study` must be an optuna.Study, got {type(study).__name__}")
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        raise DataTooShortError(
            f"fANOVA needs at least 2 completed trials, got {len(complete)} in study "
            f"{study.study_name!r}"
        )
    evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=n_trees, seed=seed)
    values = optuna.importance.get_param_importances(
        study,
        evaluator=evaluator,
        params=None if params is None else list(params),
        target=target,
        normalize=True,
    )
    return pd.Series(values, name="fanova", dtype=float).sort_values(ascending=False)


def hyperparameter_importance(
    trials: pd.DataFrame | None = None,
    *,
    study: Any = None,
    params: Sequence[str] | None = None,
    seed: int = 0,
    **regression: Any,
) -> ImportanceReport:
    """Regression importance beside fANOVA importance.

    Args:
        trials: trials DataFrame; default ``study.trials_dataframe()``.
        study: optional Optuna study for the fANOVA column.
        params: parameter names of both (see :func:`regress_metric_on_params`).
        seed: fANOVA seed.
        regression: the other keyword arguments of :func:`regress_metric_on_params`
            (``metric``, ``interactions``, ``quadratic``, ``cov_type``, ``alpha``).
    """
    if trials is None:
        if study is None:
            raise ParameterError("give `trials` (a DataFrame) or `study` (an optuna.Study)")
        trials = study.trials_dataframe()
    reg = regress_metric_on_params(trials, params, **regression)
    fan = fanova_importance(study, params, seed=seed) if study is not None else None
    table = reg.params.rename(columns={"effect": "ols_effect", "p_value": "ols_p_value"})
    table["fanova"] = (
        [float(fan.get(p, math.nan)) for p in table.index] if fan is not None else math.nan
    )
    return ImportanceReport(table=table, significant=reg.significant, regression=reg, fanova=fan)


def suggest_narrowed_space(
    trials: pd.DataFrame,
    space: Any,
    top_quantile: float = 0.2,
    *,
    metric: str = "value",
    maximize: bool = True,
    pad_steps: int = 1,
    float_steps: int = 20,
) -> dict[str, Param]:
    """A narrower search space from the best trials, for the next run.

    The best ``ceil(top_quantile * n)`` completed trials (by ``metric``; highest first when
    ``maximize``) define each parameter's new range: numeric parameters get
    ``[min, max]`` of those trials widened by ``pad_steps`` steps on each side (steps as in
    :mod:`research._stability`; multiplicative on a log scale), snapped to the declared step and
    clipped to the declared bounds; categoricals keep the choices the best trials used (in the
    declared order). Types, steps, log scales and conditions are kept; the new default is the
    best trial's value. Parameters never set in the best trials keep their declaration.

    Args:
        trials: trials DataFrame (see module docstring).
        space: ``{name: Param}`` or a ``Strategy`` subclass.
        top_quantile: share of trials considered "best", in ``(0, 1]``.

    Returns:
        ``{name: Int | Float | Categorical}``.
    """
    if not 0.0 < top_quantile <= 1.0:
        raise ParameterError(f"`top_quantile` must be in (0, 1], got {top_quantile}")
    if pad_steps < 0:
        raise ParameterError(f"`pad_steps` must be >= 0, got {pad_steps}")
    space_, _ = resolve_space(space)
    frame = trial_params(trials, list(space_), metric)
    if frame.empty:
        raise DataTooShortError("no completed trial with a finite metric to narrow the space from")
    ordered = frame.sort_values("value", ascending=not maximize, kind="stable")
    top = ordered.head(max(1, math.ceil(top_quantile * len(ordered))))
    out: dict[str, Param] = {}
    for name, p in space_.items():
        values = top[name].dropna()
        if values.empty:
            out[name] = p
            continue
        best = values.iloc[0]
        if isinstance(p, Categorical):
            used = [c for c in p.choices if any(_same(c, v) for v in values)]
            default = next(c for c in p.choices if _same(c, best))
            out[name] = Categorical(used or list(p.choices), default=default, when=p.when)
        else:
            out[name] = _narrow_numeric(
                p, values.astype(float), float(best), pad_steps, float_steps
            )
    return out


def _same(choice: Any, value: Any) -> bool:
    return choice == value or str(choice) == str(value)


def _narrow_numeric(p: Param, values: pd.Series, best: float, pad: int, float_steps: int) -> Param:
    kind, step = step_info(p, float_steps)
    lo, hi = float(values.min()), float(values.max())
    if kind == "log":
        lo, hi = lo * math.exp(-pad * step), hi * math.exp(pad * step)
    else:
        lo, hi = lo - pad * step, hi + pad * step
    lo, hi = max(lo, p.low), min(hi, p.high)
    if p.kind == "int" or p.step:
        lattice = p.step if p.step else 1
        lo = p.low + math.floor((lo - p.low) / lattice + 1e-9) * lattice
        hi = p.low + math.ceil((hi - p.low) / lattice - 1e-9) * lattice
        hi = min(hi, p.high)
        if hi <= lo:  # a single lattice point: widen by one step inside the bounds
            if lo + lattice <= p.high:
                hi = lo + lattice
            else:
                lo = hi - lattice
    elif hi <= lo:
        width = (p.high - p.low) / float_steps
        lo, hi = max(p.low, lo - width), min(p.high, hi + width)
    best = min(max(best, lo), hi)
    if isinstance(p, Int):
        return Int(
            int(round(lo)), int(round(hi)), step=p.step, log=p.log, default=int(best), when=p.when
        )
    return Float(lo, hi, step=p.step, log=p.log, default=best, when=p.when)
