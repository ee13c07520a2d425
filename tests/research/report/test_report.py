"""The HTML report: every section there, verdict first, numbers equal to results.json,
self-contained (opens offline), and rendered without script errors in headless Chromium."""

from __future__ import annotations

import base64
import html
import json
import re

import numpy as np
import pandas as pd
import pytest

from research.report import build_report
from tests._browser import needs_chromium, render, script_errors
from tests.research import _runs

#: every gate off: the best candidate is champion (to test the champion's parts of the report)
NO_GATES = {
    k: None
    for k in (
        "min_dsr",
        "max_pbo",
        "min_stability",
        "min_trades",
        "max_drawdown",
        "min_wfe",
        "max_spa_pvalue",
    )
}
EXPLORE = {
    "enabled": True,
    "spec": {"horizons": [1, 5], "screening": {"lightgbm": {"enabled": False}}},
}


@pytest.fixture(scope="module")
def failed():
    """Nothing passes the gates (the shared tiny run)."""
    return _runs.finished_run()


@pytest.fixture(scope="module")
def champion():
    """Gates off, with an exploration whose selected features the LightGBM strategy uses: a
    champion, trades and findings."""
    lgbm = {
        "name": "lgbm_direction",
        "features": "explore",
        "space": {"n_estimators": {"low": 10, "high": 40}, "allow_short": False},
    }
    raw = _runs.spec(
        name="champ",
        strategies=["sma_cross", lgbm],
        optimizers=["tpe"],
        gates=NO_GATES,
        explore=EXPLORE,
    )
    return _runs.finished_run(raw)


@pytest.fixture(scope="module")
def pareto():
    """Two objectives (NSGA-II)."""
    raw = _runs.spec(
        name="pareto",
        strategies=["sma_cross"],
        optimizers=[{"name": "nsga2", "options": {"population_size": 6}}],
        objectives=["sharpe_ratio", "max_drawdown"],
        report={"title": "Two objectives"},
    )
    return _runs.finished_run(raw)


def _js(text: str) -> str:
    """``text`` as plotly writes it in a figure's JSON (``/`` escaped)."""
    return text.replace("/", "\\u002f")


def _sections(text: str) -> dict[str, str]:
    """Top-level sections of the report by id, in page order."""
    ids = re.findall(r'<section id="([a-z_-]+)"', text)
    out = {}
    for i, sid in enumerate(ids):
        start = text.index(f'<section id="{sid}"')
        end = text.index(f'<section id="{ids[i + 1]}"') if i + 1 < len(ids) else len(text)
        out[sid] = text[start:end]
    return out


def _rows(fragment: str) -> list[list[str]]:
    """Body rows of the first table in ``fragment``, cells as plain text."""
    body = re.search(r"<tbody>(.*?)</tbody>", fragment, re.S).group(1)
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


def test_sections_in_order_verdict_first(failed, champion, pareto):
    text = (failed.run_dir / "report.html").read_text()
    order = list(_sections(text))
    expected = [
        "verdict",
        "leaderboard",
        "equity",
        "price",
        "monthly",
        "folds",
        "history",
        "importance",
        "landscape",
        "overfitting",
        "trades",
        "config",
    ]
    assert order == expected
    champ = list(_sections((champion.run_dir / "report.html").read_text()))
    assert champ == expected[:-2] + ["explore", "trades", "config"]
    both = list(_sections((pareto.run_dir / "report.html").read_text()))
    assert both.index("pareto") == both.index("landscape") + 1


def test_verdict_names_the_failed_gates_when_nothing_passes(failed):
    sec = _sections((failed.run_dir / "report.html").read_text())["verdict"]
    v = failed.results.to_json()["verdict"]
    assert html.escape(v["message"], quote=True) in sec or v["message"] in html.unescape(sec)
    assert 'class="verdict failed"' in sec
    best = v["best"]
    assert "Best candidate (not picked: it fails a gate)" in sec
    # no figure or table calls a candidate that fails a gate "champion"
    text = (failed.run_dir / "report.html").read_text()
    assert _js(f"{best['candidate']} (best candidate, fails a gate)") in text
    assert "(champion)" not in text and "Trades of the champion" not in text
    assert f"{best['oos_metrics']['sharpe_ratio']:.3f}" in sec
    for gate, g in best["gates"].items():
        mark = "✓" if g["passed"] else "✗"
        assert re.search(rf'class="{"pass" if g["passed"] else "fail"}"[^>]*>{mark} ', sec), gate


