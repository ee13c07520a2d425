"""Sharpe-ratio statistics: moments, the probabilistic and deflated Sharpe ratios, the expected
maximum Sharpe ratio of N trials, minimum track record and backtest lengths.

Sharpe ratios are **per period** (not annualised), zero risk-free rate, ``ddof=1``; kurtosis is
**raw** (normal = 3); closed forms of Bailey & Lopez de Prado (2012, 2014) and Bailey, Borwein,
Lopez de Prado & Zhu (2014).
"""

from __future__ import annotations

import math
from typing import Any

from scipy import optimize, stats

from data_loaders.errors import DataTooShortError, ParameterError
from research.overfitting._inputs import as_returns_1d

__all__ = [
    "EULER_GAMMA",
    "sharpe_per_period",
    "return_moments",
    "probabilistic_sharpe_ratio",
    "expected_max_sharpe",
    "deflated_sharpe_ratio",
    "required_sharpe",
    "minimum_track_record_length",
    "minimum_backtest_length",
]

#: Euler-Mascheroni constant, used by the expected maximum of N normal draws.
EULER_GAMMA = 0.5772156649015329


def sharpe_per_period(returns: Any) -> float:
    """Per-period Sharpe ratio ``mean / std(ddof=1)`` of simple returns, risk-free rate 0.

    A zero standard deviation gives 0.0 for a zero mean and ``+-inf`` otherwise. Not annualised.
    """
    arr = as_returns_1d(returns)
    if arr.size < 2:
        raise DataTooShortError(f"a Sharpe ratio needs at least 2 returns, got {arr.size}")
    mu, sd = arr.mean(), arr.std(ddof=1)
    if sd == 0.0:
        return 0.0 if mu == 0.0 else math.copysign(math.inf, mu)
    return float(mu / sd)


def return_moments(returns: Any) -> dict[str, float]:
    """Per-period Sharpe ratio, skewness, raw kurtosis and count of a returns series.

    Returns:
        ``{"sharpe", "skew", "kurtosis", "n_obs"}``: Sharpe per period (``ddof=1``), biased
        (population) skewness and raw kurtosis (normal = 3); a constant series gets skew 0 and
        kurtosis 3 (the moments are undefined; these values leave the PSR formula unchanged).
    """
    arr = as_returns_1d(returns)
    sharpe = sharpe_per_period(arr)
    if arr.std() == 0.0:
        skew, kurt = 0.0, 3.0
    else:
        skew = float(stats.skew(arr, bias=True))
        kurt = float(stats.kurtosis(arr, fisher=False, bias=True))
    return {"sharpe": sharpe, "skew": skew, "kurtosis": kurt, "n_obs": int(arr.size)}


def _sharpe_std_factor(sharpe: float, skew: float, kurtosis: float) -> float:
    """``1 - skew*SR + (kurt-1)/4 * SR^2``, the variance factor of the Sharpe estimator."""
    factor = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not factor > 0.0:
        raise ParameterError(
            "`1 - skew*sharpe + (kurtosis-1)/4*sharpe^2` must be > 0, got "
            f"{factor:.6g} for sharpe={sharpe}, skew={skew}, kurtosis={kurtosis} "
            "(sample moments always satisfy kurtosis >= skew^2 + 1; is kurtosis raw, normal = 3?)"
        )
    return factor


def probabilistic_sharpe_ratio(
    sharpe: float,
    n_obs: int,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    sharpe_benchmark: float = 0.0,
) -> float:
    """Probability that the true Sharpe ratio exceeds ``sharpe_benchmark`` (Bailey & LdP 2012).

    ``PSR = Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - skew*SR + (kurt - 1)/4 * SR^2))``.

    Args:
        sharpe: observed Sharpe ratio **per period** (not annualised).
        n_obs: number of returns it was measured on (``>= 2``).
        skew: skewness of those returns.
        kurtosis: **raw** kurtosis of those returns (normal = 3).
        sharpe_benchmark: the benchmark ``SR*``, per period.

    Returns:
        PSR in ``[0, 1]``.
    """
    if n_obs < 2:
        raise DataTooShortError(f"`n_obs` must be >= 2 for a PSR, got n_obs={n_obs}")
    factor = _sharpe_std_factor(sharpe, skew, kurtosis)
    z = (sharpe - sharpe_benchmark) * math.sqrt(n_obs - 1.0) / math.sqrt(factor)
    return float(stats.norm.cdf(z))


