"""File checks shared by the file loaders: exists, is a file, readable, not empty, text or binary."""

from __future__ import annotations

import codecs
import gzip
import os
from pathlib import Path

from data_loaders.errors import DataValidationError

__all__ = ["MissingFileError", "check_file", "sniff_text", "HEAD_BYTES"]

HEAD_BYTES = 65_536
_GZIP = b"\x1f\x8b"
_ZIP = b"PK\x03\x04"
_PARQUET = b"PAR1"
# control bytes that never appear in CSV text (tab, LF, CR are fine)
_CONTROL = bytes(range(0, 9)) + bytes(range(14, 32)) + b"\x0b\x0c"


class MissingFileError(DataValidationError, FileNotFoundError):
    """The source file or folder does not exist (also a ``FileNotFoundError``)."""


def check_file(path: str | os.PathLike, *, label: str | None = None) -> Path:
    """Return ``path`` as a Path if it is an existing, readable, non-empty file; raise otherwise."""
    label = label or str(path)
    p = Path(path).expanduser()
    if not p.exists():
        raise MissingFileError(f"{label}: file not found (rule: the source must exist)")
    if p.is_dir():
        raise DataValidationError(
            f"{label}: is a folder, not a file; load a folder of one file per symbol with load_folder"
        )
    try:
        with open(p, "rb"):
            pass
        size = p.stat().st_size
    except OSError as exc:
        raise DataValidationError(f"{label}: unreadable file ({exc.strerror or exc})") from None
    if size == 0:
        raise DataValidationError(
            f"{label}: empty file (0 bytes; rule: bars need a header and rows)"
        )
    return p


def _describe_binary(head: bytes) -> str | None:
    if head.startswith(_PARQUET):
        return "a Parquet file, not CSV text; give it a .parquet suffix or use load_parquet"
    if head.startswith(_ZIP):
        return "a ZIP archive (an Excel .xlsx workbook?), not CSV text; export the sheet as CSV"
    bad = next((i for i, b in enumerate(head[:4096]) if b in _CONTROL), None)
    if bad is not None:
        return f"binary data (byte 0x{head[bad]:02x} at offset {bad}), not CSV text"
    return None


def sniff_text(path: Path, *, label: str | None = None) -> tuple[str, str, str | None]:
    """Read the start of a (possibly gzip-compressed) text file.

    Returns ``(head_text, encoding, compression)`` where encoding is ``utf-8-sig`` or
    ``cp1252`` and compression ``"gzip"`` or None. Raises DataValidationError for binary or
    undecodable files.
    """
    label = label or str(path)
    with open(path, "rb") as f:
        raw = f.read(HEAD_BYTES)
    compression = None
    if raw.startswith(_GZIP):
        compression = "gzip"
        try:
            with gzip.open(path, "rb") as f:
                raw = f.read(HEAD_BYTES)
        except (OSError, EOFError) as exc:
            raise DataValidationError(f"{label}: unreadable gzip file ({exc})") from None
        if not raw:
            raise DataValidationError(f"{label}: empty file (nothing inside the gzip archive)")
    what = _describe_binary(raw)
    if what:
        raise DataValidationError(f"{label}: unreadable: {what}")
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(raw, final=False)
        return text, "utf-8-sig", compression
    except UnicodeDecodeError as exc:
        try:
            return raw.decode("cp1252"), "cp1252", compression
        except UnicodeDecodeError:
            raise DataValidationError(
                f"{label}: unreadable: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
            ) from None