def test_verdict_shows_the_champion_and_its_numbers(champion):
    sec = html.unescape(_sections((champion.run_dir / "report.html").read_text())["verdict"])
    c = champion.champion
    assert c is not None and champion.passed
    assert "Champion:" in sec and c["candidate"] in sec
    for k, v in c["params"].items():
        assert f"{k}={v}" in sec
    m = c["oos_metrics"]
    assert f"{m['sharpe_ratio']:.3f}" in sec and f"{m['cagr']:.1%}" in sec
    assert _js(f"{c['candidate']} (champion)") in (champion.run_dir / "report.html").read_text()
    assert f"{m['max_drawdown']:.1%}" in sec
    bh = champion.results.to_json()["benchmark"]["oos_metrics"]["sharpe_ratio"]
    assert f"{bh:.3f}" in sec


def test_leaderboard_table_matches_results(failed):
    sec = _sections((failed.run_dir / "report.html").read_text())["leaderboard"]
    head = re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", sec)
    rows = _rows(sec)
    board = failed.results.to_json()["leaderboard"]
    assert len(rows) == len(board) == 4
    col = {h: i for i, h in enumerate(head)}
    for cells, row in zip(rows, board):
        assert cells[col["#"]] == str(row["rank"]) and cells[col["candidate"]] == row["candidate"]
        assert cells[col["sharpe ratio"]] == f"{row['oos_metrics']['sharpe_ratio']:.3f}"
        assert cells[col["max drawdown"]] == f"{row['oos_metrics']['max_drawdown']:.1%}"
        assert cells[col["DSR"]] == f"{row['stats']['dsr']:.3f}"
        assert cells[col["PBO"]] == f"{row['stats']['pbo']:.3f}"
        assert cells[col["gates"]].startswith("fails ")


def test_fold_table_shows_in_and_out_of_sample_per_fold(failed):
    sec = _sections((failed.run_dir / "report.html").read_text())["folds"]
    rows = _rows(sec)
    searches = failed.results.to_json()["searches"]
    assert len(rows) == sum(len(s["folds"]) for s in searches) == 12
    expected = []
    for s in searches:
        for f in s["folds"]:
            is_ = (f["is"] or {}).get("sharpe_ratio")
            oos = (f["oos"] or {}).get("sharpe_ratio")
            expected.append(
                [
                    s["key"],
                    str(f["number"]),
                    "–" if is_ is None else f"{is_:.3f}",
                    "–" if oos is None else f"{oos:.3f}",
                ]
            )
    assert [[r[0], r[1], r[4], r[5]] for r in rows] == expected
    first = failed.results.to_json()["folds"][0]
    assert rows[0][3] == f"{first['test_start']} → {first['test_end']}"


def test_overfitting_panel_and_importance(failed):
    secs = _sections((failed.run_dir / "report.html").read_text())
    o = failed.results.to_json()["overfitting"]
    text = html.unescape(secs["overfitting"])
    assert f"Trials tried: {o['n_trials_total']:,}" in re.sub(r"<[^>]+>", "", text)
    top = [r["candidate"] for r in failed.results.to_json()["leaderboard"]][
        :3
    ]  # plots of the top 3
    for key in top:
        assert f"PBO of {key}: {o['pbo'][key]['pbo']:.3f}" in text
    pbo_col = [row[4] for row in _rows(secs["overfitting"])]  # the table has every candidate
    assert pbo_col == [
        f"{o['pbo'][r['candidate']]['pbo']:.3f}" for r in failed.results.to_json()["leaderboard"]
    ]
    assert 'id="fig-pbo-0"' in text and 'id="fig-degradation-0"' in text
    assert 'id="fig-stability"' in text  # the stability heatmap
    assert "Hansen SPA p-value" in text
    spa = o["spa"]["all candidates"]["spa_pvalue"]
    assert f"{spa:.3f}" in text
    imp = html.unescape(secs["importance"])
    for strategy, info in failed.results.to_json()["importance"].items():
        assert f"{strategy}: OLS of the objective on the hyperparameters" in imp
        for term in info["ols"]:
            assert f"{term['coef']:.3f}" in imp
    assert 'id="fig-importance"' in imp
    land = secs["landscape"]
    assert 'id="fig-contour-0"' in land and 'id="fig-parallel-0"' in land
    assert 'id="fig-history-0"' in secs["history"]


