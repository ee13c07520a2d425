"""Moved to :mod:`research.run.store` and :mod:`research.run.compare` (old imports keep working)."""

from research.run.compare import (
    RunInfo,
    compare_runs,
    flatten_config,
    format_comparison,
    format_runs,
    list_runs,
    load_results,
)
from research.run.store import (
    MARKER,
    RunDir,
    atomic_write_json,
    atomic_write_text,
    code_version,
    finish_run,
    prepare_run_dir,
    read_run_record,
    release_run,
    resume_key,
    write_run_record,
    write_run_record_path,
)

__all__ = [
    "RunDir",
    "RunInfo",
    "MARKER",
    "prepare_run_dir",
    "finish_run",
    "release_run",
    "write_run_record",
    "write_run_record_path",
    "read_run_record",
    "code_version",
    "atomic_write_text",
    "atomic_write_json",
    "list_runs",
    "load_results",
    "compare_runs",
    "format_comparison",
    "format_runs",
    "flatten_config",
    "resume_key",
]
