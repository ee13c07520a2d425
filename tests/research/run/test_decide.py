"""research.run.nightly.decide: the promotion policy as a table of cases (pure, no I/O)."""

from __future__ import annotations

import pytest

from research.run.nightly import Decision, decide


def who(name, value, *, passed=True, failed=()):
    return {
        "candidate": name,
        "gates_passed": passed,
        "failed_gates": list(failed),
        "window_metrics": {"sharpe_ratio": value},
    }


CASES = [
    # (challenger, champion, direction, margin) -> (decision, promoted, reason fragment)
    (None, None, "maximize", 0.0, "no_champion", False, "produced no candidate"),
    (None, who("k", 1.0), "maximize", 0.0, "kept", False, "produced no candidate"),
    (
        who("c", 2.0, passed=False, failed=["min_dsr", "max_pbo"]),
        who("k", 1.0),
        "maximize",
        0.0,
        "kept",
        False,
        "challenger c fails gates: min_dsr, max_pbo",
    ),
    (who("c", 2.0, passed=False), None, "maximize", 0.0, "no_champion", False, "see its report"),
    (who("c", -5.0), None, "maximize", 0.0, "promoted", True, "no champion yet; challenger c"),
    (who("c", 1.3), who("k", 1.0), "maximize", 0.2, "promoted", True, "improvement 0.3000 > 0.2"),
    (who("c", 1.1), who("k", 1.0), "maximize", 0.2, "kept", False, "does not beat the champion"),
    (who("c", 1.2), who("k", 1.0), "maximize", 0.2, "kept", False, "by more than 0.2"),  # not >
    (who("c", 0.5), who("k", 1.0), "minimize", 0.2, "promoted", True, "improvement 0.5000"),
    (who("c", 1.5), who("k", 1.0), "minimize", 0.0, "kept", False, "1.5000 vs 1.0000"),
    (who("c", None), who("k", 1.0), "maximize", 0.0, "kept", False, "is undefined"),
    (who("c", 1.0), who("k", None), "maximize", 0.0, "kept", False, "champion None"),
]


@pytest.mark.parametrize(
    ("challenger", "champion", "direction", "margin", "decision", "promoted", "why"), CASES
)
def test_decide(challenger, champion, direction, margin, decision, promoted, why):
    out = decide(challenger, champion, metric="sharpe_ratio", direction=direction, margin=margin)
    assert isinstance(out, Decision)
    assert (out.decision, out.promoted) == (decision, promoted)
    assert len(out.reasons) == 1 and why in out.reasons[0]
