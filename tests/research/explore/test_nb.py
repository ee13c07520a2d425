"""Numba kernels of the exploration stage against ``ta``, scipy, scikit-learn and plain numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import ta
from scipy import stats

from research.explore import _nb
from research.explore._accel import ACCELERATED, compute_fast
from strategies.indicators import catalog
from tests.conftest import make_bars


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    b = make_bars(900, freq="h", seed=11)
    b.iloc[300:304, b.columns.get_loc("volume")] = 0.0  # MFI with zero flow
    return b


def _hlcv(bars):
    return bars["high"], bars["low"], bars["close"], bars["volume"]


def _same(ours: np.ndarray, theirs: pd.Series | np.ndarray, start: int) -> None:
    """Equal to 1e-9 (relative) from ``start`` on, where both are defined."""
    theirs = np.asarray(theirs, dtype=np.float64)
    np.testing.assert_allclose(ours[start:], theirs[start:], rtol=1e-9, atol=1e-9)


def test_adx_kernel_equals_ta(bars) -> None:
    h, lo, c, _ = _hlcv(bars)
    for w in (5, 14):
        ind = ta.trend.ADXIndicator(h, lo, c, w, fillna=False)
        adx, pos, neg = _nb.adx_nb(h.to_numpy(), lo.to_numpy(), c.to_numpy(), w)
        _same(adx, ind.adx(), 2 * w - 1)
        _same(pos, ind.adx_pos(), w + 1)
        _same(neg, ind.adx_neg(), w + 1)


def test_cci_aroon_ulcer_kernels_equal_ta(bars) -> None:
    h, lo, c, _ = _hlcv(bars)
    tp = ((h + lo + c) / 3).to_numpy()
    _same(_nb.cci_nb(tp, 20, 0.015), ta.trend.CCIIndicator(h, lo, c, 20, 0.015).cci(), 19)
    for w in (14, 25):
        up, down = _nb.aroon_nb(h.to_numpy(), lo.to_numpy(), w)
        ind = ta.trend.AroonIndicator(h, lo, w, fillna=False)
        _same(up, ind.aroon_up(), w)
        _same(down, ind.aroon_down(), w)
    _same(_nb.ulcer_nb(c.to_numpy(), 14), ta.volatility.UlcerIndex(c, 14).ulcer_index(), 13)


def test_mfi_and_kama_kernels_equal_ta(bars) -> None:
    h, lo, c, v = _hlcv(bars)
    ours = _nb.mfi_nb(h.to_numpy(), lo.to_numpy(), c.to_numpy(), v.to_numpy(), 14)
    _same(ours, ta.volume.MFIIndicator(h, lo, c, v, 14, fillna=False).money_flow_index(), 14)
    ours = _nb.kama_nb(c.to_numpy(), 10, 2, 30)
    _same(ours, ta.momentum.KAMAIndicator(c, 10, 2, 30, fillna=False).kama(), 10)


@pytest.mark.parametrize("name", sorted(ACCELERATED))
def test_every_stand_in_equals_the_catalog(bars, name) -> None:
    """compute_fast gives the catalog's own (ta-based) output at every grid point."""
    ind = catalog()[name]
    checked = 0
    for params in ind.grid_points():
        fast = compute_fast(ind, bars, params)
        if fast is None:  # e.g. Keltner's original version: the catalog is already fast
            continue
        slow = ind.compute(bars, **params)
        slow = slow.to_frame() if isinstance(slow, pd.Series) else slow
        assert list(fast.columns) == list(slow.columns)
        np.testing.assert_allclose(fast.to_numpy(), slow.to_numpy(), rtol=1e-9, atol=1e-9)
        assert fast.iloc[: ind.warmup(**params)].isna().all().all()
        checked += 1
    assert checked >= 1


def test_average_ranks_equal_scipy(rng) -> None:
    x = np.round(rng.normal(size=500), 1)  # many ties
    ours = _nb.average_ranks_nb(x, np.argsort(x, kind="quicksort"))
    np.testing.assert_array_equal(ours, stats.rankdata(x, method="average"))


