"""Closing the trial storages at the end of a command: nothing told is lost, no WAL is left."""

from __future__ import annotations

import optuna

from research.optimize.storage import close_storages, open_storage


def test_close_storages_folds_the_wal_into_the_database(tmp_path):
    db = tmp_path / "study.db"
    storage = open_storage(f"sqlite:///{db}")
    study = optuna.create_study(storage=storage, study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert (tmp_path / "study.db-wal").exists()  # written to the log, not yet checkpointed
    close_storages()
    assert not (tmp_path / "study.db-wal").exists()
    assert open_storage(f"sqlite:///{db}") is not storage  # opened afresh after closing
    again = optuna.load_study(study_name="s", storage=f"sqlite:///{db}")
    assert [t.params for t in again.trials] == [t.params for t in study.trials]
    close_storages()
