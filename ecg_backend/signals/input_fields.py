"""The input layer's field parsers, shared by beat and recording uploads (API, dashboard and services):
text decoding, the CSV delimiter, booleans, numbers, ids and text fields, each with one strictness.

Each raises `InputError` naming the field and saying what is expected; none knows about HTTP.
"""

from __future__ import annotations

import codecs
import math
from numbers import Real

from ecg_backend.input_errors import INVALID, InputError

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
MAX_NUMBER_CHARS = 64  # a sample or a rate never needs more; longer text is refused before it is converted


def parse_flag(value, name: str) -> bool:
    """A form/JSON/query boolean: true/false, 1/0, yes/no, on/off (absent or empty: False); anything else is
    an error naming the field (``store=maybe`` and ``single_lead=maybe`` alike)."""
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise InputError(f"{name} must be true or false, got {_shown(value)}", details={"field": name})


def parse_number(value, name: str, *, low: float | None = None, high: float | None = None, unit: str = "") -> float:
    """A finite number from JSON (int or float, not bool) or text, within [low, high] when given.

    Integers too large for a float (a 401-digit sample) and text longer than `MAX_NUMBER_CHARS` are errors
    like any other non-number, never an overflow.
    """
    if isinstance(value, bool) or value is None or not isinstance(value, (Real, str)):
        raise _not_a_number(value, name, unit)
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_CHARS:
            raise _not_a_number(value, name, unit)
        try:
            value = float(value.strip())
        except ValueError:
            raise _not_a_number(value, name, unit) from None
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        raise _not_a_number(value, name, unit) from None
    if not math.isfinite(number):
        raise _not_a_number(value, name, unit)
    if (low is not None and number < low) or (high is not None and number > high):
        suffix = f" {unit}" if unit else ""
        raise InputError(
            f"{name} must be between {low:g} and {high:g}{suffix}, got {number:g}", details={"field": name}
        )
    return number


def _not_a_number(value, name: str, unit: str) -> InputError:
    what = f"a number in {unit}" if unit else "a finite number"
    return InputError(f"{name} must be {what}, got {_shown(value)}", details={"field": name})


def parse_id(value, name: str, upper: int) -> int | None:
    """An optional positive integer id (JSON integer, integral float or ASCII digits); None when absent or empty.

    Other digits (``"²"``, ``"٣"``), signs, booleans and ids above ``upper`` are errors naming the field.
    """
    if value is None or value == "":
        return None
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value) <= 20:
        number = int(value.strip())
    if number is None or not 1 <= number <= upper:
        raise InputError(f"'{name}' must be a positive integer id, got {_shown(value)}", details={"field": name})
    return number


def parse_text(value, name: str, max_length: int, *, strip: bool = True) -> str | None:
    """An optional text field: None when absent, else a string of valid Unicode of at most ``max_length``
    characters. A lone surrogate (``"\\ud800"``, which no database or file can store) is an error."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string", details={"field": name})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"{name} holds a character that is not valid Unicode (at position {exc.start + 1})", details={"field": name}
        ) from None
    text = value.strip() if strip else value
    if len(text) > max_length:
        raise InputError(f"{name} must be at most {max_length} characters", details={"field": name})
    return text


def check_unicode(text: str, name: str) -> str:
    """``text`` when it encodes as UTF-8; an error naming the field when it holds a lone surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"{name} holds a character that is not valid Unicode (at position {exc.start + 1})", details={"field": name}
        ) from None
    return text


def sniff_delimiter(line: str) -> str:
    """The CSV delimiter of a file from its first line: tab, then semicolon, else comma.

    A file using tab or semicolon rarely holds it as data, whereas commas may be decimal commas.
    """
    for delimiter in ("\t", ";"):
        if delimiter in line:
            return delimiter
    return ","


def decode_text(data: bytes | str, what: str = "the file") -> str:
    """Text of an uploaded file, decoded by its byte-order mark.

    UTF-8 with or without a BOM, and UTF-16 / UTF-32 (little or big endian) with one: Excel's
    "Unicode text" export is UTF-16 LE with a BOM. The BOM is not part of the returned text.

    Args:
        data: the uploaded bytes (``str`` is returned without leading BOMs).
        what: how messages name the input, e.g. ``"the CSV file"``.

    Raises:
        InputError: invalid when the bytes are not valid text in that encoding (naming the first bad
            byte), or hold NUL characters (binary files, UTF-16 saved without a BOM).
    """
    if isinstance(data, str):
        text = data.lstrip("\ufeff")
        check_unicode(text, what)
    else:
        bom, codec, label = next((row for row in _BOMS if data.startswith(row[0])), (b"", "utf-8", "UTF-8"))
        try:
            text = bytes(data[len(bom) :]).decode(codec)
        except UnicodeDecodeError as exc:
            byte = len(bom) + exc.start + 1
            raise InputError(
                f"{what} is not {label} text (byte {byte} cannot be decoded); save it as UTF-8 "
                '(or as UTF-16 with a byte-order mark, Excel\'s "Unicode text")',
                kind=INVALID,
                details={"encoding": label, "byte": byte},
            ) from None
    if "\x00" in text:
        raise InputError(
            f"{what} contains NUL characters, so it is not plain text (a binary file, or UTF-16 "
            "saved without a byte-order mark); save it as UTF-8",
            details={"encoding": "unknown"},
        )
    return text


def human_bytes(size: int) -> str:
    """A byte count for people, in binary units as the limits are configured: 1048576 -> '1 MB'."""
    if size >= 1 << 30:
        return f"{round(size / (1 << 30), 1):g} GB"
    if size >= 1 << 20:
        return f"{round(size / (1 << 20), 1):g} MB"
    return f"{round(size / 1024, 1):g} KB" if size >= 1024 else f"{size} bytes"


def _shown(value) -> str:
    """A client's value in a message: repr, cut to 40 characters (a 401-digit number is not echoed whole)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
