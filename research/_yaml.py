"""Reading YAML written by users (experiment and exploration specs) safely.

:func:`load_yaml` is the one YAML reader of user files. On top of ``yaml.SafeLoader`` (which
already refuses ``!!python/...`` tags: no code runs while loading) it refuses, each in one line
naming the file and line (:class:`~data_loaders.errors.ConfigError`):

* text that is not UTF-8 (a UTF-8 byte-order mark is accepted);
* files over :data:`MAX_BYTES`;
* nesting deeper than :data:`MAX_DEPTH` (checked on the event stream, before the recursive
  composer could hit Python's recursion limit);
* alias bombs ("billion laughs"): the document's size with every alias expanded must stay under
  :data:`MAX_NODES` nodes, its expanded depth under :data:`MAX_DEPTH`, and an alias may not
  refer to a node that contains it (a recursive structure);
* duplicate keys in a mapping (YAML says keys are unique; PyYAML would silently keep the last),
  naming the key and both lines;
* any YAML syntax error, as ``line N is not valid YAML: problem``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from data_loaders.errors import ConfigError

__all__ = ["load_yaml", "MAX_BYTES", "MAX_DEPTH", "MAX_NODES"]

#: largest YAML file read (a spec is a few kilobytes)
MAX_BYTES = 5_000_000
#: deepest nesting of mappings and sequences, aliases expanded
MAX_DEPTH = 64
#: most nodes in a document once every alias is expanded
MAX_NODES = 200_000


class _Loader(yaml.SafeLoader):
    """SafeLoader refusing duplicate keys (see :func:`load_yaml`)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # unhashable key: construct_mapping reports it
                continue
            if first is not None:
                where = f"lines {first} and {line}" if first != line else f"twice on line {line}"
                raise _Refused(f"duplicate key {key!r} ({where}); keys must be unique", line)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


class _Refused(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _read(path_or_text: str | bytes | os.PathLike) -> str:
    """The text of a path, of raw bytes (UTF-8), or the text itself."""
    if isinstance(path_or_text, os.PathLike):
        path = Path(path_or_text)
        if not path.is_file():
            raise FileNotFoundError(2, "No such file", str(path))
        if path.stat().st_size > MAX_BYTES:
            raise _Refused(f"is {path.stat().st_size} bytes, larger than {MAX_BYTES} bytes")
        data = path.read_bytes()
    elif isinstance(path_or_text, bytes):
        data = path_or_text
    else:
        return path_or_text
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _Refused(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8",
            line,
        ) from None


def _check_events(text: str) -> None:
    """Nesting depth, on the event stream (the parser is not recursive)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1
                raise _Refused(f"nesting deeper than {MAX_DEPTH} levels", line)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_graph(root: yaml.Node) -> None:
    """Expanded size and depth of the node graph (aliases are shared nodes), and no cycles.

    Iterative post-order walk, each distinct node visited once: the cost is the number of
    distinct nodes, however large the expansion.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            on_path.discard(key)
            line = node.start_mark.line + 1
            if size[key] > MAX_NODES:
                raise _Refused(
                    f"expands to more than {MAX_NODES} values through aliases (*name); "
                    "an alias bomb?",
                    line,
                )
            if depth[key] > MAX_DEPTH:
                raise _Refused(f"nesting deeper than {MAX_DEPTH} levels through aliases", line)
            continue
        if key in size:
            continue
        if key in on_path:
            raise _Refused("an alias refers to a node that contains it", node.start_mark.line + 1)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in size)


def _where(label: str, what: str) -> str:
    return f"{what} {label}".strip()


def load_yaml(
    path_or_text: str | bytes | os.PathLike, *, what: str = "", source: str | None = None
) -> Any:
    """Load one YAML document from a path (``Path``/``os.PathLike``), bytes or text, safely.

    Args:
        path_or_text: a path object (read as UTF-8), raw bytes, or the YAML text itself.
        what: how the file is called in messages (``"exploration spec"``), may be empty.
        source: label of the text in messages when ``path_or_text`` is not a path.

    Returns:
        The loaded value (``None`` for an empty document).

    Raises:
        ConfigError: one line ``<what> <file>: line N ...`` for the cases in the module docstring.
        FileNotFoundError: the path does not exist.
    """
    is_path = isinstance(path_or_text, os.PathLike)
    label = str(path_or_text) if is_path else (source or "<yaml>")
    try:
        text = _read(path_or_text)
        _check_events(text)
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return None
            _check_graph(root)
            return loader.construct_document(root)
        finally:
            loader.dispose()
    except _Refused as exc:
        at = f" line {exc.line}" if exc.line else ""
        raise ConfigError(f"{_where(label, what)}:{at} {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        problem = " ".join(str(problem).split())
        if "tag:yaml.org,2002:python/" in problem:
            problem = "Python tags (!!python/...) are refused: a spec holds data, never code"
        raise ConfigError(f"{_where(label, what)}:{at} is not valid YAML: {problem}") from None
