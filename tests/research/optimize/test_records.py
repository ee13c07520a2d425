"""Trial record format 2: a batch's user attributes in one columnar row of ``qr_trial_batches``
(research.optimize._records); studies written by earlier releases (attributes per trial) still
read and resume; new SQLite files copied from the process's template are Optuna databases."""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
import optuna
import pytest

from research.optimize._records import TABLE, decode_payload, encode_payload
from research.optimize.storage import close_storages, open_storage, study_trials

COLS = ["fold", "number", "state", "feasible", "value", "step", "batch"]


def _same(a, b) -> bool:
    """Equal, NaN equal to NaN (nested)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def test_a_payload_reads_back_every_attribute_exactly():
    rng = np.random.default_rng(0)
    attrs = []
    for i in range(40):
        metrics = {"sharpe_ratio": float(rng.normal()), "n_trades": float(i), "calmar": math.nan}
        if i % 7 == 3:
            metrics["liquidated_at"] = 12.0  # a key only some trials have
        qr = {
            "batch": i // 8,
            "batch_size": 8,
            "status": ["complete", "pruned", "fail"][i % 3],
            "feasible": i % 3 == 0,
            "reason": "" if i % 5 else f"why {i}",
            "objective": None if i % 3 else [float(rng.normal())],
            "val_objective": None,
            "step": i % 4,
            "cost": 1.0 / (1 + i % 3),
            "constraints": {"params": 0.0, "min_trades": float(i % 2)},
        }
        one = {"metrics": metrics, "qr": qr}
        if i % 4 == 1:
            one["step_metrics"] = {"sharpe_ratio": -0.5, "odd": "text"}  # not all numbers
        if i == 5:
            one["empty"] = {}
        attrs.append(one)
    back = decode_payload(encode_payload(attrs), len(attrs))
    assert len(back) == len(attrs)
    for a, b in zip(attrs, back):
        assert _same(a, b), (a, b)
        assert list(a) == list(b)  # key order kept


def test_constant_and_single_trial_columns():
    attrs = [{"qr": {"status": "complete", "flag": True, "n": 3, "x": [1, 2]}}]
    assert decode_payload(encode_payload(attrs), 1) == attrs
    many = [{"metrics": {"a": 1.5}, "qr": {"status": "complete"}}] * 5
    assert decode_payload(encode_payload(many), 5) == many


def test_non_numbers_fall_back_to_json():
    attrs = [
        {"metrics": {"a": np.float64(1.25), "b": 2}},  # numpy scalars, ints
        {"metrics": {"a": 3.5, "b": True}},  # a bool is no number here
    ]
    back = decode_payload(encode_payload(attrs), 2)
    assert back == [{"metrics": {"a": 1.25, "b": 2}}, {"metrics": {"a": 3.5, "b": True}}]


def test_one_record_row_per_write_and_no_user_attribute_rows(wfo, tmp_path):
    res = wfo(optimizer="ga", n_trials=16, run_dir=tmp_path / "r")
    with sqlite3.connect(tmp_path / "r" / "optuna.db") as conn:
        assert conn.execute("SELECT count(*) FROM trial_user_attributes").fetchone() == (0,)
        rows = conn.execute(f"SELECT first_number, n_trials FROM {TABLE}").fetchall()
    assert sum(n for _, n in rows) == len(res.trials)
    for name in res.study_names:  # Optuna still shows every trial with params and values
        study = optuna.load_study(study_name=name, storage=res.storage)
        assert len(study.trials) == 16
        assert all(t.params and t.values for t in study.trials)


def _to_format_1(path, base_attrs: dict) -> None:
    """Rewrite a run's database as the release before format 2 wrote it: every trial's user
    attributes as Optuna rows (with the run-level ones), no batch records."""
    with sqlite3.connect(path) as conn:
        ids = dict(conn.execute("SELECT study_id || ':' || number, trial_id FROM trials"))
        fold = {
            sid: json.loads(v)
            for sid, v in conn.execute(
                "SELECT study_id, value_json FROM study_user_attributes WHERE key = 'fold'"
            )
        }
        rows = conn.execute(f"SELECT study_id, first_number, n_trials, payload FROM {TABLE}")
        for sid, first, n, payload in rows.fetchall():
            for k, attrs in enumerate(decode_payload(payload, n)):
                tid = ids[f"{sid}:{first + k}"]
                # constraint values were Optuna system attributes ("constraints:<name>")
                constraints = attrs["qr"].pop("constraints", {})
                known = conn.execute(
                    "SELECT count(*) FROM trial_system_attributes WHERE trial_id = ? AND "
                    "key LIKE 'constraints:%'",
                    (tid,),
                ).fetchone()[0]
                for key, value in constraints.items() if not known else ():
                    conn.execute(
                        "INSERT INTO trial_system_attributes (trial_id, key, value_json) "
                        "VALUES (?, ?, ?)",
                        (tid, f"constraints:{key}", json.dumps(value)),
                    )
                attrs = {**attrs, **base_attrs, "fold": fold[sid], "trial_seed": 123}
                for key, value in attrs.items():
                    conn.execute(
                        "INSERT INTO trial_user_attributes (trial_id, key, value_json) "
                        "VALUES (?, ?, ?)",
                        (tid, key, json.dumps(value)),
                    )
        conn.execute(f"DELETE FROM {TABLE}")
        conn.execute("DELETE FROM study_user_attributes WHERE key = 'trial_record'")


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("tpe", {"guardrails": {"min_trades": 8}}),
        ("ga", {"batch_size": 3, "guardrails": {"min_trades": 2}}),  # replayed, not absorbed
        ("random", {}),
    ],
)
def test_a_study_written_by_the_previous_release_reads_and_resumes(wfo, tmp_path, name, extra):
    reference = wfo(optimizer=name, n_trials=24, run_dir=tmp_path / "ref", **extra)
    if extra.get("guardrails"):  # infeasible trials: their recorded constraints are read
        assert (~reference.trials["feasible"]).any() and reference.trials["feasible"].any()
    first = wfo(optimizer=name, n_trials=16, run_dir=tmp_path / "old", **extra)
    close_storages()
    _to_format_1(tmp_path / "old" / "optuna.db", {"seed": 11, "code_version": "old"})
    for path in (tmp_path / "old" / "checkpoints").glob("*.json"):
        path.unlink()  # every recorded trial is replayed
    old = study_trials(first.storage, first.study_names[0])
    assert [t.number for t in old] == list(range(16))
    assert all("qr" in t.user_attrs and t.user_attrs["code_version"] == "old" for t in old)
    assert all("constraints" not in t.user_attrs["qr"] for t in old)
    resumed = wfo(optimizer=name, n_trials=24, run_dir=tmp_path / "old", **extra)
    assert resumed.trials[COLS].equals(reference.trials[COLS])
    assert resumed.trials["params"].tolist() == reference.trials["params"].tolist()
    mixed = study_trials(first.storage, first.study_names[1])  # 16 of format 1, 8 of format 2
    assert [t.user_attrs["qr"]["status"] for t in mixed] == reference.trials[
        reference.trials["fold"] == 1
    ]["state"].tolist()


def test_a_new_sqlite_file_is_a_full_optuna_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    storage = open_storage(url)
    study_id = storage.create_new_study([optuna.study.StudyDirection.MAXIMIZE], "s")
    close_storages()
    # Optuna's own checks (tables, schema version) pass on the copy of the template
    plain = optuna.storages.RDBStorage(url)
    assert plain.get_study_id_from_name("s") == study_id
    plain.engine.dispose()
    reopened = open_storage(url)  # an existing file is opened, never replaced
    assert reopened.get_study_id_from_name("s") == study_id
    close_storages()


def test_the_records_table_created_meanwhile_by_another_process_is_fine(tmp_path, monkeypatch):
    from sqlalchemy import create_engine, inspect

    from data_loaders.errors import ConfigError
    from research.optimize import storage

    url = f"sqlite:///{tmp_path / 'race.db'}"
    engine = create_engine(url)
    real = storage.RECORDS.create

    def racing(bind, checkfirst=True):
        real(bind, checkfirst=True)  # the other process created it first ...
        raise RuntimeError("table qr_trial_batches already exists")  # ... so ours fails

    monkeypatch.setattr(storage.RECORDS, "create", racing)
    storage._create_records_table(engine, url)
    assert inspect(engine).has_table(TABLE)

    def refused(bind, checkfirst=True):
        raise RuntimeError("permission denied for schema public")

    monkeypatch.setattr(storage.RECORDS, "create", refused)
    other = create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with pytest.raises(ConfigError, match="cannot create the table 'qr_trial_batches'"):
        storage._create_records_table(other, "sqlite:///other.db")
    engine.dispose()
    other.dispose()
