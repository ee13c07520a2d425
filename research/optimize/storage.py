"""Trial records in Optuna's RDB storage: SQLite under the run folder, or PostgreSQL.

Every trial of every fold is one Optuna trial of the fold's study, so ``optuna.load_study`` (or
``optuna-dashboard``) reads a run as it would any Optuna study: params, values, state,
intermediate values, and the system attributes its sampler keeps (constraint values for the
samplers that read them, CMA-ES and NSGA-II state).

**Trial record format 2** (study user attribute ``trial_record`` = 2). Each trial's user
attributes are *not* Optuna rows but part of one row per written batch in the project table
``qr_trial_batches`` (columnar, floats in binary; :mod:`research.optimize._records`):

* ``metrics``: in-sample metrics of the evaluated window (``val_metrics`` with an inner
  validation split, ``step_metrics`` for a pruned trial);
* ``qr``: bookkeeping of the search (``batch``, ``batch_size``, ``status``, ``feasible``,
  ``reason``, ``objective``, ``val_objective``, ``step``, ``cost``, ``constraints``, and
  the optimizer's candidate attributes, e.g. a GA's ``generation``).

Attributes that are the same for a whole study are the study's user attributes, written once:
the configuration and its hash, ``seed`` (the run's seed), ``fold``, ``data_fingerprint``
(:func:`data_loaders.data_fingerprint`), ``code_version``
(:func:`research._version.code_version_text`) and ``code_identity``. A trial's sampler seed is
``trial_seed(trial_seed(seed, fold), number)`` (:func:`research.optimize._base.trial_seed`).
:func:`study_trials` / :func:`load_trials` (and :meth:`TrialStore.load`) give the trials with
their user attributes back. Studies written by earlier releases (format 1: ``metrics``, ``qr``,
``seed``, ``trial_seed``, ``fold``, ``data_fingerprint`` and ``code_version`` as Optuna user
attributes of every trial) read the same way and resume; new trials of such a study are
written in format 2. Why: on daily bars the batch path evaluates a trial in 30-80 us, and its
~15 attribute rows cost ~110 us to write; now writing a trial (its Optuna rows and its share of
the batch record, ~5 us of encoding) costs ~20 us.

Reopening a study with another configuration raises :class:`ConfigError` (pass another
``study_name``).

Writes: the trials of one batch are written in **one transaction** (multi-row inserts into
Optuna's own tables and the batch record), far cheaper than one ``Study.add_trial`` call per
trial; a new study and its attributes are one transaction; a new SQLite file is a copy of an
empty database Optuna made earlier in the process. If Optuna's internal storage layout ever
changes, :class:`TrialStore` falls back to the public API (``add_trials``, which writes the
user attributes per trial as format 1 did). Reads use the public storage API.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sqlite3
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from data_loaders import data_fingerprint
from data_loaders.errors import ConfigError
from research._json import to_jsonable as jsonable
from research.optimize._optuna_internals import (
    bulk_create_study,
    bulk_insert_trials,
    bulk_set_study_user_attrs,
    shared_alembic_script,
    study_id_by_name,
)
from research.optimize._records import encode_payload, read_records, records_table

__all__ = [
    "TrialStore",
    "open_storage",
    "close_storages",
    "default_storage_url",
    "data_fingerprint",
    "best_params",
    "safe_url",
    "jsonable",
    "load_trials",
    "study_trials",
]

_CONFIG_HASH = "config_hash"
_CODE_IDENTITY = "code_identity"
#: study user attribute naming the trial record format (absent: format 1, attributes per trial)
RECORD_FORMAT = "trial_record"
#: the table of batch records (:mod:`research.optimize._records`)
RECORDS = records_table()


def default_storage_url(run_dir: str | Path) -> str:
    """``sqlite:///<run_dir>/optuna.db`` (absolute path), creating the folder."""
    path = Path(run_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'optuna.db'}"


