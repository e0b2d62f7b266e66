"""Parse the beat tables ``POST /predict`` accepts into an (n, 140) float array.

Accepted inputs:

* JSON ``{"beats": [[140 numbers], ...]}`` or ``{"beat": [140 numbers]}``;
* CSV text, one beat per row: comma, semicolon or tab separated; an optional header row; an optional
  leading label column when rows have 141 values (the ECG5000 layout); UTF-8 (with or without a BOM) or
  UTF-16 with a BOM (:func:`~ecg_backend.signals.parsing.decode_text`); blank lines are ignored;
  semicolon files may use decimal commas (``0,51;0,73``).

Every problem raises :class:`~ecg_backend.errors.InputError` whose message names the row and says what
to fix, e.g. ``"row 3 has 139 values; each beat needs 140"`` (CSV rows count file lines, header included;
JSON beats count from 1).
"""

from __future__ import annotations

import csv
import math
from itertools import chain
from numbers import Real

import numpy as np

from ecg_backend.errors import InputError
from ecg_backend.ml.data import BEAT_LENGTH
from ecg_backend.signals.input_fields import decode_text, sniff_delimiter

MAX_LINE_CHARS = (BEAT_LENGTH + 1) * 64  # a label and 140 numbers, each far shorter than 64 characters
MAX_ABS_VALUE = 1e6  # the detector refuses larger amplitudes; say so with the row number


def _check_count(n_beats: int, max_beats: int) -> None:
    if n_beats == 0:
        raise InputError("no beats found: send at least one beat of 140 values")
    if n_beats > max_beats:
        raise InputError(
            f"{n_beats} beats is more than the {max_beats} allowed per request; split the input",
            kind="too_large",
            details={"max_beats": max_beats, "n_beats": n_beats},
        )


def _check_values(array: np.ndarray, label: str, offsets: list[int]) -> None:
    bad = ~np.isfinite(array) | (np.abs(np.nan_to_num(array, nan=0.0, posinf=np.inf)) > MAX_ABS_VALUE)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{label} {offsets[row]}, value {col + 1} is {float(array[row, col])}; "
            f"values must be finite numbers within ±{MAX_ABS_VALUE:g}",
            details={label: offsets[row], "column": col + 1},
        )


def beats_from_json(payload, max_beats: int) -> np.ndarray:
    """Beats from a decoded JSON body ``{"beats": [[...], ...]}`` or ``{"beat": [...]}``."""
    if not isinstance(payload, dict) or ("beats" in payload) == ("beat" in payload):
        raise InputError(
            'send a JSON object with either "beats": [[140 numbers], ...] or "beat": [140 numbers]', kind="invalid"
        )
    rows = payload["beats"] if "beats" in payload else [payload["beat"]]
    key = "beats" if "beats" in payload else "beat"
    if not isinstance(rows, list):
        raise InputError(f'"{key}" must be a list', details={"field": key})
    _check_count(len(rows), max_beats)
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list):
            raise InputError(f"beat {number} must be a list of {BEAT_LENGTH} numbers", details={"beat": number})
        if len(row) != BEAT_LENGTH:
            raise InputError(
                f"beat {number} has {len(row)} values; each beat needs {BEAT_LENGTH}",
                details={"beat": number, "n_values": len(row)},
            )
    # Fast path: only ints and floats (bools are ints to Python, so check types exactly). The slow
    # per-value scan below runs only to name the first bad value.
    if not set(map(type, chain.from_iterable(rows))) <= {float, int}:
        _raise_first_bad_json_value(rows)
    try:
        array = np.asarray(rows, dtype=np.float64)
    except OverflowError:  # an integer with hundreds of digits
        _raise_first_bad_json_value(rows)
        raise
    _check_values(array, "beat", list(range(1, len(rows) + 1)))
    return array


def _raise_first_bad_json_value(rows: list) -> None:
    for number, row in enumerate(rows, start=1):
        for col, value in enumerate(row, start=1):
            if isinstance(value, bool) or not isinstance(value, Real) or not _finite(value):
                raise InputError(
                    f"beat {number}, value {col} is {value!r}; values must be finite numbers",
                    details={"beat": number, "column": col},
                )


