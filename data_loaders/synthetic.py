"""Seeded synthetic bars: GBM with Markov regime switches and realistic OHLC, for tests and scale.

Model (per bar ``t``, ``dt`` = bar length in years: calendar time / 365.25, or 1/252 for
business-day bars)

* **Regimes.** A Markov chain over :class:`Regime` s; regime ``i`` lasts on average
  ``mean_duration`` bars (stay probability ``1 - 1/mean_duration``) and then switches to one of
  the others uniformly. The first regime is drawn in proportion to the mean durations.
* **Close.** ``log C_t = log C_{t-1} + (mu - sigma**2 / 2) dt + sigma sqrt(dt) z_t`` with the
  current regime's annualised drift ``mu`` and volatility ``sigma``; ``z`` standard normal
  (correlated across symbols in :func:`synthetic_universe`).
* **Open** near the previous close: ``log O_t = log C_{t-1} + g_t``, ``g_t ~ N(0, (gap_scale *
  sigma sqrt(dt))**2)``.
* **High/low** from the exact law of a Brownian bridge's maximum and minimum between open and
  close with the bar's variance, so ``high >= max(open, close)`` and ``low <= min(open, close)``
  hold by construction.
* **Volume** log-normal around ``base_volume``, higher in volatile regimes and on large moves.

Everything is vectorised (numpy) except the regime chain (a numba kernel); one million minute
bars build in well under a second on a laptop (see ``benchmarks/bench_loaders.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import sqrt as math_sqrt

import numpy as np
import pandas as pd
from pandas.tseries import offsets

from data_loaders._calendar import frequency_string, infer_frequency
from data_loaders._dates import read_offset
from data_loaders._kernels import bridge_extremes
from data_loaders._nb import markov_states
from data_loaders.errors import ParameterError

__all__ = [
    "Regime",
    "DEFAULT_REGIMES",
    "synthetic_bars",
    "synthetic_universe",
    "cointegrated_pair",
    "shaped_bars",
]

_YEAR_NS = 365.25 * 86_400 * 1e9


@dataclass(frozen=True)
class Regime:
    """A market regime: annualised drift and volatility, and mean duration.

    ``mean_duration`` is a number of bars (int) or a time span (``"60D"``) converted to bars
    with the bar frequency.
    """

    name: str
    drift: float
    volatility: float
    mean_duration: int | str


#: bull / bear / calm regimes with durations in calendar time (so any frequency looks alike)
DEFAULT_REGIMES: tuple[Regime, ...] = (
    Regime("bull", drift=0.15, volatility=0.14, mean_duration="120D"),
    Regime("bear", drift=-0.30, volatility=0.32, mean_duration="40D"),
    Regime("calm", drift=0.03, volatility=0.08, mean_duration="80D"),
)


def _index(n_bars: int, freq: str, start: object) -> tuple[pd.DatetimeIndex, float]:
    """UTC index and bar length in years."""
    if not isinstance(n_bars, int | np.integer) or isinstance(n_bars, bool) or n_bars < 1:
        raise ParameterError(f"`n_bars` must be a positive integer, got {n_bars!r}")
    off = read_offset(freq, key="freq")
    try:
        ts = pd.Timestamp(start)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"`start`: cannot read {start!r} as a date ({exc})") from None
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    index = pd.date_range(ts, periods=int(n_bars), freq=off, name="time").as_unit("ns")
    if isinstance(off, offsets.BusinessDay):
        dt = off.n / 252.0
    elif isinstance(off, offsets.Tick | offsets.Day):
        dt = pd.Timedelta(off).value / _YEAR_NS
    else:
        step = infer_frequency(index) if n_bars > 1 else pd.Timedelta(days=30)
        dt = step.value / _YEAR_NS
    return index, dt


def _regime_path(
    n: int, regimes: Sequence[Regime], bar_ns: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regime index per bar, and the annualised drift and volatility per bar."""
    if not regimes:
        raise ParameterError("`regimes` must hold at least one Regime")
    k = len(regimes)
    durations = np.empty(k)
    for i, r in enumerate(regimes):
        if not isinstance(r, Regime):
            raise ParameterError(f"`regimes[{i}]` must be a Regime, got {type(r).__name__}")
        if r.volatility < 0:
            raise ParameterError(f"`regimes[{i}].volatility` must be >= 0, got {r.volatility}")
        d = r.mean_duration
        bars = pd.Timedelta(d).value / bar_ns if isinstance(d, str) else float(d)
        if not bars >= 1:
            raise ParameterError(
                f"`regimes[{i}].mean_duration` must be at least one bar, got {d!r}"
            )
        durations[i] = bars
    trans = np.zeros((k, k))
    for i in range(k):
        stay = 1.0 - 1.0 / durations[i] if k > 1 else 1.0
        trans[i, :] = (1.0 - stay) / max(k - 1, 1)
        trans[i, i] = stay
    cum = np.cumsum(trans, axis=1)
    cum[:, -1] = 1.0
    start = int(rng.choice(k, p=durations / durations.sum()))
    states = markov_states(rng.random(n), cum, start)
    drift = np.array([r.drift for r in regimes])[states]
    vol = np.array([r.volatility for r in regimes])[states]
    return states, drift, vol