def test_runs_kernel() -> None:
    mask = np.array([1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1], dtype=bool)
    starts, lengths = _nb.runs_nb(mask, 3)
    assert starts.tolist() == [3, 8]
    assert lengths.tolist() == [3, 4]
    starts, lengths = _nb.runs_nb(mask, 1)
    assert starts.tolist() == [0, 3, 8]
    assert _nb.runs_nb(np.zeros(5, dtype=bool), 1)[0].size == 0


def test_rolling_beta_corr_equals_pandas(rng) -> None:
    n, w = 3000, 50
    x = rng.normal(size=n)
    y = 0.7 * x + rng.normal(size=n) + 1e3  # a large mean tests the numerical stability
    x[1000] = np.nan
    beta, corr = _nb.rolling_beta_corr_nb(y, x, w)
    sx, sy = pd.Series(x), pd.Series(y)
    want_beta = sy.rolling(w).cov(sx) / sx.rolling(w).var()
    want_corr = sy.rolling(w).corr(sx)
    np.testing.assert_allclose(beta, want_beta, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(corr, want_corr, rtol=1e-7, atol=1e-9)
    assert np.isnan(beta[1000 : 1000 + w]).all() and np.isfinite(beta[1000 + w])


def test_rolling_autocorr_equals_numpy(rng) -> None:
    x = rng.normal(size=400)
    x[1:] += 0.5 * x[:-1]
    w = 60
    ours = _nb.rolling_autocorr_nb(x, w)
    assert np.isnan(ours[:w]).all()
    for t in (w, 200, 399):
        window = x[t - w + 1 : t + 1]
        lagged = x[t - w : t]
        assert ours[t] == pytest.approx(np.corrcoef(window, lagged)[0, 1], abs=1e-10)


def test_forward_log_returns_purge_at_stop() -> None:
    lc = np.log(np.array([100.0, 101, 99, 102, 104, 103]))
    out = _nb.forward_log_returns_nb(lc, 2, 5)  # prices from bar 5 on must not be read
    np.testing.assert_allclose(out[:3], lc[2:5] - lc[:3])
    assert np.isnan(out[3:]).all()


def test_ksg_counts_equal_scikit_learn(rng) -> None:
    from scipy.special import digamma
    from sklearn.feature_selection._mutual_info import _compute_mi_cc

    n = 700
    for k in (1, 3, 6):
        x = rng.normal(size=n)
        y = np.sin(2 * x) + 0.5 * rng.normal(size=n)
        nx, ny = _nb.ksg_counts_nb(x, y, k)
        mi = max(0.0, digamma(n) + digamma(k) - digamma(nx + 1).mean() - digamma(ny + 1).mean())
        assert mi == pytest.approx(_compute_mi_cc(x, y, k), abs=1e-12)
        assert mi > 0.1  # a strong (non-linear) dependence is found


def test_rank_ic_kernel_against_scipy(rng) -> None:
    from research.explore.screening import _standard_ranks

    n, k, batch = 1200, 3, 40
    X = rng.normal(size=(n, k))
    y = 0.2 * X[:, 0] + rng.normal(size=n)
    X[:10, 2] = np.nan
    R = np.column_stack([_standard_ranks(X[:, j]) for j in range(k)]).astype(np.float32)
    ry = _standard_ranks(y)
    ys = (y - y.mean()) / y.std()
    mu, sd = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    periods = np.array([0, 400, 800, 1200])
    rank_ic, ic, t, period_ic = _nb.rank_ic_stats_nb(
        np.asfortranarray(R), np.asfortranarray(X), mu, sd, ry, ys, batch, periods
    )
    for j in range(2):  # complete columns: exactly Spearman and Pearson
        assert rank_ic[j] == pytest.approx(stats.spearmanr(X[:, j], y)[0], abs=1e-6)
        assert ic[j] == pytest.approx(stats.pearsonr(X[:, j], y)[0], abs=1e-9)
        z = R[:, j].astype(np.float64) * ry
        b = z.reshape(-1, batch).mean(axis=1)
        assert t[j] == pytest.approx(b.mean() / (b.std(ddof=1) / np.sqrt(b.size)), rel=1e-9)
        for p in range(3):
            s = slice(periods[p], periods[p + 1])
            want = np.corrcoef(R[s, j].astype(np.float64), ry[s])[0, 1]
            assert period_ic[p, j] == pytest.approx(want, abs=1e-9)
    assert rank_ic[0] > 0.1 and abs(rank_ic[1]) < 0.1