def safe_url(url: str) -> str:
    """The storage URL with any password hidden (for messages)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


#: the storages :func:`open_storage` opened in this process and still in use
_OPENED: weakref.WeakSet[Any] = weakref.WeakSet()


def close_storages() -> None:
    """Close the connections of every storage :func:`open_storage` opened (SQLite folds its
    write-ahead log into the database file and removes it); later calls open them afresh."""
    open_storage.cache_clear()
    for storage in list(_OPENED):
        storage.engine.dispose()
    _OPENED.clear()


@functools.lru_cache(maxsize=8)
def open_storage(url: str) -> Any:
    """An :class:`optuna.storages.RDBStorage` for ``url`` (cached per process).

    SQLite (the default ``pysqlite`` driver) gets a 60 s busy timeout and write-ahead logging
    on every connection from the first (:class:`_WalConnection`); other databases a pre-ping
    connection pool.

    Raises:
        ConfigError: the database cannot be reached or the URL is not a database URL.
    """
    import optuna

    url = _with_installed_driver(url)
    kwargs: dict[str, Any] = {}
    made = False
    if url.startswith(("sqlite://", "sqlite+pysqlite://")):
        kwargs["connect_args"] = {"timeout": 60, "factory": _WalConnection}
        made = _from_template(url)
    elif url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 60}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        with shared_alembic_script():  # the revision files are read once per process
            storage = optuna.storages.RDBStorage(
                url,
                engine_kwargs=kwargs,
                # a copy of this process's template: made by this Optuna, tables in place
                skip_compatibility_check=made,
                skip_table_creation=made,
            )
    except Exception as exc:
        raise ConfigError(
            f"cannot open the trial storage {safe_url(url)!r}: {type(exc).__name__}: {exc}"
        ) from None
    _create_records_table(storage.engine, url)
    _OPENED.add(storage)
    return storage


def _create_records_table(engine: Any, url: str) -> None:
    """Create the table of batch records (:mod:`research.optimize._records`) unless it exists
    (another process creating it at the same moment is fine).

    Raises:
        ConfigError: it cannot be created (e.g. no right to create tables in that database).
    """
    from sqlalchemy import inspect

    try:
        RECORDS.create(engine, checkfirst=True)
    except Exception as exc:
        if inspect(engine).has_table(RECORDS.name):  # created meanwhile by another process
            return
        raise ConfigError(
            f"cannot create the table {RECORDS.name!r} in {safe_url(url)!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from None


#: this process's empty SQLite database with Optuna's tables and the records table
_TEMPLATE: list[Path] = []


def _from_template(url: str) -> bool:
    """Create the SQLite file of ``url`` as a copy of this process's empty template database
    when it does not exist yet (True); False, touching nothing, otherwise.

    Optuna creating its ~12 tables and stamping its schema version on a new file costs
    40-70 ms per run folder; a copy of a file it made earlier in the process, a few. The copy
    is linked into place, so a file another process created meanwhile is never overwritten.
    """
    import os
    import shutil

    from sqlalchemy.engine import make_url

    try:
        database = make_url(url).database
    except Exception:
        return False
    if not database or database == ":memory:" or database.startswith("file:"):
        return False
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return False
    template = _template_file()
    if template is None:
        return False
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        shutil.copyfile(template, part)
        os.link(part, path)  # fails if the file appeared meanwhile
    except OSError:
        return False
    finally:
        part.unlink(missing_ok=True)
    return True


def _template_file() -> Path | None:
    """The empty database every new SQLite file of this process is copied from (made once)."""
    import atexit
    import shutil
    import tempfile

    import optuna

    if _TEMPLATE:
        return _TEMPLATE[0]
    folder = Path(tempfile.mkdtemp(prefix="qr-optuna-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "template.db"
    try:
        with shared_alembic_script():
            storage = optuna.storages.RDBStorage(f"sqlite:///{path}")
        RECORDS.create(storage.engine, checkfirst=True)
        storage.engine.dispose()
        # write-ahead logging is recorded in the file: its copies need no conversion
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
    except Exception:
        return None
    _TEMPLATE.append(path)
    return path


def _with_installed_driver(url: str) -> str:
    """``url`` with an installed PostgreSQL driver when it names none.

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3; with only psycopg2 installed
    (the ``distributed`` extra) the URL is rewritten to ``postgresql+psycopg2://``.
    """
    import importlib.util

    if not url.startswith("postgresql://"):
        return url
    if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2"):
        return "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


class _WalConnection(sqlite3.Connection):
    """A SQLite connection in write-ahead-log mode with ``synchronous=NORMAL`` from its start.

    A commit then appends to the WAL without an fsync: it survives the process being killed
    (SIGKILL) at any moment; only a power loss can drop the last commits. Commits are several
    times cheaper, and readers (a dashboard) do not block the writer. Set as the connection
    ``factory`` (``sqlite3.connect``), it also covers the connections Optuna opens while it
    creates its tables on a new file: their ~50 DDL statements commit to the WAL without
    syncing the disk at each (0.1-0.4 s of disk waits on a new run folder).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA journal_mode=WAL")
        self.execute("PRAGMA synchronous=NORMAL")