def _ohlcv(
    log_close: np.ndarray,
    log_prev0: float,
    sigma_bar: np.ndarray,
    rng: np.random.Generator,
    gap_scale: float,
    base_volume: float,
) -> dict[str, np.ndarray]:
    """OHLCV arrays (shape (n,)) around a log-close path."""
    n = len(log_close)
    prev = np.empty(n)
    prev[0] = log_prev0
    prev[1:] = log_close[:-1]
    log_open = prev + gap_scale * sigma_bar * rng.standard_normal(n)
    move = log_close - log_open
    up, down = bridge_extremes(move, sigma_bar, rng.random(n), rng.random(n))
    open_ = np.exp(log_open)
    close = np.exp(log_close)
    high = np.maximum(np.exp(log_open + up), np.maximum(open_, close))
    low = np.minimum(np.exp(log_open + down), np.minimum(open_, close))
    ref = float(np.median(sigma_bar)) or 1.0
    size = np.abs(move) / np.where(sigma_bar > 0, sigma_bar, 1.0)
    volume = (
        base_volume
        * (sigma_bar / ref) ** 0.5
        * np.exp(0.5 * (size - 0.8) + 0.25 * rng.standard_normal(n))
    )
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def _frame(
    index: pd.DatetimeIndex, cols: dict[str, np.ndarray], symbol: str | None, seed: int
) -> pd.DataFrame:
    df = pd.DataFrame(cols, index=index)
    df.attrs = {
        "source": f"synthetic:seed={seed}",
        "symbol": symbol,
        "adjusted": None,
        "frequency": frequency_string(infer_frequency(index)) if len(index) > 1 else None,
        "repairs": (),
    }
    return df


def _check_positive(name: str, value: float, strict: bool = True) -> None:
    if not np.isfinite(value) or (value <= 0 if strict else value < 0):
        raise ParameterError(f"`{name}` must be {'>' if strict else '>='} 0, got {value!r}")


def synthetic_bars(
    n_bars: int,
    *,
    freq: str = "1min",
    seed: int = 0,
    start: object = "2020-01-01",
    start_price: float = 100.0,
    regimes: Sequence[Regime] = DEFAULT_REGIMES,
    gap_scale: float = 0.1,
    base_volume: float = 1_000.0,
    symbol: str | None = "SYN",
    return_regimes: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.Series]:
    """Generate reproducible bars from a regime-switching GBM (see module docstring).

    Parameters
    ----------
    n_bars : int
        Number of bars.
    freq : str
        Bar frequency (``"1min"``, ``"1h"``, ``"1D"``, ``"B"`` for business days); bars are
        consecutive at this frequency (24/7 unless ``"B"``).
    seed : int
        Seed of ``numpy.random.default_rng``; the same arguments give the same bars.
    start : date-like
        First timestamp (naive = UTC).
    start_price : float
        Price before the first bar.
    regimes : sequence of Regime
        Regimes of the chain (one regime = plain GBM).
    gap_scale : float
        Std of the open-vs-previous-close gap as a fraction of the bar's volatility.
    base_volume : float
        Typical volume per bar.
    symbol : str, optional
        ``attrs["symbol"]``.
    return_regimes : bool
        Also return the regime name of every bar (a Series indexed like the bars).

    Returns
    -------
    DataFrame (n_bars rows, contract columns), or (DataFrame, Series) with ``return_regimes``.
    """
    _check_positive("start_price", start_price)
    _check_positive("gap_scale", gap_scale, strict=False)
    _check_positive("base_volume", base_volume)
    index, dt = _index(n_bars, freq, start)
    rng = np.random.default_rng(seed)
    states, drift, vol = _regime_path(len(index), regimes, dt * _YEAR_NS, rng)
    sigma_bar = vol * np.sqrt(dt)
    steps = (drift - 0.5 * vol**2) * dt + sigma_bar * rng.standard_normal(len(index))
    log0 = float(np.log(start_price))
    cols = _ohlcv(log0 + np.cumsum(steps), log0, sigma_bar, rng, gap_scale, base_volume)
    bars = _frame(index, cols, symbol, seed)
    if return_regimes:
        names = np.array([r.name for r in regimes], dtype=object)[states]
        return bars, pd.Series(names, index=index, name="regime")
    return bars


