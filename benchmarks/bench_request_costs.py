"""CPU cost of one request, in process (Flask test client, real bundle, temp SQLite): where /predict spends.

    python3 benchmarks/bench_request_costs.py                    # this checkout
    python3 benchmarks/bench_request_costs.py --repo /tmp/old    # another checkout (e.g. git archive <rev>)

Prints milliseconds of process CPU time per call (best of 5 rounds of ``--n`` calls, 1 torch thread) for:
the whole ``GET /healthz``, single-beat ``POST /predict`` (scored only, and stored with a patient), and
the parts of a single-beat predict: token authentication (with session set-up and tear-down), parsing,
``AnomalyDetector.score`` of one beat, one forward pass (eager network, and the detector's inference
path), and ``jsonify`` of the answer (production settings, rate limits off). CPU time, not wall time, so other work on the machine disturbs it
less (but still some: run it on a quiet machine and compare checkouts back to back).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time


def best_ms(fn, n: int, rounds: int = 5) -> float:
    for _ in range(min(n, 30)):
        fn()
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - started) / n * 1000)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--repo",
        default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        help="checkout whose ecg_backend to measure (default: this one)",
    )
    parser.add_argument("--n", type=int, default=300, help="calls per round (default 300)")
    args = parser.parse_args(argv)
    sys.path.insert(0, args.repo)
    import numpy as np
    import torch

    torch.set_num_threads(1)
    workdir = tempfile.mkdtemp(prefix="ecg-costs-")
    os.environ.update(
        DATABASE_URL=f"sqlite:///{workdir}/costs.db",
        SECRET_KEY=os.urandom(24).hex(),
        ECG_ADMIN_EMAIL="costs@example.org",
        ECG_ADMIN_PASSWORD="costs-password-" + os.urandom(4).hex(),
        ECG_ENV="production",
        ECG_RATELIMIT_ENABLED="0",
    )
    logging.disable(logging.WARNING)
    from flask import jsonify

    from ecg_backend import create_app
    from ecg_backend.extensions import db
    from ecg_backend.services.analyses import score_beats
    from ecg_backend.services.beat_input import beats_from_json
    from ecg_backend.services.tokens import authenticate_token

    app = create_app()
    client = app.test_client()
    login = client.post(
        "/login", json={"email": os.environ["ECG_ADMIN_EMAIL"], "password": os.environ["ECG_ADMIN_PASSWORD"]}
    ).get_json()
    token = client.post(
        "/api/v1/tokens", json={"name": "costs"}, headers={"X-CSRFToken": login["csrf_token"]}
    ).get_json()["token"]
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    patient = api.post("/api/v1/patients", data=b'{"name": "Cost Patient"}', headers=headers).get_json()["id"]
    t = np.linspace(0, 2 * np.pi, 140)
    beat = (np.sin(t) * 1.3 + np.random.default_rng(0).normal(0, 0.05, 140)).round(4).tolist()
    body = json.dumps({"beat": beat}).encode()
    stored = json.dumps({"beat": beat, "patient_id": patient}).encode()
    detector = app.extensions["ecg_detector"]
    one = np.asarray([beat])
    x = torch.from_numpy(((one - detector.mean) / detector.scale).astype(np.float32))
    assert api.post("/predict", data=body, headers=headers).status_code == 200

    n = args.n
    rows = {
        "GET /healthz": best_ms(lambda: api.get("/healthz"), n),
        "POST /predict, one beat": best_ms(lambda: api.post("/predict", data=body, headers=headers), n),
        "POST /predict, one beat, stored": best_ms(lambda: api.post("/predict", data=stored, headers=headers), n // 2),
    }
    with app.test_request_context("/predict", method="POST", data=body, headers=headers):
        rows["token authentication (+ session set-up/tear-down)"] = best_ms(
            lambda: (authenticate_token(token), db.session.remove()), n
        )
        rows["parse the JSON beat"] = best_ms(lambda: beats_from_json(json.loads(body), 5000), n)
        rows["AnomalyDetector.score, one beat"] = best_ms(lambda: detector.score(one), n)
        with torch.inference_mode():
            rows["forward pass, eager network"] = best_ms(lambda: detector.net(x), n)
            forward = getattr(detector, "_forward", None)
            if forward is not None and forward is not detector.net:
                rows["forward pass, the detector's inference path"] = best_ms(lambda: forward(x), n)
        answer = score_beats(one)
        rows["jsonify the answer"] = best_ms(lambda: jsonify(answer), n)
    print(f"checkout {args.repo}; CPU ms per call, best of 5 x {n}")
    for name, value in rows.items():
        print(f"  {name:<55} {value:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
