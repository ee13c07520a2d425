"""YAML bombs, deep nesting, duplicate keys, bad encodings and code tags in specs: refused at load
time in one line, quickly, before anything is written (issue 11, item 5)."""

from __future__ import annotations

import time

import pytest

from research.cli import EXIT_USAGE
from tests.redteam._cli import QUICKSTART, one_line, research, snapshot

LAUGHS = "".join(
    f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" if i else "  - &l0 [lol, lol, lol]\n"
    for i in range(10)
)  # 3 * 9**9 = 1.2e9 strings once expanded


def _bomb_under(key: str) -> str:
    """quickstart.yaml with a billion-laughs bomb whose top is referenced under ``key``."""
    text = QUICKSTART.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith(("description", "  SMA",
             "  2008"))]  # fmt: skip
    head = "laughs:\n" + LAUGHS
    body = "\n".join(lines)
    if key == "description":
        return head + "description: *l9\n" + body
    if key == "explore.spec":
        return head + body + "\nexplore:\n  spec: {horizons: *l9}\n"
    if key == "options":
        return head + body.replace("options: {population_size: 16}", "options: {x: *l9}")
    raise ValueError(key)


@pytest.mark.parametrize("key", ["description", "explore.spec", "options"])
def test_an_alias_bomb_is_refused_quickly(tmp_path, key):
    spec = tmp_path / "bomb.yaml"
    spec.write_text(_bomb_under(key), encoding="utf-8")
    (tmp_path / "runs").mkdir()
    t0 = time.monotonic()
    res = research("run", str(spec), "--runs-root", "runs", cwd=tmp_path, timeout=60)
    assert time.monotonic() - t0 < 30
    one_line(res, EXIT_USAGE, f"{spec}: line", "through aliases", "alias bomb")
    assert snapshot(tmp_path / "runs") == {}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: x\ndescription: " + "[" * 3000 + "]" * 3000 + "\n", "line 2 nesting deeper"),
        ("name: x\nseed: " + "{a: " * 500 + "1" + "}" * 500 + "\n", "nesting deeper than 64"),
        ("name: x\nseed: 1\ndata: {source: sample:sp500}\nseed: 2\n",
         "line 4 duplicate key 'seed' (lines 2 and 4)"),
        ("name: x\ncosts: {fees: 0.1, fees: 0.2}\n", "duplicate key 'fees' (twice on line 2)"),
        ("name: !!python/object/apply:os.system ['touch HACKED']\n", "Python tags"),
        ("name: &a [1, *a]\n", "an alias refers to a node that contains it"),
        ("name: [1, 2\n", "is not valid YAML"),
    ],
)  # fmt: skip
def test_malformed_specs_are_one_line(tmp_path, text, fragment):
    spec = tmp_path / "s.yaml"
    spec.write_text(text, encoding="utf-8")
    res = research("run", str(spec), cwd=tmp_path, timeout=60)
    one_line(res, EXIT_USAGE, f"{spec}:", fragment)
    assert not (tmp_path / "HACKED").exists() and not (tmp_path / "runs").exists()


def test_a_spec_that_is_not_utf8_is_one_line(tmp_path):
    spec = tmp_path / "latin.yaml"
    spec.write_bytes("name: caf\xe9\n".encode("latin-1"))
    res = research("run", str(spec), cwd=tmp_path)
    one_line(res, EXIT_USAGE, f"{spec}: line 1 is not UTF-8 text (byte 0xe9 at offset 9)")


def test_an_exploration_spec_bomb_is_one_line(tmp_path):
    spec = tmp_path / "explore.yaml"
    spec.write_text("laughs:\n" + LAUGHS + "horizons: *l9\n", encoding="utf-8")
    res = research("explore", "--data", "sample:sp500", "--spec", str(spec), "--out", "o",
                   cwd=tmp_path, timeout=60)  # fmt: skip
    one_line(res, EXIT_USAGE, f"exploration spec {spec}: line", "alias bomb")
    assert not (tmp_path / "o").exists()


def test_a_utf8_bom_and_ordinary_aliases_still_load(tmp_path):
    from research._yaml import load_yaml

    spec = tmp_path / "ok.yaml"
    spec.write_bytes(b"\xef\xbb\xbfbase: &b {fees: 0.1}\ncosts: *b\nother:\n  <<: *b\n  x: 1\n")
    assert load_yaml(spec) == {
        "base": {"fees": 0.1},
        "costs": {"fees": 0.1},
        "other": {"fees": 0.1, "x": 1},
    }
