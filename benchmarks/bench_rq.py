"""Recording jobs per minute through RQ workers (Redis and workers on this machine).

    python benchmarks/bench_rq.py [--redis redis://127.0.0.1:6390/7] [--records 6] [--workers 1 2]
                                  [--record 101] [--dir MITDB] [--plain-worker]

Queues ``--records`` copies of one 30-minute two-lead MIT-BIH record (a synthetic 30-minute ECG when the
data set is absent) as recording jobs, starts N ``rq worker ... --worker-class
ecg_backend.services.rq_worker.AppWorker --burst`` processes on the ``ecg`` queue and prints, for each N
in ``--workers``, recordings per minute counted from the first job's start to the last job's end (the
workers' own start-up, one app and one model load each, is printed apart). ``--plain-worker`` adds the
default RQ worker (a forked work horse and a fresh app per job) for comparison. The run is bounded: each
round stops after 10 minutes. Uses its own SQLite database, storage folder and Redis database (flushed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ROUND_LIMIT_S = 600


def _environment(folder: Path, redis_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        "REDIS_URL": redis_url,
        "ECG_STORAGE_DIR": str(folder / "storage"),
        "SECRET_KEY": "bench-" + "x" * 40,
        "ECG_ENV": "development",
        "ECG_BOOTSTRAP_ADMIN": "0",
        "ECG_MAX_JOBS_PER_USER": "0",
        "ECG_RATELIMIT_ENABLED": "0",
        "ECG_JOB_SWEEP_S": "0",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
    }


def _recording(mitdb: str, record: str):
    """One 30-minute two-lead recording as the upload parser hands it over."""
    from ecg_backend.signals.parsing import parse_upload

    folder = Path(mitdb)
    if (folder / f"{record}.hea").exists():
        files = {f"{record}{ext}": (folder / f"{record}{ext}").read_bytes() for ext in (".hea", ".dat")}
        return parse_upload(files, tempfile.mkdtemp()), f"MIT-BIH {record}"
    sys.path.insert(0, str(ROOT / "tests"))
    from tests.signals.helpers import synthetic_ecg

    signal, _ = synthetic_ecg(seconds=1800, fs=360.0, seed=1)
    body = {
        "signal": [np.round(signal, 4).tolist(), np.round(-signal, 4).tolist()],
        "sampling_rate": 360,
        "leads": ["MLII", "V1"],
    }
    from ecg_backend.signals.parsing import parse_json_signal

    return parse_json_signal(body), "synthetic 30-min two-lead ECG"


def _queue_jobs(app, parsed, n: int) -> list[str]:
    from ecg_backend.extensions import db
    from ecg_backend.models import User
    from ecg_backend.services.recordings import start_recording_job
    from ecg_backend.services.users import create_user

    with app.app_context():
        owner = db.session.query(User).filter_by(email="bench@example.com").first() or create_user(
            "bench@example.com", "bench-password-1", name="Bench"
        )
        return [start_recording_job(owner, parsed, filename="bench").id for _ in range(n)]


def _times(app, ids: list[str]) -> tuple[int, float | None, float | None]:
    """Finished jobs, the first start and the last finish (seconds since the epoch, UTC)."""
    from ecg_backend.extensions import db
    from ecg_backend.models import Job

    with app.app_context():
        db.session.expire_all()
        rows = [db.session.get(Job, i) for i in ids]
        done = [r for r in rows if r.state in ("finished", "failed")]
        failed = [r.error for r in rows if r.state == "failed"]
        if failed:
            raise SystemExit(f"jobs failed: {failed[:2]}")
        if len(done) < len(rows):
            return len(done), None, None
        return len(done), min(_epoch(r.started_at) for r in rows), max(_epoch(r.finished_at) for r in rows)


def _epoch(stamp) -> float:
    return stamp.replace(tzinfo=UTC).timestamp()  # rows hold naive UTC


def _round(app, env, parsed, n_records: int, n_workers: int, worker_class: str) -> dict:
    ids = _queue_jobs(app, parsed, n_records)
    command = [
        sys.executable,
        "-m",
        "rq.cli",
        "worker",
        "ecg",
        "--url",
        env["REDIS_URL"],
        "--burst",
        "--worker-class",
        worker_class,
        "--quiet",
    ]
    started = time.time()
    workers = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(n_workers)
    ]
    try:
        while (state := _times(app, ids))[0] < n_records:
            if time.time() - started > ROUND_LIMIT_S:
                raise SystemExit(f"round stopped after {ROUND_LIMIT_S} s with {state[0]}/{n_records} jobs done")
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    _, first, last = state
    return {"per_min": n_records / (last - first) * 60.0, "startup_s": first - started, "span_s": last - first}


def main() -> None:
    from ecg_backend.signals.mitdb import default_mitdb_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6390/7")
    parser.add_argument("--records", type=int, default=6)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--record", default="101")
    parser.add_argument("--dir", default=str(default_mitdb_dir()))
    parser.add_argument("--plain-worker", action="store_true", help="also the default RQ worker (fork per job)")
    args = parser.parse_args()

    from redis import Redis

    Redis.from_url(args.redis).flushdb()
    folder = Path(tempfile.mkdtemp(prefix="bench-rq-"))
    env = _environment(folder, args.redis)
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    from ecg_backend import create_app

    app = create_app()
    parsed, what = _recording(args.dir, args.record)
    print(
        f"{args.records} recordings of {what} ({len(parsed.signal) / parsed.fs / 60:.0f} min, "
        f"{1 + len(parsed.extra_names)} leads) per round; Redis {args.redis}; {os.cpu_count()} CPUs"
    )
    classes = [("AppWorker", "ecg_backend.services.rq_worker.AppWorker")]
    if args.plain_worker:
        classes.append(("rq.Worker (fork + app per job)", "rq.Worker"))
    for label, worker_class in classes:
        for n in args.workers:
            result = _round(app, env, parsed, args.records, n, worker_class)
            print(
                f"{label:32s} workers={n}: {result['per_min']:6.1f} recordings/min "
                f"({result['span_s']:.1f} s for {args.records}; worker start-up {result['startup_s']:.1f} s)"
            )


if __name__ == "__main__":
    main()