class TrialStore:
    """One study of an RDB storage: open (create or check), load, write batches.

    Args:
        url: storage URL (``sqlite:///...`` or ``postgresql://...``).
        study_name: the study.
        directions: ``maximize``/``minimize`` per objective.
        attrs: study user attributes written when the study is created; ``attrs["config_hash"]``
            is compared with the stored one when it already exists.
    """

    def __init__(
        self,
        url: str,
        study_name: str,
        directions: Sequence[str],
        attrs: Mapping[str, Any],
        *,
        allow_changed_code: bool = False,
    ) -> None:
        self.url = url
        self.study_name = study_name
        self.directions = list(directions)
        self.attrs = {**dict(attrs), RECORD_FORMAT: 2}
        self.allow_changed_code = allow_changed_code

    def open(self) -> TrialStore:
        """Create the study or reopen it after checking its configuration; returns ``self``."""
        from optuna.study import StudyDirection

        storage = open_storage(self.url)
        wanted = [
            StudyDirection.MAXIMIZE if d == "maximize" else StudyDirection.MINIMIZE
            for d in self.directions
        ]
        self.fresh_ = False
        study_id = _study_id(storage, self.study_name)
        if study_id is None:
            study_id = self._create(storage, wanted)
            self.fresh_ = True  # nothing to read back: no trials, no sampler state yet
            n_written = 0
        else:
            if self._unfinished_creation(storage, study_id, wanted):
                # created, then killed before its attributes were written: finish creating it
                self._write_attrs(storage, study_id)
            self.check_code(storage.get_study_user_attrs(study_id).get(_CODE_IDENTITY))
            stored = storage.get_study_user_attrs(study_id).get(_CONFIG_HASH)
            if (
                stored != self.attrs.get(_CONFIG_HASH)
                or storage.get_study_directions(study_id) != wanted
            ):
                raise ConfigError(
                    f"study {self.study_name!r} in {safe_url(self.url)} was created by a different "
                    f"configuration (hash {stored!r}, this call {self.attrs.get(_CONFIG_HASH)!r}); "
                    "pass another study_name or delete that study"
                )
            n_written = len(storage.get_all_trials(study_id, deepcopy=False))
        self.storage_ = storage
        self.study_id_ = study_id
        self.n_written_ = n_written
        return self

    def _create(self, storage: Any, wanted: list[Any]) -> int:
        """Create the study with its attributes (one transaction where Optuna allows it)."""
        from research.optimize._optuna import quiet_optuna

        attrs = {key: jsonable(value) for key, value in self.attrs.items()}
        try:  # research.optimize._optuna_internals
            return bulk_create_study(storage, self.study_name, wanted, attrs)
        except (ImportError, AttributeError):
            with quiet_optuna():
                study_id = storage.create_new_study(wanted, self.study_name)
            self._write_attrs(storage, study_id)
            return study_id

    def _write_attrs(self, storage: Any, study_id: int) -> None:
        """Write the study's user attributes (one transaction where Optuna allows it)."""
        attrs = {key: jsonable(value) for key, value in self.attrs.items()}
        try:  # one transaction (research.optimize._optuna_internals)
            bulk_set_study_user_attrs(storage, study_id, attrs)
        except (ImportError, AttributeError):
            for key, value in attrs.items():
                storage.set_study_user_attr(study_id, key, value)

    @staticmethod
    def _unfinished_creation(storage: Any, study_id: int, wanted: list[Any]) -> bool:
        """A study with the wanted directions but no trials and none of our attributes: a run
        killed between creating it and writing its attributes (two transactions)."""
        return (
            _CONFIG_HASH not in storage.get_study_user_attrs(study_id)
            and storage.get_study_directions(study_id) == wanted
            and not storage.get_all_trials(study_id, deepcopy=False)
        )

    def check_code(self, stored: Any) -> None:
        """Refuse to reopen a study whose trials other code made (unless allowed)."""
        from research.optimize.identity import identity_changes

        wanted = self.attrs.get(_CODE_IDENTITY)
        if self.allow_changed_code or not isinstance(stored, Mapping) or wanted is None:
            return
        changes = identity_changes(stored, wanted)
        if changes:
            more = f" (and {len(changes) - 2} more)" if len(changes) > 2 else ""
            raise ConfigError(
                f"study {self.study_name!r} in {safe_url(self.url)} holds trials made by other "
                f"code: {'; '.join(changes[:2])}{more}; its trials would be stale: pass "
                "--allow-changed-code (allow_changed_code=True) to reuse them anyway, or another "
                "storage / run folder / study_name"
            )

    def load(self) -> list[Any]:
        """Every recorded finished trial, by number, with its user attributes (from its batch
        record, or its Optuna rows when a previous release wrote it)."""
        if self.fresh_ and not self.n_written_:
            return []
        return load_trials(self.storage_, self.study_id_)

    def study_system_attrs(self) -> dict[str, Any]:
        if self.fresh_:
            return {}
        return dict(self.storage_.get_study_system_attrs(self.study_id_))

    def write_study_system_attrs(self, attrs: Mapping[str, Any]) -> None:
        """Store the study-level sampler state entries that changed."""
        self.fresh_ = False
        current = self.study_system_attrs()
        for key, value in attrs.items():
            if current.get(key) != value:
                self.storage_.set_study_system_attr(self.study_id_, key, value)

    def write(self, trials: Sequence[Any]) -> None:
        """Append finished trials (their ``number`` must continue the study's numbering)."""
        if not trials:
            return
        expected = list(range(self.n_written_, self.n_written_ + len(trials)))
        got = [t.number for t in trials]
        if got != expected:
            raise RuntimeError(
                f"study {self.study_name!r} holds {self.n_written_} trials; cannot append "
                f"trials numbered {got[:3]}..."
            )
        payload = encode_payload([t.user_attrs for t in trials])
        try:  # Optuna's own tables, one transaction (see research.optimize._optuna_internals)
            bulk_insert_trials(self.storage_, self.study_id_, trials, (RECORDS, payload))
        except (ImportError, AttributeError, TypeError):
            import optuna

            study = optuna.load_study(study_name=self.study_name, storage=self.storage_)
            study.add_trials(trials)
        self.n_written_ += len(trials)