def _finite(value: Real) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer with hundreds of digits
        return False


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def beats_from_csv(data: bytes | str, max_beats: int) -> np.ndarray:
    """Beats from CSV text or bytes; see the module docstring for the accepted layouts."""
    rows, numbers = _data_rows(decode_text(data))
    _check_count(len(rows), max_beats)
    width = _check_widths(rows, numbers)
    if width == BEAT_LENGTH + 1:
        rows = [cells[1:] for cells in rows]
    try:
        array = np.array(rows, dtype=np.float64)
    except ValueError:
        _raise_first_bad_cell(rows, numbers)
        raise
    _check_values(array, "row", numbers)
    return array


def _data_rows(text: str) -> tuple[list[list[str]], list[int]]:
    """The cells of each data row (header, blank lines and trailing delimiters dropped) and its line number.

    A line longer than `MAX_LINE_CHARS` is refused before it is split into cells.
    """
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise InputError("the file is empty: expected one beat of 140 values per row")
    long = next((number for number, line in lines if len(line) > MAX_LINE_CHARS), None)
    if long is not None:
        raise InputError(
            f"row {long} is longer than {MAX_LINE_CHARS} characters; a row holds one beat of {BEAT_LENGTH} values",
            details={"row": long},
        )
    delimiter = sniff_delimiter(lines[0][1])
    decimal_comma = delimiter == ";" and "," in text and "." not in text
    reader = csv.reader((line for _, line in lines), delimiter=delimiter, skipinitialspace=True)
    rows: list[list[str]] = []
    numbers: list[int] = []
    for (number, _), cells in zip(lines, _rows(reader, lines)):
        cells = [c.strip().replace(",", ".") if decimal_comma else c.strip() for c in cells]
        while cells and cells[-1] == "":  # a trailing delimiter is common in spreadsheet exports
            cells.pop()
        if not rows and _looks_like_header(cells):
            continue
        rows.append(cells)
        numbers.append(number)
    return rows, numbers


def _check_widths(rows: list[list[str]], numbers: list[int]) -> int:
    """The table's width (140, or 141 with a label column), the same in every row; else the row is named."""
    width = len(rows[0])
    if width not in (BEAT_LENGTH, BEAT_LENGTH + 1):
        raise InputError(
            f"row {numbers[0]} has {width} values; each beat needs {BEAT_LENGTH} "
            f"(or {BEAT_LENGTH + 1} with a leading label column)",
            details={"row": numbers[0], "n_values": width},
        )
    for number, cells in zip(numbers, rows):
        if len(cells) != width:
            expected = f"{BEAT_LENGTH}" if width == BEAT_LENGTH else f"{BEAT_LENGTH + 1} (label + {BEAT_LENGTH})"
            raise InputError(
                f"row {number} has {len(cells)} values; each beat needs {expected}"
                + (" like the rows above" if number != numbers[0] else ""),
                details={"row": number, "n_values": len(cells)},
            )
    return width


def _rows(reader, lines):
    # csv.Error (a field over the size limit, a stray NUL) becomes a message with the row number.
    iterator = iter(reader)
    while True:
        try:
            yield next(iterator)
        except StopIteration:
            return
        except csv.Error as exc:
            number = lines[min(reader.line_num, len(lines)) - 1][0]
            raise InputError(
                f"row {number} cannot be read as CSV ({exc}); expected {BEAT_LENGTH} numbers separated by commas",
                details={"row": number},
            ) from None


def _looks_like_header(cells: list[str]) -> bool:
    # Mostly non-numeric: a header. A data row with one typo stays a data row and gets a precise error.
    numeric = sum(_is_number(c) for c in cells)
    return numeric < len(cells) / 2


def _raise_first_bad_cell(rows: list[list[str]], numbers: list[int]) -> None:
    for number, cells in zip(numbers, rows):
        for col, cell in enumerate(cells, start=1):
            if not _is_number(cell):
                shown = cell if len(cell) <= 20 else cell[:20] + "…"
                raise InputError(
                    f"row {number}, value {col} is {shown!r}, not a number", details={"row": number, "column": col}
                )
