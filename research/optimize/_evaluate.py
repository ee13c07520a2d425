"""Moved to :mod:`research.optimize.evaluate` (public: the evaluation kernel shared by the search
and the judging re-evaluations). This alias stays for one release."""

from research.optimize.evaluate import (  # noqa: F401
    EvalContext,
    EvalTask,
    SetResult,
    error_text,
    run_task,
    split_task,
)

__all__ = ["EvalContext", "EvalTask", "SetResult", "run_task", "split_task", "error_text"]
