"""Tests of data_loaders/atomic.py: all or nothing, file modes as a plain write would give."""

from __future__ import annotations

import os

import pytest

from data_loaders.atomic import atomic_write, atomic_write_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")

    def half_then_die(tmp):
        tmp.write_text("ne")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        atomic_write(target, half_then_die)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_modes_match_a_plain_write_and_are_kept_on_rewrite(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    new = atomic_write_text(tmp_path / "sub" / "new.txt", "x")
    assert new.read_text() == "x"
    assert new.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777  # not mkstemp's 0600
    os.chmod(new, 0o640)
    atomic_write_text(new, "y")
    assert new.stat().st_mode & 0o777 == 0o640 and new.read_text() == "y"