def expected_max_sharpe(n_trials: float, trials_sharpe_variance: float) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` independent zero-skill trials (BLdP 2014).

    ``E[max SR] ~ sqrt(V) * ((1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e)))`` with ``g`` the
    Euler-Mascheroni constant and ``V`` the variance of the trials' Sharpe ratios (mean 0 assumed).
    The result is in the units of ``sqrt(V)``: per-period variance gives a per-period Sharpe.
    One trial (``N = 1``) involves no selection and gives 0.

    Args:
        n_trials: number of (effectively independent) trials, ``>= 1``; may be fractional.
        trials_sharpe_variance: variance across trials of their Sharpe ratios, ``>= 0``.
    """
    if not n_trials >= 1:
        raise ParameterError(f"`n_trials` must be >= 1, got n_trials={n_trials}")
    if not trials_sharpe_variance >= 0:
        raise ParameterError(f"`trials_sharpe_variance` must be >= 0, got {trials_sharpe_variance}")
    if n_trials == 1 or trials_sharpe_variance == 0:
        return 0.0
    z = (1.0 - EULER_GAMMA) * stats.norm.ppf(1.0 - 1.0 / n_trials) + EULER_GAMMA * stats.norm.ppf(
        1.0 - 1.0 / (n_trials * math.e)
    )
    return float(math.sqrt(trials_sharpe_variance) * z)


def deflated_sharpe_ratio(
    sharpe: float,
    n_obs: int,
    n_trials: float,
    trials_sharpe_variance: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """Deflated Sharpe ratio (Bailey & Lopez de Prado 2014): PSR against the luck benchmark.

    ``DSR = PSR(SR* = expected_max_sharpe(N, V))``: the probability that the selected strategy's
    true Sharpe ratio beats the best that ``N`` zero-skill trials would show by chance.

    Args:
        sharpe: the selected strategy's Sharpe ratio, **per period**.
        n_obs: number of returns behind ``sharpe``.
        n_trials: number of trials of the search (raw or effective count), ``>= 1``.
        trials_sharpe_variance: variance of the trials' Sharpe ratios, **per period squared**.
        skew, kurtosis: skewness and **raw** kurtosis of the selected strategy's returns.

    Example (the paper's numerical example, 250 periods a year): annual SR 2.5 over 5 years of
    daily returns (``n_obs=1250``), ``N=100`` trials with annualised variance 1/2, skew -3,
    kurtosis 10 -> ``deflated_sharpe_ratio(2.5/sqrt(250), 1250, 100, 0.5/250, -3, 10) ~ 0.9004``.
    """
    benchmark = expected_max_sharpe(n_trials, trials_sharpe_variance)
    return probabilistic_sharpe_ratio(sharpe, n_obs, skew, kurtosis, benchmark)


def required_sharpe(
    min_dsr: float,
    n_obs: int,
    n_trials: float,
    trials_sharpe_variance: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """Smallest per-period Sharpe ratio ``SR`` with ``DSR(SR) >= min_dsr`` (the DSR inverted).

    Solves ``(SR - SR*) sqrt(n - 1) / sqrt(1 - skew SR + (kurt - 1)/4 SR^2) = Phi^-1(min_dsr)``
    for ``SR`` above the luck benchmark ``SR* = expected_max_sharpe(N, V)`` (the DSR rises with
    ``SR`` there). Returns ``inf`` when no Sharpe ratio reaches it (heavy negative skew).
    Same conventions as :func:`deflated_sharpe_ratio` (per-period Sharpe and variance, raw
    kurtosis). Used to say what would have passed the ``min_dsr`` gate.
    """
    if not 0.0 < min_dsr < 1.0:
        raise ParameterError(f"`min_dsr` must be in (0, 1), got {min_dsr}")
    if n_obs < 2:
        raise ParameterError(f"`n_obs` must be >= 2, got {n_obs}")
    bench = expected_max_sharpe(n_trials, trials_sharpe_variance)

    def gap(sr: float) -> float:
        try:
            return (
                deflated_sharpe_ratio(sr, n_obs, n_trials, trials_sharpe_variance, skew, kurtosis)
                - min_dsr
            )
        except ParameterError:  # the variance factor turns non-positive: out of range
            return math.nan

    z = stats.norm.ppf(min_dsr)
    lo = bench - abs(z) * 2.0 / math.sqrt(n_obs - 1.0) - 1e-12
    hi = bench + abs(z) * 2.0 / math.sqrt(n_obs - 1.0) + 1e-3
    for _ in range(60):
        g = gap(hi)
        if math.isnan(g):
            return math.inf
        if g >= 0:
            break
        hi = bench + 2.0 * (hi - bench)
    else:
        return math.inf
    while not gap(lo) < 0:
        lo = bench - 2.0 * (bench - lo) - 1e-6
    return float(optimize.brentq(gap, lo, hi, xtol=1e-12))


def minimum_track_record_length(
    sharpe: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    sharpe_benchmark: float = 0.0,
    confidence: float = 0.95,
) -> float:
    """Minimum number of observations for ``PSR(sharpe_benchmark) >= confidence`` (BLdP 2012).

    ``MinTRL = 1 + (1 - skew*SR + (kurt - 1)/4 * SR^2) * (Phi^-1(confidence) / (SR - SR*))^2``,
    in observations of the returns' own frequency (per-period Sharpe ratios, raw kurtosis).
    Returns ``inf`` when ``sharpe <= sharpe_benchmark``: no track record is long enough.
    """
    if not 0.0 < confidence < 1.0:
        raise ParameterError(f"`confidence` must be in (0, 1), got confidence={confidence}")
    factor = _sharpe_std_factor(sharpe, skew, kurtosis)
    if sharpe <= sharpe_benchmark:
        return math.inf
    z = stats.norm.ppf(confidence)
    return float(1.0 + factor * (z / (sharpe - sharpe_benchmark)) ** 2)


def minimum_backtest_length(
    n_trials: float, target_sharpe_annual: float = 1.0, *, upper_bound: bool = False
) -> float:
    """Minimum backtest length in **years** (Bailey, Borwein, Lopez de Prado & Zhu 2014).

    With ``N`` independent trials of zero true skill, the expected maximum in-sample annualised
    Sharpe ratio after ``y`` years is ``E[max] ~ y^-1/2 ((1-g) Phi^-1(1-1/N) + g Phi^-1(1-1/(Ne)))``.
    MinBTL is the ``y`` at which that expected maximum equals ``target_sharpe_annual``::

        MinBTL ~ (((1-g) Phi^-1(1-1/N) + g Phi^-1(1-1/(Ne))) / E[max_N])^2  <  2 ln N / E[max_N]^2

    A shorter backtest lets ``N`` trials reach the target annual Sharpe by luck alone. E.g. with
    5 years of data no more than 45 independent configurations should be tried for a target of 1.

    Args:
        n_trials: number of independent trials ``N >= 1`` (1 gives 0 years).
        target_sharpe_annual: the annualised in-sample Sharpe ratio ``E[max_N]`` not to be
            reached by luck, ``> 0``.
        upper_bound: return the paper's bound ``2 ln N / E[max_N]^2`` instead.
    """
    if not n_trials >= 1:
        raise ParameterError(f"`n_trials` must be >= 1, got n_trials={n_trials}")
    if not target_sharpe_annual > 0:
        raise ParameterError(
            f"`target_sharpe_annual` must be > 0, got target_sharpe_annual={target_sharpe_annual}"
        )
    if n_trials == 1:
        return 0.0
    if upper_bound:
        return float(2.0 * math.log(n_trials) / target_sharpe_annual**2)
    return float((expected_max_sharpe(n_trials, 1.0) / target_sharpe_annual) ** 2)
