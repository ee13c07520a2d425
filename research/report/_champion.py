"""Report sections about the lead candidate's out-of-sample path: its price chart with trades,
the monthly / yearly returns table and the rolling Sharpe ratio.

The figures and the table are the one-backtest tearsheet's (:mod:`backtest.plots`,
:mod:`backtest.tearsheet`), drawn from the run folder's ``series/champion_prices.parquet``,
``series/champion_trades.parquet`` and ``series/oos_returns.parquet``.
"""

from __future__ import annotations

import pandas as pd

from backtest import plots
from backtest.tearsheet import monthly_table_html
from research.report._context import SectionsBase
from research.report._html import plot_div

__all__ = ["ChampionSections", "MAX_PRICE_CHARTS"]

#: price charts drawn at most (one per symbol); a wide universe shows its first symbols
MAX_PRICE_CHARTS = 4


class ChampionSections(SectionsBase):
    """Mixin of :class:`research.report._build.ReportContext`."""

    def _lead_returns(self) -> pd.Series | None:
        oos = self.d.get("oos_returns")
        lead = self.run.verdict.lead
        if oos is None or lead is None or lead.candidate not in oos.columns:
            return None
        return oos[lead.candidate]

    # --- price and trades -----------------------------------------------------------------
    def price(self) -> dict | None:
        prices = self.d.get("prices")
        lead = self.run.verdict.lead
        if prices is None or prices.empty or lead is None:
            return None
        trades = self.d.get("trades")
        symbols = list(prices.columns)[:MAX_PRICE_CHARTS]
        html_ = ""
        for i, sym in enumerate(symbols):
            t = None
            if trades is not None and not trades.empty:
                t = trades[trades["symbol"].astype(str) == str(sym)]
            close = prices[sym].rename(str(sym))
            title = f"{sym}: price and the {self.lead}'s out-of-sample trades"
            html_ += plot_div(plots.price_figure(close, t, title=title), f"fig-price-{i}")
        more = len(prices.columns) - len(symbols)
        note = (
            f"Closes over the stitched out-of-sample span with the trades of "
            f"{lead.candidate}: entries as triangles (up long, down short) at their fill "
            "price, exits as crosses, one colour per exit reason."
        )
        if more > 0:
            note += f" The first {len(symbols)} of {len(prices.columns)} symbols are drawn."
        return self.section("price", f"Price and trades of the {self.lead}", html_, note)

    # --- monthly table and rolling Sharpe -------------------------------------------------
    def returns_table(self) -> dict | None:
        r = self._lead_returns()
        if r is None or r.dropna().empty:
            return None
        ppy = float(self.run.data.periods_per_year)
        window = plots.sharpe_window(len(r), ppy)
        html_ = monthly_table_html(r)
        if len(r) > window:
            fig = plots.rolling_sharpe_figure(r, window, ppy)
            html_ += plot_div(fig, "fig-rolling-sharpe")
        return self.section(
            "monthly",
            f"Monthly returns and rolling Sharpe of the {self.lead}",
            html_,
            "Compounded returns per calendar month and year (UTC) of the stitched out-of-sample "
            f"returns; rolling Sharpe over {window} bars, annualised with {ppy:g} bars a year.",
        )