def _correlation(correlation: float | np.ndarray, k: int) -> np.ndarray:
    if np.ndim(correlation) == 0:
        rho = float(correlation)
        if not -1.0 / max(k - 1, 1) <= rho <= 1.0:
            raise ParameterError(
                f"`correlation` must be in [-1/(n_symbols-1), 1] for {k} symbols, got {rho}"
            )
        c = np.full((k, k), rho)
        np.fill_diagonal(c, 1.0)
    else:
        c = np.asarray(correlation, dtype=float)
        if c.shape != (k, k) or not np.allclose(c, c.T) or not np.allclose(np.diag(c), 1.0):
            raise ParameterError(
                f"`correlation` must be a symmetric {k}x{k} matrix with unit diagonal"
            )
    eig = np.linalg.eigvalsh(c)
    if eig.min() < -1e-10:
        raise ParameterError(
            f"`correlation` must be positive semi-definite (smallest eigenvalue {eig.min():.3g})"
        )
    return c


def synthetic_universe(
    symbols: Sequence[str] = ("AAA", "BBB", "CCC", "DDD"),
    n_bars: int = 2_000,
    *,
    freq: str = "1D",
    seed: int = 0,
    start: object = "2015-01-01",
    correlation: float | np.ndarray = 0.5,
    regimes: Sequence[Regime] = DEFAULT_REGIMES,
    gap_scale: float = 0.1,
    base_volume: float = 1_000.0,
) -> dict[str, pd.DataFrame]:
    """Several symbols sharing one regime path, with correlated shocks.

    Each symbol gets its own start price (20..200) and volatility multiplier (0.7..1.4); the
    standard-normal shocks of the closes have correlation matrix ``correlation`` (a scalar means
    the same correlation for every pair).

    Returns
    -------
    dict[str, DataFrame]
        Symbol -> bars on one shared index.
    """
    symbols = list(symbols)
    if not symbols or len(set(symbols)) != len(symbols):
        raise ParameterError(f"`symbols` must be distinct names, got {symbols!r}")
    k = len(symbols)
    corr = _correlation(correlation, k)
    index, dt = _index(n_bars, freq, start)
    rng = np.random.default_rng(seed)
    _, drift, vol = _regime_path(len(index), regimes, dt * _YEAR_NS, rng)
    w, v = np.linalg.eigh(corr)
    root = v * np.sqrt(np.clip(w, 0.0, None))  # corr = root @ root.T (works when singular)
    shocks = rng.standard_normal((len(index), k)) @ root.T
    out = {}
    for j, sym in enumerate(symbols):
        scale = rng.uniform(0.7, 1.4)
        price = rng.uniform(20.0, 200.0)
        s = vol * scale
        sigma_bar = s * np.sqrt(dt)
        steps = (drift - 0.5 * s**2) * dt + sigma_bar * shocks[:, j]
        log0 = float(np.log(price))
        cols = _ohlcv(log0 + np.cumsum(steps), log0, sigma_bar, rng, gap_scale, base_volume)
        out[sym] = _frame(index, cols, sym, seed)
    return out


def cointegrated_pair(
    n_bars: int = 2_000,
    *,
    freq: str = "1D",
    seed: int = 0,
    start: object = "2015-01-01",
    hedge_ratio: float = 1.0,
    half_life: float = 20.0,
    spread_vol: float = 0.01,
    symbols: tuple[str, str] = ("A", "B"),
    volatility: float = 0.25,
    gap_scale: float = 0.1,
    base_volume: float = 1_000.0,
) -> dict[str, pd.DataFrame]:
    """Two symbols whose log closes are cointegrated: ``log A = c + hedge_ratio * log B + s``.

    ``B`` follows a GBM (drift 0, annualised ``volatility``); the spread ``s`` is an AR(1)
    (discrete Ornstein-Uhlenbeck) process ``s_t = phi s_{t-1} + e_t`` with
    ``phi = 0.5 ** (1 / half_life)`` and ``e_t ~ N(0, spread_vol**2)``, started at 0. So the
    spread reverts to 0 with the given half-life in bars, and ``log A - hedge_ratio * log B`` is
    stationary while each leg is a random walk.

    Returns
    -------
    dict[str, DataFrame]
        ``{symbols[0]: A, symbols[1]: B}`` on one index.
    """
    from scipy.signal import lfilter

    _check_positive("half_life", half_life)
    _check_positive("spread_vol", spread_vol, strict=False)
    _check_positive("volatility", volatility)
    if len(symbols) != 2 or symbols[0] == symbols[1]:
        raise ParameterError(f"`symbols` must be two distinct names, got {symbols!r}")
    index, dt = _index(n_bars, freq, start)
    rng = np.random.default_rng(seed)
    n = len(index)
    sigma_b = volatility * np.sqrt(dt)
    log_b0 = np.log(50.0)
    log_b = log_b0 + np.cumsum(-0.5 * volatility**2 * dt + sigma_b * rng.standard_normal(n))
    phi = 0.5 ** (1.0 / half_life)
    spread = lfilter([1.0], [1.0, -phi], spread_vol * rng.standard_normal(n))
    log_a0 = np.log(80.0)
    log_a = log_a0 + hedge_ratio * (log_b - log_b0) + spread
    sig_a = np.full(n, np.sqrt((hedge_ratio * sigma_b) ** 2 + spread_vol**2))
    a = _ohlcv(log_a, float(log_a0), sig_a, rng, gap_scale, base_volume)
    b = _ohlcv(log_b, float(log_b0), np.full(n, sigma_b), rng, gap_scale, base_volume)
    return {
        symbols[0]: _frame(index, a, symbols[0], seed),
        symbols[1]: _frame(index, b, symbols[1], seed),
    }


