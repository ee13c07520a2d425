"""``pairs_zscore``: trade the z-score of a cointegrated pair's spread."""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategies._bars import pair_bars
from strategies._signals_nb import pairs_state_machine_nb
from strategies.base import Strategy
from strategies.indicators import fast as ind
from strategies.params import Float, Int

__all__ = ["PairsZscore"]


class PairsZscore(Strategy):
    """Pairs trading on a rolling-OLS spread (multi-asset).

    Bars: a dict of exactly two symbols ``{y: bars_y, x: bars_x}`` on the same timestamps (the
    first is the dependent leg). With ``Y = log(close_y)`` and ``X = log(close_x)``:

    * hedge ratio: ``alpha[t], beta[t]`` from an OLS of ``Y`` on ``X`` over the ``lookback``
      bars *before* t (``t-lookback .. t-1``), so bar t's own prices never fit its ratio;
    * spread ``s[t] = Y[t] - alpha[t] - beta[t] * X[t]`` (out of sample at every bar);
    * ``z[t]`` = z-score of ``s`` over bars ``t-z_window+1 .. t`` (sample std).

    Rules at bar t's close: long the spread when ``z <= -entry_z`` until ``z >= -exit_z``; short
    it when ``z >= entry_z`` until ``z <= exit_z`` (``exit_z < entry_z``); beyond the opposite
    entry level the position reverses. Legs are frozen at entry: long spread holds
    ``+1/(1+|beta|)`` of equity in ``y`` and ``-beta/(1+|beta|)`` in ``x`` (gross exposure 1).

    Returns a DataFrame with one column per symbol. Warm-up ``lookback + z_window - 1``.
    """

    name = "pairs_zscore"
    multi_asset = True
    lookback = Int(20, 500, default=60)
    z_window = Int(5, 500, default=30)
    entry_z = Float(0.5, 4.0, default=2.0)
    exit_z = Float(0.0, 3.0, default=0.5)
    constraints = ("exit_z < entry_z",)

    @property
    def warmup(self) -> int:
        return self.lookback + self.z_window - 1

    def hedge(self, bars: dict[str, pd.DataFrame]) -> pd.DataFrame:
        """Per-bar ``alpha``, ``beta`` (fitted on the previous ``lookback`` bars), ``spread``, ``z``."""
        sy, sx, by, bx = pair_bars(bars, self.label())
        y = np.log(by["close"].astype(np.float64))
        x = np.log(bx["close"].astype(np.float64))
        window = self.lookback
        cov = x.rolling(window).cov(y)
        var = x.rolling(window).var()
        beta_fit = cov / var.where(var > 0.0)
        alpha_fit = y.rolling(window).mean() - beta_fit * x.rolling(window).mean()
        beta = beta_fit.shift(1)
        alpha = alpha_fit.shift(1)
        spread = y - alpha - beta * x
        z = ind.rolling_zscore(spread, self.z_window, ddof=1)
        return pd.DataFrame({"alpha": alpha, "beta": beta, "spread": spread, "z": z})

    def positions(
        self, bars: dict[str, pd.DataFrame], features: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        sy, sx, by, _ = pair_bars(bars, self.label())
        h = self.hedge(bars)
        legs = pairs_state_machine_nb(
            h["z"].to_numpy(), h["beta"].to_numpy(), float(self.entry_z), float(self.exit_z)
        )
        legs[: self.warmup] = 0.0
        return pd.DataFrame(legs, index=by.index, columns=[sy, sx])