def study_trials(url: str, study_name: str) -> list[Any]:
    """Every finished trial of the study ``study_name`` in the storage ``url``, with its user
    attributes (``metrics``, ``qr``, ...): what ``optuna.load_study(...).trials`` gives plus
    the batch records (:func:`load_trials`).

    Raises:
        ConfigError: no such study in that storage.
    """
    rdb = open_storage(url)
    study_id = _study_id(rdb, study_name)
    if study_id is None:
        raise ConfigError(f"no study {study_name!r} in {safe_url(url)}")
    return load_trials(rdb, study_id)


def _study_id(storage: Any, name: str) -> int | None:
    """The id of the study ``name`` (None when there is none)."""
    try:  # one Core query (research.optimize._optuna_internals)
        return study_id_by_name(storage, name)
    except (ImportError, AttributeError):
        try:
            return int(storage.get_study_id_from_name(name))
        except KeyError:
            return None


def load_trials(storage: Any, study_id: int) -> list[Any]:
    """Every finished trial of a study (optuna ``FrozenTrial``, by number) with its user
    attributes: those of its batch record (:mod:`research.optimize._records`) over those
    stored as Optuna rows (trials written by a previous release, or by the public
    ``add_trials`` fallback)."""
    from optuna.trial import TrialState

    trials = storage.get_all_trials(study_id, deepcopy=False)
    done = [t for t in trials if t.state != TrialState.RUNNING and t.state != TrialState.WAITING]
    with storage.engine.connect() as conn:
        records = read_records(conn, RECORDS, study_id)
    for t in done:
        attrs = records.get(t.number)
        if attrs is not None:
            t.user_attrs = {**t.user_attrs, **attrs} if t.user_attrs else attrs
    return sorted(done, key=lambda t: t.number)


def best_params(
    storage: str, study_name: str, top_k: int = 5, objective: int = 0
) -> list[dict[str, Any]]:
    """Parameter sets of the ``top_k`` best feasible complete trials of a recorded study.

    For warm-starting a new search from a previous one (``warm_start=best_params(...)``). Trials
    are ranked on objective ``objective`` in the study's direction, by their recorded metrics
    (the values told to samplers may be penalties). Params of inactive conditional parameters are
    absent (the strategy's defaults apply).

    Raises:
        ConfigError: no such study in that storage.
    """
    import optuna
    from optuna.trial import TrialState

    rdb = open_storage(storage)
    try:
        study_id = rdb.get_study_id_from_name(study_name)
    except KeyError:
        raise ConfigError(f"no study {study_name!r} in {safe_url(storage)}") from None
    direction = rdb.get_study_directions(study_id)[objective]
    sign = 1.0 if direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
    scored = []
    for t in load_trials(rdb, study_id):
        qr = t.user_attrs.get("qr", {})
        if t.state != TrialState.COMPLETE or not qr.get("feasible", True):
            continue
        value = qr.get("objective", t.values)
        if isinstance(value, list):
            value = value[objective] if len(value) > objective else None
        if value is None or not math.isfinite(value):
            continue
        scored.append((-sign * value, t.number, dict(t.params)))
    scored.sort(key=lambda x: (x[0], x[1]))
    return [p for _, _, p in scored[: max(0, int(top_k))]]
