"""Beat-table parsing: every accepted layout and a precise message for each kind of mistake."""

import numpy as np
import pytest

from ecg_backend.errors import InputError, http_status
from ecg_backend.services.beat_input import beats_from_csv, beats_from_json

ROW = [round(0.01 * i, 2) for i in range(140)]


def _line(values, sep=","):
    return sep.join(str(v) for v in values)


def test_json_beats_and_single_beat():
    assert beats_from_json({"beats": [ROW, ROW]}, 10).shape == (2, 140)
    single = beats_from_json({"beat": ROW}, 10)
    assert single.shape == (1, 140)
    np.testing.assert_allclose(single[0, :3], [0.0, 0.01, 0.02])


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"beats": [ROW, ROW[:-1]]}, "beat 2 has 139 values; each beat needs 140"),
        ({"beats": [ROW[:3] + ["x"] + ROW[4:]]}, "beat 1, value 4 is 'x'"),
        ({"beats": [ROW[:3] + [True] + ROW[4:]]}, "beat 1, value 4 is True"),
        ({"beats": [ROW[:5] + [1e9] + ROW[6:]]}, "beat 1, value 6"),
        ({"beats": []}, "no beats found"),
        ({"beats": "1,2"}, '"beats" must be a list'),
        ({"beats": [5]}, "beat 1 must be a list of 140 numbers"),
        ({"beat": ROW, "beats": [ROW]}, 'either "beats"'),
        ({"samples": ROW}, 'either "beats"'),
    ],
)
def test_json_mistakes_name_the_beat(payload, message):
    with pytest.raises(InputError) as caught:
        beats_from_json(payload, 10)
    assert caught.value.kind == "invalid" and message in caught.value.message


def test_too_many_beats_is_413():
    with pytest.raises(InputError) as caught:
        beats_from_json({"beats": [ROW] * 4}, 3)
    assert caught.value.kind == "too_large" and "at most" not in caught.value.message
    assert caught.value.details == {"max_beats": 3, "n_beats": 4}


@pytest.mark.parametrize(
    "text",
    [
        _line(ROW) + "\n" + _line(ROW) + "\n",  # plain
        _line(f"s{i}" for i in range(140)) + "\n" + _line(ROW) + "\n" + _line(ROW),  # header row
        "\ufeff" + _line(ROW, ";") + "\r\n\r\n" + _line(ROW, ";") + "\r\n",  # BOM, CRLF, blank line
        _line(ROW, "\t") + "\n" + _line(ROW, "\t"),  # tab separated (UCR .tsv)
        _line([1] + ROW) + "\n" + _line([2] + ROW),  # leading label column
        "label," + _line(f"t{i}" for i in range(140)) + "\n" + _line([1] + ROW) + "\n" + _line([1] + ROW),
        _line(ROW) + ",\n" + _line(ROW) + ",\n",  # trailing delimiter
        _line([str(v).replace(".", ",") for v in ROW], ";")
        + "\n"
        + _line([str(v).replace(".", ",") for v in ROW], ";"),
    ],
)
def test_csv_layouts(text):
    beats = beats_from_csv(text.encode("utf-8"), 10)
    assert beats.shape == (2, 140)
    np.testing.assert_allclose(beats[0], ROW)


@pytest.mark.parametrize(
    "text, status, message",
    [
        (_line(ROW) + "\n" + _line(ROW) + "\n" + _line(ROW[:-1]), 422, "row 3 has 139 values; each beat needs 140"),
        (_line(ROW[:50]), 422, "row 1 has 50 values; each beat needs 140 (or 141 with a leading label column)"),
        (_line(ROW[:10] + ["abc"] + ROW[11:]), 422, "row 1, value 11 is 'abc', not a number"),
        (_line(ROW[:10] + ["nan"] + ROW[11:]), 422, "row 1, value 11 is nan"),
        (_line(ROW[:10] + ["inf"] + ROW[11:]), 422, "row 1, value 11 is inf"),
        ("", 422, "the file is empty"),
        ("\n\n  \n", 422, "the file is empty"),
        (_line(f"h{i}" for i in range(140)), 422, "no beats found"),
    ],
)
def test_csv_mistakes_name_the_row(text, status, message):
    with pytest.raises(InputError) as caught:
        beats_from_csv(text.encode("utf-8"), 10)
    assert http_status(caught.value) == status
    assert message in caught.value.message


def test_csv_not_text_is_422():
    with pytest.raises(InputError) as caught:
        beats_from_csv(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", 10)
    assert caught.value.kind == "invalid" and "UTF-8" in caught.value.message


def test_csv_row_limit_is_413():
    with pytest.raises(InputError) as caught:
        beats_from_csv(("\n".join([_line(ROW)] * 5)).encode(), 4)
    assert caught.value.kind == "too_large"