def test_trades_of_the_champion_and_exploration_findings(champion):
    secs = _sections((champion.run_dir / "report.html").read_text())
    trades = pd.read_parquet(champion.run_dir / "series" / "champion_trades.parquet")
    assert len(trades) == champion.results.to_json()["champion_trades"] > 0
    rows = _rows(secs["trades"])
    assert len(rows) == len(trades)
    assert rows[0][0] == str(trades["fold"].iloc[0])
    head = re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", secs["trades"])
    assert head == list(trades.columns)
    last = re.findall(r"<tr>(.*?)</tr>", secs["trades"], re.S)[-1]
    cells = re.findall(r"<td[^>]*>", last)
    value = re.search(r'data-value="([^"]*)"', cells[head.index("return")]).group(1)
    assert float(value) == trades["return"].iloc[-1]
    ex = champion.results.to_json()["explore"]
    assert ex["selected"] and (champion.run_dir / "explore" / "findings.json").is_file()
    # the LightGBM search got exactly the exploration's selection as its features
    (lgbm,) = [
        s for s in champion.results.to_json()["searches"] if s["strategy"] == "lgbm_direction"
    ]
    assert lgbm["features"] == ex["selected"]
    saved = json.loads((champion.run_dir / "explore" / "selected.json").read_text())
    if not ex["note"]:  # (the note says when no feature passed and the best-scored were taken)
        assert ex["selected"] == saved["features"]
    # screening read the first training window only: no selected feature saw an OOS bar
    assert saved["train_end"][:10] == champion.results.to_json()["folds"][0]["train_end"]
    columns = pd.read_parquet(champion.run_dir / "explore" / "features.parquet").columns
    assert set(ex["selected"]) <= set(columns)
    text = html.unescape(secs["explore"])
    assert ", ".join(ex["selected"]) in text
    assert str(ex["summary"]["features screened"]) in text


def _figure_data(text: str, div_id: str) -> list[dict]:
    """The traces plotly.newPlot receives for ``div_id`` (typed arrays decoded)."""
    start = text.index(f'Plotly.newPlot(                        "{div_id}",')
    data, _ = json.JSONDecoder().raw_decode(text, text.index("[", start))
    for trace in data:
        for key in ("x", "y"):
            v = trace.get(key)
            if isinstance(v, dict) and "bdata" in v:
                trace[key] = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return data


def test_price_chart_carries_the_champions_trades_by_exit_reason(champion):
    text = (champion.run_dir / "report.html").read_text()
    sec = _sections(text)["price"]
    trades = pd.read_parquet(champion.run_dir / "series" / "champion_trades.parquet")
    prices = pd.read_parquet(champion.run_dir / "series" / "champion_prices.parquet")
    oos = pd.read_parquet(champion.run_dir / "series" / "oos_returns.parquet")
    assert list(prices.index) == list(oos.index)  # the stitched out-of-sample span
    assert 'id="fig-price-0"' in sec and "Price and trades of the champion" in sec
    traces = {t["name"]: t for t in _figure_data(text, "fig-price-0")}
    sym = prices.columns[0]
    assert np.allclose(np.asarray(traces[sym]["y"], float), prices[sym].to_numpy())
    closed = trades[trades["status"] == "closed"]
    for reason, group in closed.groupby("exit_reason"):
        ys = np.asarray(traces[f"exit: {reason}"]["y"], float)
        assert np.allclose(np.sort(ys), np.sort(group["exit_price"].to_numpy(float)))
    longs = trades[trades["direction"] == "long"]
    assert len(traces["entry long"]["y"]) == len(longs) > 0


