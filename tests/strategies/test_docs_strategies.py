"""docs/strategies.md runs as written: its Python blocks, in order, as one module."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"


def test_every_python_block_of_the_strategy_guide_runs(tmp_path, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 8
    module = tmp_path / "doc_strategies.py"  # a real file, so numba can cache the example kernel
    module.write_text("\n\n".join(blocks), encoding="utf-8")
    namespace = runpy.run_path(str(module))
    out = capsys.readouterr().out
    assert "`fast` must be < `slow`" in out  # the constraint example printed its error
    assert not namespace["bad"].ok and namespace["report"].ok
    assert namespace["book"].final_equity > 0
