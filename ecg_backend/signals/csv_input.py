"""CSV recordings read with bounded work: every row's width and length is checked on the raw bytes, in
fixed-size chunks and without parsing a cell, before pandas converts the columns that are used.

A row wider than `MAX_CSV_COLUMNS` or longer than `MAX_LINE_BYTES` is refused at once (a few rows of
400,000 cells used to keep a worker busy for a minute); the number of rows is known before a number is
parsed, so `parsing.check_budget` can refuse a recording too large to analyse.
"""

from __future__ import annotations

import codecs
import csv
import io
import mmap
import os
from dataclasses import dataclass

import numpy as np

from ecg_backend.input_errors import INVALID, TOO_LARGE, InputError
from ecg_backend.signals.input_fields import (
    check_unicode,
    decode_text,
    human_bytes,
    sniff_delimiter,
)

MAX_CSV_COLUMNS = 64  # leads + a time column, in every row
MAX_LINE_BYTES = 8192  # 64 columns of numbers with room to spare; bounds the work per row and per cell
SCAN_CHUNK = 8 << 20  # bytes scanned at a time
_HEAD = 1 << 16


@dataclass
class CsvTable:
    """What the scan found: the source pandas reads, the layout, and the number of data rows (at most)."""

    source: object  # bytes or a path
    names: list
    has_header: bool
    delimiter: str
    decimal: str
    n_rows: int


def read_table(data) -> CsvTable:
    """Scan CSV text, bytes or a file path: encoding, delimiter, header and the caps of every row."""
    buf, source = _utf8(data)
    if not bytes(buf[:_HEAD]).strip() and not _has_text(buf):
        raise InputError("the CSV file is empty")
    arr = np.frombuffer(buf, dtype=np.uint8)
    head = bytes(buf[:_HEAD])
    newline = 13 if b"\n" not in head and b"\r" in head else 10
    first = _first_line(arr, newline)
    delimiter = sniff_delimiter(first)
    n_lines = scan_rows(arr, ord(delimiter), newline)
    cells = [c.strip().strip('"') for c in next(csv.reader([first], delimiter=delimiter))] if first else [""]
    has_header = any(_not_number(c) for c in cells)
    names = (
        [c or f"column {i}" for i, c in enumerate(cells)] if has_header else [f"lead {i}" for i in range(len(cells))]
    )
    for name in names:
        check_unicode(name, "a CSV column name")
    body = head.split(b"\n", 1)[-1] if has_header else head
    decimal = "," if delimiter == ";" and b"," in body and b"." not in body else "."
    return CsvTable(
        source=source,
        names=names,
        has_header=has_header,
        delimiter=delimiter,
        decimal=decimal,
        n_rows=max(n_lines - int(has_header), 0),
    )


def scan_rows(arr: np.ndarray, delimiter: int, newline: int = 10) -> int:
    """Check every row of the raw bytes against `MAX_CSV_COLUMNS` and `MAX_LINE_BYTES`; the number of lines.

    Works on `SCAN_CHUNK` bytes at a time with numpy (no Python loop over rows or cells), so a file of
    rows far wider than its header is refused in milliseconds.
    """
    lines, carry_len, carry_cols = 0, 0, 0
    for start in range(0, len(arr), SCAN_CHUNK):
        chunk = arr[start : start + SCAN_CHUNK]
        breaks = np.flatnonzero(chunk == newline)
        ends = np.append(breaks, len(chunk))  # the last piece continues into the next chunk
        lengths = ends - np.concatenate(([0], breaks + 1))
        cols = np.diff(np.concatenate(([0], np.searchsorted(np.flatnonzero(chunk == delimiter), ends)))) + 1
        lengths[0] += carry_len
        cols[0] += carry_cols
        _check_rows(lengths, cols, lines)
        lines += len(breaks)
        carry_len, carry_cols = int(lengths[-1]), int(cols[-1]) - 1
    return lines + int(carry_len > 0)


def _check_rows(lengths: np.ndarray, cols: np.ndarray, before: int) -> None:
    wide = np.flatnonzero(cols > MAX_CSV_COLUMNS)
    long = np.flatnonzero(lengths > MAX_LINE_BYTES)
    if len(wide) and (not len(long) or wide[0] <= long[0]):
        row = before + int(wide[0]) + 1
        raise InputError(
            f"row {row} of the CSV has {int(cols[wide[0]])} or more columns; at most {MAX_CSV_COLUMNS} "
            "(one per lead, plus time) are accepted in every row",
            kind=TOO_LARGE,
            details={"row": row, "max_columns": MAX_CSV_COLUMNS},
        )
    if len(long):
        row = before + int(long[0]) + 1
        raise InputError(
            f"row {row} of the CSV is {human_bytes(int(lengths[long[0]]))} or more long; a row may be at "
            f"most {human_bytes(MAX_LINE_BYTES)} (one number per lead)",
            kind=TOO_LARGE,
            details={"row": row, "max_row_bytes": MAX_LINE_BYTES},
        )