def test_monthly_table_and_rolling_sharpe_equal_an_independent_computation(champion):
    text = (champion.run_dir / "report.html").read_text()
    sec = _sections(text)["monthly"]
    name = champion.champion["candidate"]
    r = pd.read_parquet(champion.run_dir / "series" / "oos_returns.parquet")[name].fillna(0.0)
    # months compounded by hand, one calendar month at a time
    expected: dict[tuple[int, int], float] = {}
    for stamp, value in r.items():
        key = (stamp.year, stamp.month)
        expected[key] = (1.0 + expected.get(key, 0.0)) * (1.0 + value) - 1.0
    body = re.search(r"<tbody>(.*?)</tbody>", sec, re.S).group(1)
    shown: dict[tuple[int, int], float] = {}
    years: dict[int, float] = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        year = int(re.search(r'<td class="l">(\d{4})</td>', tr).group(1))
        tags = re.findall(r"<td[^>]*>", tr)[1:]
        cells = [(re.findall(r'data-value="([^"]*)"', tag) or [""])[0] for tag in tags]
        assert len(cells) == 13
        for month, v in enumerate(cells[:12], start=1):
            if v != "nan":  # a month without bars
                shown[(year, month)] = float(v)
        years[year] = float(cells[12])
    assert shown.keys() == expected.keys()
    assert all(shown[k] == pytest.approx(expected[k], abs=1e-12) for k in expected)
    total = np.prod([1.0 + y for y in years.values()]) - 1.0
    oos_metrics = champion.results.to_json()["verdict"]["champion"]["oos_metrics"]
    assert total == pytest.approx(oos_metrics["total_return"], rel=1e-9)
    # rolling Sharpe: mean / std(ddof=1) * sqrt(bars per year) over a trailing window
    ppy = champion.results.to_json()["data"]["periods_per_year"]
    window = int(re.search(r"Rolling Sharpe ratio \((\d+) bars", text).group(1))
    (trace,) = _figure_data(text, "fig-rolling-sharpe")
    x = r.to_numpy()
    with np.errstate(invalid="ignore"):  # a flat window: 0 / 0, no Sharpe ratio
        want = [
            np.mean(x[i - window + 1 : i + 1]) / np.std(x[i - window + 1 : i + 1], ddof=1)
            for i in range(window - 1, len(x))
        ]
    got = np.asarray(trace["y"], float)
    assert np.isnan(got[: window - 1]).all()
    assert np.allclose(got[window - 1 :], np.asarray(want) * np.sqrt(ppy), equal_nan=True)


def test_pareto_front_when_several_objectives(pareto):
    secs = _sections((pareto.run_dir / "report.html").read_text())
    assert 'id="fig-pareto"' in secs["pareto"]
    assert "<title>Two objectives</title>" in (pareto.run_dir / "report.html").read_text()
    assert all(front for front in pareto.results.to_json()["pareto"].values())


def test_report_is_self_contained_and_rebuildable(failed, tmp_path):
    run = _runs.copy_run(failed.run_dir, tmp_path / "run")
    old = (run / "report.html").read_text()
    (run / "report.html").unlink()
    out = build_report(run)
    text = out.read_text()
    assert text == old.replace(str(failed.run_dir), str(run))
    # nothing loaded from elsewhere: no script/style/image sources (the browser test also
    # renders it with every host name unresolvable)
    assert not re.search(r"<(script|img|iframe)[^>]+src=", text)
    assert "<link" not in text
    assert text.count("plotly.js v") == 1  # the library itself, inlined once


# --------------------------------------------------------------------------------------------
# headless browser
# --------------------------------------------------------------------------------------------
@pytest.mark.browser
@needs_chromium
def test_report_renders_in_headless_chromium_without_script_errors(champion, tmp_path):
    report = champion.run_dir / "report.html"
    figures = re.findall(r'id="(fig-[a-z0-9-]+)"', report.read_text())
    assert len(figures) >= 10
    dom, log = render(report, tmp_path / "profile")
    assert script_errors(dom, log) == []
    rendered = re.findall(r'id="(fig-[a-z0-9-]+)" class="plotly-graph-div js-plotly-plot"', dom)
    assert sorted(rendered) == sorted(figures)  # plotly drew every figure
    assert dom.count('class="main-svg"') >= len(figures)
    assert {"fig-price-0", "fig-rolling-sharpe"} <= set(rendered)
    assert '<table class="monthly-table">' in dom


@pytest.mark.browser
@needs_chromium
def test_the_browser_check_catches_a_script_error(failed, tmp_path):
    """The check above can fail: the report's own error catcher (its first script) with one
    broken script after it is caught, in the log and in the page's error box."""
    text = (failed.run_dir / "report.html").read_text()
    catcher = re.search(r"<script>.*?</script>", text, re.S).group(0)
    assert "__reportErrors" in catcher
    broken = tmp_path / "broken.html"
    broken.write_text(
        f'<!DOCTYPE html><html><head>{catcher}</head><body><div id="report-errors"></div>'
        "<script>undefinedFunction();</script></body></html>"
    )
    dom, log = render(broken, tmp_path / "profile")
    errors = script_errors(dom, log)
    assert len(errors) == 2 and all("undefinedFunction" in e for e in errors)
