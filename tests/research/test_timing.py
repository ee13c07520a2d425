"""research._timing: stages add to the active recorder only, nested and repeated stages."""

from __future__ import annotations

import time

from research._timing import StageTimes, stage


def test_stage_outside_an_active_recorder_records_nothing():
    times = StageTimes()
    with stage("x"):
        pass
    assert times.wall == {} and times.cpu == {}


def test_stages_add_up_nest_and_stop_when_the_recorder_is_left():
    times = StageTimes()
    with times.active():
        with stage("a"):
            time.sleep(0.02)
            with stage("a/b"):
                time.sleep(0.01)
        with stage("a"):
            time.sleep(0.01)
    with stage("after"):
        pass
    assert list(times.wall) == ["a/b", "a"]  # a child closes first
    assert times.wall["a"] >= 0.04 - 1e-3 and times.wall["a/b"] >= 0.01 - 1e-3
    assert times.wall["a"] >= times.wall["a/b"]
    assert "after" not in times.wall
    # sleeping uses no CPU: the CPU seconds stay well below the wall seconds
    assert times.cpu["a"] < times.wall["a"]
    assert times.to_json()["a"] == {
        "wall": round(times.wall["a"], 3),
        "cpu": round(times.cpu["a"], 3),
    }


def test_activate_and_deactivate_restore_the_previous_recorder():
    outer, inner = StageTimes(), StageTimes()
    with outer.active():
        token = inner.activate()
        with stage("s"):
            pass
        inner.deactivate(token)
        with stage("t"):
            pass
    assert list(inner.wall) == ["s"] and list(outer.wall) == ["t"]