def _stationary_bootstrap(
    x: np.ndarray, n: int, block: float, rng: np.random.Generator
) -> np.ndarray:
    """``n`` draws of ``x`` by the stationary bootstrap (Politis & Romano 1994): blocks of
    geometric length with mean ``block``, starting at uniform positions, wrapping around."""
    starts = rng.integers(0, x.size, n)
    new_block = rng.random(n) < 1.0 / block
    new_block[0] = True
    pos = np.empty(n, dtype=np.int64)
    block_id = np.cumsum(new_block) - 1
    first = np.flatnonzero(new_block)
    offset = np.arange(n) - first[block_id]
    pos[:] = (starts[first][block_id] + offset) % x.size
    return x[pos]


def shaped_bars(
    like: pd.DataFrame,
    *,
    seed: int = 0,
    edge: float = 0.0,
    half_life: float = 60.0,
    noise: str = "gaussian",
    block_size: float = 20.0,
    gap_scale: float = 0.1,
    symbol: str | None = "SYN",
) -> pd.DataFrame:
    """Bars shaped like ``like`` (same index, same per-bar volatility), with or without an edge.

    Per-bar log return ``r_t = m_t + e_t``:

    * ``e_t`` is noise with mean 0 and the standard deviation ``sigma`` of ``like``'s log close
      returns: ``noise="gaussian"`` draws i.i.d. normals (a driftless random walk);
      ``noise="bootstrap"`` resamples ``like``'s own log returns, **demeaned**, with the
      stationary bootstrap (mean block ``block_size`` bars), which keeps fat tails and
      volatility clustering but removes any drift.
    * ``m_t`` is the planted edge, a persistent trend: a zero-mean AR(1)
      ``m_t = phi m_{t-1} + sqrt(1 - phi**2) * edge * sigma * u_t`` with
      ``phi = 0.5 ** (1 / half_life)`` (``half_life`` in bars) and stationary standard deviation
      ``edge * sigma``. ``edge = 0`` gives null data (no strategy has a true edge; buy-and-hold
      has none either, since the trend averages to 0). A trend follower that is long when
      ``m_t > 0`` earns ``E[max(m, 0)]`` per bar; the out-of-sample Sharpe of a fixed rule on
      these bars is measured, not assumed (see :mod:`research.calibrate`).

    Open, high, low and volume are built around the close path as in :func:`synthetic_bars`.
    Seeded: the same arguments give the same bars.
    """
    if not isinstance(like, pd.DataFrame) or "close" not in like or len(like) < 3:
        raise ParameterError("`like` must be a bars DataFrame with a close column and >= 3 rows")
    _check_positive("edge", edge, strict=False)
    _check_positive("half_life", half_life)
    _check_positive("block_size", block_size)
    if block_size < 1:
        raise ParameterError(f"`block_size` must be >= 1 bar, got {block_size!r}")
    if noise not in ("gaussian", "bootstrap"):
        raise ParameterError(f"`noise` must be 'gaussian' or 'bootstrap', got {noise!r}")
    real = np.diff(np.log(like["close"].to_numpy(dtype=float)))
    real = real[np.isfinite(real)]
    sigma = float(real.std(ddof=1))
    n = len(like)
    rng = np.random.default_rng(seed)
    if noise == "gaussian":
        e = sigma * rng.standard_normal(n)
    else:
        e = _stationary_bootstrap(real - real.mean(), n, block_size, rng)
    m = np.zeros(n)
    if edge > 0:
        from scipy.signal import lfilter

        phi = 0.5 ** (1.0 / half_life)
        u = math_sqrt(1.0 - phi**2) * edge * sigma * rng.standard_normal(n)
        u[0] = edge * sigma * rng.standard_normal()  # start in the stationary law
        m = lfilter([1.0], [1.0, -phi], u)
    log0 = float(np.log(like["close"].iloc[0]))
    log_close = log0 + np.cumsum(m + e)
    cols = _ohlcv(log_close, log0, np.full(n, sigma), rng, gap_scale, 1_000.0)
    return _frame(like.index, cols, symbol, seed)
