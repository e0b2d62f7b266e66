"""JSON responses (orjson) carry the same JSON the standard library would, and fall back where it cannot."""

import dataclasses
import datetime
import json

import numpy as np
from flask import jsonify


@dataclasses.dataclass
class _Point:
    x: int


def test_jsonify_matches_the_standard_library(app):
    payload = {
        "b": [1.5, 1e-7, 0.1, None, True],
        "a": {"z": 1, "y": "ünï"},
        "when": datetime.datetime(2026, 1, 2, 3, 4, 5),
        "day": datetime.date(2026, 1, 2),
        "point": _Point(2),
    }
    with app.app_context():
        body = jsonify(payload).get_data()
        standard = app.json.dumps(payload)  # the standard-library encoder Flask uses for dumps
        compact = jsonify({"b": [1, 2], "a": "x"}).get_data()
    assert compact == b'{"a":"x","b":[1,2]}\n'  # compact, keys sorted, a final newline, as Flask does
    assert json.loads(body) == json.loads(standard)
    assert list(json.loads(body)) == sorted(json.loads(body))  # keys sorted, as Flask does


def test_jsonify_handles_numpy_and_falls_back_for_huge_integers(app):
    with app.app_context():
        assert json.loads(jsonify({"n": np.float64(0.25), "v": np.arange(3)}).get_data()) == {"n": 0.25, "v": [0, 1, 2]}
        assert json.loads(jsonify({"big": 10**30}).get_data()) == {"big": 10**30}
        assert json.loads(jsonify({3: "int key"}).get_data()) == {"3": "int key"}


def test_predict_answer_round_trips(client, clinician_a, bearer, beats):
    answer = client.post("/predict", json={"beats": beats(2)}, headers=bearer(clinician_a))
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    data = json.loads(answer.get_data())
    assert set(data) == {"beats", "summary", "model_version"}
    assert all(len(beat["reconstruction"]) == 140 and len(beat["sample_error"]) == 140 for beat in data["beats"])