def read_columns(table: CsvTable, columns: list[int], names: dict) -> dict[int, np.ndarray]:
    """The given columns (0-based, file order) as float64 arrays; empty cells are NaN.

    Args:
        names: how messages name each column and what they add, e.g. ``{0: ("the time column", "")}``.
    """
    import pandas as pd

    used = sorted(set(columns))
    try:
        frame = pd.read_csv(
            _reader(table.source),
            sep=table.delimiter,
            header=0 if table.has_header else None,
            usecols=used,
            dtype=np.float64,
            na_values=[""],
            keep_default_na=False,
            skip_blank_lines=True,
            skipinitialspace=True,
            decimal=table.decimal,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        reason = str(exc).split("\n")[0].replace("Error tokenizing data. C error: ", "")
        raise InputError(f"the CSV file could not be read: {reason}", kind=INVALID) from None
    except (ValueError, TypeError, OverflowError):
        _raise_first_bad_cell(table, used, names)
    return {col: frame.iloc[:, k].to_numpy(dtype=np.float64) for k, col in enumerate(used)}


def _raise_first_bad_cell(table: CsvTable, used: list[int], names: dict) -> None:
    """Name the first cell that is not a number, reading the columns as text a block of rows at a time."""
    import pandas as pd

    reader = pd.read_csv(
        _reader(table.source),
        sep=table.delimiter,
        header=0 if table.has_header else None,
        usecols=used,
        dtype=str,
        keep_default_na=False,
        skip_blank_lines=True,
        skipinitialspace=True,
        chunksize=1 << 16,
        engine="c",
    )
    offset = 2 if table.has_header else 1
    for block in reader:
        for k, col in enumerate(used):
            text = block.iloc[:, k].fillna("").str.strip(" \t\r")
            if table.decimal == ",":
                text = text.str.replace(",", ".", regex=False)
            values = pd.to_numeric(text.where(text.str.len() <= 64, "x"), errors="coerce").to_numpy(np.float64)
            bad = text.ne("").to_numpy() & ~np.isfinite(values)
            bad &= ~np.isinf(values) | (text.str.len() > 64).to_numpy()  # "inf" is reported by the lead check
            if bad.any():
                row = int(np.argmax(bad)) + offset
                label, hint = names.get(col, (f"column {col + 1}", ""))
                raise InputError(
                    f"row {row} of {label} is not a number; leave a cell empty for a missing sample{hint}",
                    details={"row": row, "column": col + 1},
                )
        offset += len(block)
    raise InputError(
        "the CSV holds a value that is not a number (a control character or a stray quote); leave a "
        "cell empty for a missing sample"
    )


def _reader(source):
    return io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source


def _utf8(data) -> tuple[memoryview, object]:
    """The upload as UTF-8 bytes without a BOM (checked), and what pandas should read."""
    if isinstance(data, str):
        encoded = check_unicode(data.lstrip("\ufeff"), "the CSV file").encode("utf-8")
        return memoryview(encoded), encoded
    if isinstance(data, os.PathLike):
        size = os.path.getsize(data)
        if size == 0:
            raise InputError("the CSV file is empty")
        with open(data, "rb") as fh:
            buf = memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
        if bytes(buf[:4]).startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # UTF-16/32: decoded whole
            return _utf8(bytes(buf))
        skip = 3 if bytes(buf[:3]) == codecs.BOM_UTF8 else 0
        _check_utf8(buf[skip:])
        return buf[skip:], (data if not skip else bytes(buf[skip:]))
    data = bytes(data)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
        encoded = decode_text(data, "the CSV file").encode("utf-8")
        return memoryview(encoded), encoded
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    _check_utf8(memoryview(data))
    return memoryview(data), data


def _check_utf8(buf: memoryview) -> None:
    """Valid UTF-8 without NUL characters, checked a chunk at a time (messages as `decode_text`'s)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(buf), SCAN_CHUNK):
        chunk = buf[start : start + SCAN_CHUNK]
        try:
            decoder.decode(chunk, final=start + SCAN_CHUNK >= len(buf))
        except UnicodeDecodeError as exc:
            byte = start + exc.start + 1
            raise InputError(
                f"the CSV file is not UTF-8 text (byte {byte} cannot be decoded); save it as UTF-8 "
                '(or as UTF-16 with a byte-order mark, Excel\'s "Unicode text")',
                details={"encoding": "UTF-8", "byte": byte},
            ) from None
        if np.any(np.frombuffer(chunk, dtype=np.uint8) == 0):
            decode_text(b"\x00", "the CSV file")  # raises the NUL message


def _has_text(buf: memoryview) -> bool:
    return any(bytes(buf[i : i + SCAN_CHUNK]).strip() for i in range(0, len(buf), SCAN_CHUNK))


def _first_line(arr: np.ndarray, newline: int) -> str:
    """The first non-blank line, as text (at most `MAX_LINE_BYTES` bytes; longer ones fail the scan)."""
    start = 0
    while start < len(arr):
        stop = start + MAX_LINE_BYTES + 1
        piece = bytes(arr[start:stop])
        end = piece.find(bytes([newline]))
        line = piece if end < 0 else piece[:end]
        if line.strip():
            return line.decode("utf-8", errors="replace").strip()
        if end < 0:
            break
        start += end + 1
    return ""


def _not_number(cell: str) -> bool:
    try:
        float(cell)
        return False
    except ValueError:
        return cell != ""
