"""Tests of backtest/tearsheet.py and ``research backtest --html``: every section there, numbers
equal to the metrics (and to the command's JSON), self-contained, drawn by headless Chromium
without script errors."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest

from backtest import Costs, evaluate_batch, run_backtest
from backtest.tearsheet import backtest_tearsheet, tearsheet_html
from research.cli import main
from strategies.registry import get_strategy
from tests._browser import needs_chromium, render, script_errors
from tests.conftest import make_bars

SECTIONS = [
    "metrics",
    "price-0",
    "equity",
    "drawdown",
    "rolling-sharpe",
    "exposure",
    "monthly",
    "trades",
]


@pytest.fixture(scope="module")
def single():
    bars = make_bars(600, seed=3, vol=0.015)
    positions = get_strategy("sma_cross")(fast=5, slow=30).positions(bars)
    return bars, positions, run_backtest(bars, positions, costs=Costs(fees=0.001))


def _metric_values(page: str) -> dict[str, float]:
    """``metric -> data-value`` of the metrics table."""
    rows = re.findall(
        r'<tr id="metric-([a-z_]+)"><td class="l">[^<]*</td><td[^>]*data-value="([^"]*)"', page
    )
    return {k: float(v) for k, v in rows}


def _close(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_sections_and_metrics_equal_the_result(single):
    bars, _, result = single
    page = tearsheet_html(result, periods_per_year=252, title="T <1>")
    assert re.findall(r'<section id="([a-z0-9-]+)"', page) == SECTIONS
    assert "<title>T &lt;1&gt;</title>" in page
    got = _metric_values(page)
    expected = result.metrics(periods_per_year=252)
    assert set(got) == set(expected)
    for k, v in expected.items():
        assert _close(got[k], float(v)), k
    # the trade list has every trade, the price chart one entry marker per trade
    trades = re.search(r'<table class="trades-table">.*?</table>', page, re.S).group(0)
    assert trades.count("<tr>") == len(result.trades) + 1
    assert len(result.trades) == expected["n_trades"] > 3


def test_monthly_table_cells_are_the_compounded_month_returns(single):
    _, _, result = single
    page = tearsheet_html(result)
    table = re.search(r'<table class="monthly-table">.*?</table>', page, re.S).group(0)
    r = result.returns
    jan = r[(r.index.year == 2020) & (r.index.month == 1)]
    want = float(np.prod(1.0 + jan.to_numpy()) - 1.0)
    row2020 = re.search(r'<tr><td class="l">2020</td>(.*?)</tr>', table, re.S).group(1)
    first = float(re.search(r'data-value="([^"]+)"', row2020).group(1))
    assert first == pytest.approx(want, rel=1e-12)
    year = float(re.findall(r'data-value="([^"]+)"', row2020)[-1])
    y = r[r.index.year == 2020].to_numpy()
    assert year == pytest.approx(float(np.prod(1.0 + y) - 1.0), rel=1e-12)


def test_self_contained(single):
    page = tearsheet_html(single[2])
    assert not re.search(r"<(script|img|iframe|link)[^>]+(src|href)=", page)
    assert page.count("plotly.js v") == 1


def test_plot_and_notebook_repr(single, tmp_path):
    result = single[2]
    fig = result.plot()
    names = {tr.name for tr in fig.data}
    assert {"strategy", "buy and hold", "entry long", "rolling Sharpe"} <= names
    reasons = set(result.trades.loc[result.trades["status"] == "closed", "exit_reason"])
    assert {f"exit: {r}" for r in reasons} <= names and reasons  # exits by reason
    equity = next(tr for tr in fig.data if tr.name == "strategy" and tr.fill is None)
    assert np.allclose(np.asarray(equity.y, dtype=float), result.equity.to_numpy())
    snippet = result._repr_html_()
    assert 'class="metrics-table"' in snippet and "plotly.js v" in snippet
    out = tmp_path / "sub" / "t.html"
    text = result.to_html(out)
    assert out.read_text() == text


def test_window_after_a_training_span_equals_the_batch_kernel(single, tmp_path):
    """``start`` > 0: the tearsheet's numbers are those of ``evaluate_batch(start=...)``."""
    bars, positions, _ = single
    start = 250
    out = backtest_tearsheet(
        tmp_path / "w.html", bars, positions, start=start, costs=Costs(fees=0.001)
    )
    got = _metric_values(out.read_text())
    ref = evaluate_batch(
        bars["open"].to_numpy(), bars["close"].to_numpy(), positions.to_numpy().reshape(-1, 1),
        costs=Costs(fees=0.001), start=start, periods_per_year=252,
    ).metrics.iloc[0]  # fmt: skip
    for k in (
        "total_return",
        "sharpe_ratio",
        "max_drawdown",
        "n_trades",
        "win_rate",
        "exposure",
        "turnover",
    ):
        assert _close(got[k], float(ref[k])), k
    assert got["n_periods"] == len(bars) - start


