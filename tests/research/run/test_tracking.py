"""MLflow tracking against a local SQLite store: the run, its folds, the report as artifact."""

from __future__ import annotations

import json

import pytest

from research.experiment import parse_experiment
from research.runner import run_experiment
from tests.research import _runs

mlflow = pytest.importorskip("mlflow", reason="mlflow not installed (extra `tracking`)")


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """A run with ``tracking: mlflow`` and the default store ``<runs root>/mlflow.db``."""
    root = tmp_path_factory.mktemp("tracked")
    raw = _runs.spec(
        name="tracked",
        strategies=["sma_cross"],
        optimizers=["tpe", "random"],
        budget={"n_trials": 4},
        gates={
            "min_dsr": None,
            "max_pbo": None,
            "min_stability": None,
            "max_drawdown": None,
            "min_trades": 1,
        },
        tracking="mlflow",
    )
    result = run_experiment(parse_experiment(raw), runs_root=root, progress=False)
    return root, result


def test_run_and_folds_are_logged_with_the_report(tracked):
    from mlflow.tracking import MlflowClient

    root, result = tracked
    uri = f"sqlite:///{(root / 'mlflow.db').resolve()}"
    assert (root / "mlflow.db").is_file()
    record = json.loads((result.run_dir / "run.json").read_text())
    pid = record["mlflow_run_id"]
    assert record["mlflow_uri"] == uri and result.mlflow_run_id == pid

    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(pid)
    assert parent.info.status == "FINISHED"
    assert parent.info.run_name == f"tracked/{result.results.to_json()['run_id']}"
    params, metrics, tags = parent.data.params, parent.data.metrics, parent.data.tags
    assert params["config.name"] == "tracked" and params["config.seed"] == "3"
    assert params["config.budget.n_trials"] == "4"
    champion = result.champion
    assert champion is not None  # only the trade-count gate is on
    for k, v in champion["params"].items():
        assert params[f"champion.{k}"] == str(v)
    assert metrics["oos_sharpe_ratio"] == pytest.approx(champion["oos_metrics"]["sharpe_ratio"])
    assert metrics["dsr"] == pytest.approx(champion["stats"]["dsr"])
    assert metrics["n_trials_total"] == result.results.to_json()["overfitting"]["n_trials_total"]
    assert metrics["gates_passed"] == 1.0
    assert tags["research.champion"] == champion["candidate"]
    assert tags["research.data_fingerprint"] == result.results.to_json()["data"]["fingerprint"]
    artifacts = {a.path for a in client.list_artifacts(pid)}
    assert {"report.html", "results.json", "leaderboard.csv", "config.yaml"} <= artifacts
    local = client.download_artifacts(pid, "report.html", str(root / "dl"))
    assert open(local, encoding="utf-8").read() == (result.run_dir / "report.html").read_text()

    exp = client.get_experiment_by_name("tracked")
    children = client.search_runs(
        [exp.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{pid}'"
    )
    searches = result.results.to_json()["searches"]
    assert len(children) == sum(len(s["folds"]) for s in searches) == 6
    by_name = {c.info.run_name: c for c in children}
    for s in searches:
        for f in s["folds"]:
            child = by_name[f"{s['key']} fold {f['number']}"]
            assert child.data.tags["research.kind"] == "fold"
            if f["oos"].get("sharpe_ratio") is not None:
                assert child.data.metrics["oos_sharpe_ratio"] == pytest.approx(
                    f["oos"]["sharpe_ratio"]
                )
            if f["params"]:
                assert child.data.params["fast"] == str(f["params"]["fast"])


def test_logging_twice_adds_nothing(tracked):
    from mlflow.tracking import MlflowClient

    from research.tracking import log_run

    root, result = tracked
    uri = f"sqlite:///{(root / 'mlflow.db').resolve()}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("tracked")
    before = len(client.search_runs([exp.experiment_id]))
    assert log_run(result.run_dir) == result.mlflow_run_id
    assert len(client.search_runs([exp.experiment_id])) == before


def test_without_a_champion_the_best_candidate_is_logged(tracked):
    from mlflow.tracking import MlflowClient

    from research.tracking import log_run

    root, _ = tracked
    failed = _runs.finished_run()
    run = _runs.copy_run(failed.run_dir, root / "tiny" / "copy")
    uri = f"sqlite:///{(root / 'mlflow.db').resolve()}"
    pid = log_run(run, uri=uri)
    data = MlflowClient(tracking_uri=uri).get_run(pid).data
    best = failed.results.to_json()["verdict"]["best"]
    assert data.tags["research.champion"] == "" and data.tags["research.best"] == best["candidate"]
    assert data.metrics["gates_passed"] == 0.0
    for k, v in best["params"].items():
        assert data.params[f"best.{k}"] == str(v)