def test_multi_symbol_has_one_price_chart_per_symbol():
    a, b = make_bars(300, seed=1), make_bars(300, seed=2)
    bars = {"A": a, "B": b}
    pos = pd.DataFrame(
        {"A": np.where(np.arange(300) % 40 < 20, 0.5, 0.0), "B": -0.3}, index=a.index
    )
    result = run_backtest(bars, pos)
    page = tearsheet_html(result)
    assert "Price and trades: A" in page and "Price and trades: B" in page
    got = _metric_values(page)
    for k, v in result.metrics().items():
        assert _close(got[k], float(v)), k


def _cli_page(folder, *options):
    """``research backtest --json --html`` on a CSV of 500 bars: the JSON it printed and the page."""
    import contextlib
    import io

    data = folder / "bars.csv"
    make_bars(500, seed=7, vol=0.02).reset_index().to_csv(data, index=False)
    page = folder / "tearsheet.html"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["backtest", "--data", str(data), *options, "--json", "--html", str(page)])
    assert code == 0
    return json.loads(buf.getvalue()), page


@pytest.fixture(scope="module")
def cli_page(tmp_path_factory):
    """The page of sma_cross (no fitting: the whole data)."""
    return _cli_page(
        tmp_path_factory.mktemp("cli"), "--strategy", "sma_cross", "--param", "fast=8",
        "--param", "slow=25", "--fees", "0.002",
    )  # fmt: skip


def test_cli_html_of_a_learning_strategy_covers_the_bars_after_fitting(tmp_path):
    """A strategy that learns is fitted on the first half: the page's numbers are those of the
    second half, the same as the JSON's (the page once covered every bar)."""
    payload, page = _cli_page(tmp_path, "--strategy", "lgbm_direction", "--fees", "0.001")
    assert payload["n_bars"] == 250
    _assert_page_equals_json(payload, page)


def _assert_page_equals_json(payload, page):
    got = _metric_values(page.read_text())
    assert got
    for k, v in got.items():
        want = float("nan") if payload[k] is None else float(payload[k])
        assert _close(v, want), k


def test_cli_html_numbers_equal_the_json(cli_page):
    payload, page = cli_page
    _assert_page_equals_json(payload, page)
    assert "sma_cross" in html.unescape(page.read_text().split("</title>")[0])


@pytest.mark.browser
@needs_chromium
def test_tearsheet_renders_in_headless_chromium(cli_page, tmp_path):
    payload, page = cli_page
    figures = re.findall(r'id="(fig-[a-z0-9-]+)"', page.read_text())
    assert figures == [
        "fig-price-0",
        "fig-equity",
        "fig-drawdown",
        "fig-rolling-sharpe",
        "fig-exposure",
    ]
    dom, log = render(page, tmp_path / "profile")
    assert script_errors(dom, log) == []
    drawn = re.findall(r'id="(fig-[a-z0-9-]+)" class="plotly-graph-div js-plotly-plot"', dom)
    assert sorted(drawn) == sorted(figures)
    assert dom.count('class="main-svg"') >= len(figures)
    # the numbers the browser shows are the JSON's
    shown = _metric_values(dom)
    assert shown["sharpe_ratio"] == pytest.approx(payload["sharpe_ratio"], rel=1e-9)
    sharpe_text = re.search(r'id="metric-sharpe_ratio">.*?data-value="[^"]*">([^<]+)<', dom).group(
        1
    )
    assert sharpe_text == f"{payload['sharpe_ratio']:,.4f}"
