"""Load benchmark: the app under gunicorn on 127.0.0.1, driven by concurrent clients from this process.

    python benchmarks/load_test.py                       # 16 clients, 60 s per phase, every phase
    python benchmarks/load_test.py --duration 5 --clients 2 --phases healthz,predict1   # smoke run

Phases (each with ``--clients`` threads for ``--duration`` seconds):

    healthz      GET /healthz (the baseline: no auth, one SELECT 1)
    predict1     POST /predict, one beat as JSON, scored only (the throughput and p99 targets)
    stored1      POST /predict, one beat as JSON, patient_id set (scored and stored)
    predict100   POST /predict, 100 beats as JSON, patient_id set (stored)
    csv          POST /predict, a CSV upload of 12 beats, patient_id set (stored)
    kill         stored1 while one worker is SIGKILLed half-way (gunicorn starts a replacement)
    sigterm      stored1 while the server gets SIGTERM half-way (graceful stop); runs last

The server runs as the README says (``gunicorn ecg_backend.wsgi:app`` with gunicorn.conf.py) on a temp
SQLite database with a generated admin password; the script logs in, makes a token and a patient, and
afterwards checks that nothing was lost: every 2xx ``analysis_id`` is in the database and the number
of stored analyses equals the number of logical requests answered 2xx (per phase). Storing phases send
an ``Idempotency-Key`` (unique per logical request) and re-send a request with the same key after a
connection error (reset, refused), as a careful client does: a request whose worker was killed after it
had stored the analysis is answered again from the stored row (``Idempotent-Replayed: true``), so a
killed worker leaves no stored row that its client never heard of. Worker memory (RSS and PSS from
/proc) is read after a warm-up and after the load phases (before a worker is killed or the server stopped). Targets (2 cores): zero 5xx; predict1 throughput >= 50%
of healthz; predict1 p99 < 100 ms; worker memory growth < 10%. The script prints a table and a verdict
and can write everything as JSON (``--json``). Loopback only; every phase is bounded in time and count.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PHASES = ("healthz", "predict1", "stored1", "predict100", "csv", "kill", "sigterm")
STORING = {"stored1", "predict100", "csv", "kill", "sigterm"}
MAX_REQUESTS_PER_CLIENT = 200_000  # a hard bound besides the clock
ADMIN_EMAIL, ADMIN_PASSWORD = "loadtest-admin@example.org", "load-test-" + os.urandom(6).hex()


# ---------------------------------------------------------------------------- server
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_model_dir(workdir: Path, model_dir: str | None) -> tuple[str, str]:
    """The bundle to serve: --model-dir, $ECG_MODEL_DIR, the shipped one, else a random-weight stand-in."""
    from ecg_backend.ml.detector import DEFAULT_BUNDLE_DIR

    for candidate, label in (
        (model_dir, "--model-dir"),
        (os.environ.get("ECG_MODEL_DIR"), "ECG_MODEL_DIR"),
        (str(DEFAULT_BUNDLE_DIR), "shipped bundle"),
    ):
        if candidate and (Path(candidate) / "model.json").is_file():
            return candidate, f"{label} {candidate}"
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    from ecg_backend.ml.bundle import write_bundle
    from ecg_backend.ml.model import AutoencoderConfig, AutoencoderEnsemble

    directory = workdir / "bundle"
    scaler = StandardScaler().fit(np.random.default_rng(0).normal(size=(50, 140)))
    write_bundle(
        directory,
        AutoencoderEnsemble(AutoencoderConfig(), n_members=1),
        scaler,
        {
            "name": "load-test stand-in",
            "threshold": 1.0,
            "calibration": {"a": 4.0, "b": 0.0},
            "scoring": {"position_weights": None},
        },
    )
    return str(directory), "random weights, default architecture (no trained bundle found)"


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    db_path: Path
    log_path: Path

    def workers(self) -> list[int]:
        """PIDs of the gunicorn workers (children of the master)."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in children]


def start_server(workdir: Path, model_dir: str, workers: int) -> Server:
    port = free_port()
    db_path = workdir / "load.db"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db_path}",
        "SECRET_KEY": os.urandom(24).hex(),
        "ECG_ADMIN_EMAIL": ADMIN_EMAIL,
        "ECG_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ECG_MODEL_DIR": model_dir,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_ACCESSLOG": "/dev/null",
        "GUNICORN_MAX_REQUESTS": "0",  # no recycling: memory growth over the run must show, not be reset
        "ECG_ENV": "production",
        "ECG_RATELIMIT_ENABLED": "1",
    }
    env.pop("FLASK_APP", None)
    log_path = workdir / "gunicorn.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "ecg_backend.wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = Server(process, port, db_path, log_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited ({process.returncode}):\n{log_path.read_text()[-2000:]}")
        try:
            if request(port, "GET", "/healthz")[0] == 200 and len(server.workers()) >= workers:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    stop_server(server)
    raise SystemExit("gunicorn did not answer /healthz within 120 s")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def memory(pids: list[int]) -> dict:
    """RSS and PSS (shared pages split between processes) of each worker, in MiB."""
    out = {}
    for pid in pids:
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
            out[pid] = {"rss": int(fields["Rss"].split()[0]) / 1024, "pss": int(fields["Pss"].split()[0]) / 1024}
        except (OSError, KeyError, ValueError):
            continue
    return out


# ---------------------------------------------------------------------------- HTTP
def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict | None = None,
    connection: http.client.HTTPConnection | None = None,
    timeout: float = 30.0,
):
    """One request; returns (status, body bytes, response headers)."""
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        if connection is None:
            conn.close()


def setup_account(port: int) -> tuple[str, int]:
    """Log in as the generated admin, create a token and a patient; returns (token, patient_id)."""
    status, body, headers = request(
        port,
        "POST",
        "/login",
        json.dumps({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).encode(),
        {"Content-Type": "application/json"},
    )
    if status != 200:
        raise SystemExit(f"login failed: {status} {body[:200]!r}")
    cookie = headers.get("Set-Cookie", "").split(";")[0]
    csrf = json.loads(body)["csrf_token"]
    status, body, _ = request(
        port,
        "POST",
        "/api/v1/tokens",
        b'{"name": "load test"}',
        {"Content-Type": "application/json", "Cookie": cookie, "X-CSRFToken": csrf},
    )
    if status != 201:
        raise SystemExit(f"token creation failed: {status} {body[:200]!r}")
    token = json.loads(body)["token"]
    status, body, _ = request(
        port,
        "POST",
        "/api/v1/patients",
        b'{"name": "Load Test Patient"}',
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    if status != 201:
        raise SystemExit(f"patient creation failed: {status} {body[:200]!r}")
    return token, json.loads(body)["id"]


def payloads(token: str, patient_id: int) -> dict:
    """(method, path, body, headers) for each kind of request."""
    import numpy as np

    sample = REPO / "data" / "sample_beats.csv"
    rng = np.random.default_rng(0)
    t = np.linspace(0, 2 * np.pi, 140)
    beats = (np.sin(t)[None, :] * rng.uniform(0.5, 2.0, (100, 1)) + rng.normal(0, 0.05, (100, 140))).round(4)
    auth = {"Authorization": f"Bearer {token}"}
    as_json = {**auth, "Content-Type": "application/json"}
    boundary = "loadtestboundary7e3f"
    csv_bytes = (
        sample.read_bytes()
        if sample.exists()
        else "\n".join(",".join(map(str, row)) for row in beats[:12].tolist()).encode()
    )
    multipart = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="patient_id"\r\n\r\n{patient_id}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="beats.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + csv_bytes
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return {
        "healthz": ("GET", "/healthz", None, {}),
        "predict1": ("POST", "/predict", json.dumps({"beat": beats[0].tolist()}).encode(), as_json),
        "stored1": (
            "POST",
            "/predict",
            json.dumps({"beat": beats[0].tolist(), "patient_id": patient_id}).encode(),
            as_json,
        ),
        "predict100": (
            "POST",
            "/predict",
            json.dumps({"beats": beats.tolist(), "patient_id": patient_id}).encode(),
            as_json,
        ),
        "csv": ("POST", "/predict", multipart, {**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"}),
    }


# ---------------------------------------------------------------------------- load
@dataclass
class PhaseResult:
    name: str
    duration_s: float = 0.0
    latencies_ms: list = field(default_factory=list)  # 2xx only
    statuses: dict = field(default_factory=dict)
    connection_errors: int = 0
    analysis_ids: list = field(default_factory=list)
    answers: list = field(default_factory=list)  # storing phases: (idempotency key, analysis id, replayed)
    retries: int = 0  # storing phases: requests re-sent with the same key after a connection error
    abandoned_keys: list = field(default_factory=list)  # keys still unanswered when the phase ended
    events: list = field(default_factory=list)

    def summary(self) -> dict:
        import numpy as np

        lat = np.asarray(self.latencies_ms) if self.latencies_ms else np.asarray([np.nan])
        ok = sum(v for k, v in self.statuses.items() if 200 <= int(k) < 300)
        return {
            "phase": self.name,
            "duration_s": round(self.duration_s, 2),
            "requests": sum(self.statuses.values()),
            "ok_2xx": ok,
            "rps_2xx": round(ok / self.duration_s, 1) if self.duration_s else 0.0,
            "p50_ms": round(float(np.nanpercentile(lat, 50)), 1),
            "p95_ms": round(float(np.nanpercentile(lat, 95)), 1),
            "p99_ms": round(float(np.nanpercentile(lat, 99)), 1),
            "status_4xx": sum(v for k, v in self.statuses.items() if 400 <= int(k) < 500),
            "status_5xx": sum(v for k, v in self.statuses.items() if int(k) >= 500),
            "connection_errors": self.connection_errors,
            "retries": self.retries,
            "replayed_2xx": sum(1 for _, _, replayed in self.answers if replayed),
            "events": self.events,
        }


def run_phase(server: Server, name: str, spec: tuple, clients: int, duration: float, interrupt=None) -> PhaseResult:
    """``clients`` threads repeat one request for ``duration`` s; ``interrupt(result)`` runs half-way and
    ends the phase early when it returns True (the server is gone)."""
    method, path, body, headers = spec
    result = PhaseResult(name)
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    stop = threading.Event()

    run_id = os.urandom(4).hex()

    def client(index: int) -> None:
        local_lat, local_status, local_answers, errors, retries = [], {}, [], 0, 0
        key = None  # the Idempotency-Key of the logical request in progress (storing phases)
        for sequence in range(MAX_REQUESTS_PER_CLIENT):
            if stop.is_set() or time.monotonic() >= stop_at:
                break
            if name in STORING and key is None:
                key = f"{name}-{run_id}-{index}-{sequence}"
            started = time.perf_counter()
            try:
                status, data, answer_headers = request(
                    server.port,
                    method,
                    path,
                    body,
                    headers if key is None else {**headers, "Idempotency-Key": key},
                    timeout=30,
                )
            except (OSError, http.client.HTTPException):  # refused / reset: a killed worker or a stopped server
                errors += 1
                retries += key is not None  # the next round re-sends the same key
                time.sleep(0.05)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            local_status[status] = local_status.get(status, 0) + 1
            if 200 <= status < 300:
                local_lat.append(elapsed)
                if key is not None:
                    local_answers.append(
                        (key, json.loads(data).get("analysis_id"), answer_headers.get("Idempotent-Replayed") == "true")
                    )
            key = None
        with lock:
            result.latencies_ms.extend(local_lat)
            for code, value in local_status.items():
                result.statuses[code] = result.statuses.get(code, 0) + value
            result.answers.extend(local_answers)
            result.analysis_ids.extend(answer[1] for answer in local_answers)
            result.connection_errors += errors
            result.retries += retries
            if key is not None:
                result.abandoned_keys.append(key)

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    if interrupt is not None:
        time.sleep(duration / 2)
        if interrupt(result):
            stop.set()
    for thread in threads:
        thread.join(timeout=duration + 60)
    stop.set()
    result.duration_s = time.monotonic() - started
    return result


def kill_one_worker(server: Server):
    def interrupt(result: PhaseResult) -> None:
        workers = server.workers()
        if not workers:
            result.events.append("no worker to kill")
            return
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = server.workers()
            if victim not in now and len(now) >= len(workers):
                result.events.append(
                    f"SIGKILL worker {victim}; replaced by {sorted(set(now) - set(workers))} "
                    f"in {30 - (deadline - time.monotonic()):.1f} s"
                )
                return
            time.sleep(0.1)
        result.events.append(f"SIGKILL worker {victim}; no replacement within 30 s")

    return interrupt


def terminate_server(server: Server):
    def interrupt(result: PhaseResult) -> bool:
        server.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            code = server.process.wait(timeout=45)
            result.events.append(f"SIGTERM to the master: exited {code} after {time.monotonic() - started:.1f} s")
        except subprocess.TimeoutExpired:
            result.events.append("SIGTERM to the master: still running after 45 s")
        return True

    return interrupt


# ---------------------------------------------------------------------------- checks
def stored_analyses(db_path: Path) -> dict[int, str | None]:
    """Stored analysis ids and their Idempotency-Keys."""
    with sqlite3.connect(db_path) as connection:
        return dict(connection.execute("SELECT id, idempotency_key FROM analyses"))


def lost_check(results: list[PhaseResult], before: dict[str, dict], after: dict[int, str | None]) -> dict:
    """Per storing phase: 2xx ids missing from the database, and stored rows without a 2xx answer.

    ``ok_2xx`` counts 2xx answers; each logical request (one key) is answered at most once, because a
    client re-sends only when it got no answer. ``rows_without_2xx`` are rows stored in the phase whose
    key (and id) no 2xx answer carried: a request whose answer was lost and never retried successfully.
    """
    out = {}
    for result in results:
        if result.name not in STORING:
            continue
        new_rows = {i: k for i, k in before[result.name + ":after"].items() if i not in before[result.name + ":before"]}
        ids = [i for i in result.analysis_ids if i is not None]
        answered_keys = {key for key, _, _ in result.answers}
        out[result.name] = {
            "ok_2xx": len(result.analysis_ids),
            "unique_keys_2xx": len(answered_keys),
            "ids_in_answers": len(ids),
            "replayed_2xx": sum(1 for _, _, replayed in result.answers if replayed),
            "retries": result.retries,
            "missing_from_db": len(set(ids) - set(after)),
            "rows_stored": len(new_rows),
            "rows_without_2xx": sum(1 for i, k in new_rows.items() if i not in set(ids) and k not in answered_keys),
            "duplicate_ids": len({(k, i) for k, i, _ in result.answers}) - len(set(ids)),
            "keys_stored_twice": len(new_rows) - len(set(new_rows.values())),
            "abandoned_keys": len(result.abandoned_keys),
            "abandoned_keys_stored": sum(1 for k in new_rows.values() if k in set(result.abandoned_keys)),
        }
    return out


def machine_load() -> dict:
    load1, load5, _ = os.getloadavg()
    return {"cpus": os.cpu_count(), "loadavg_1m": round(load1, 2), "loadavg_5m": round(load5, 2)}


def print_report(report: dict) -> None:
    print(f"\nserver: gunicorn, {report['workers']} workers, model: {report['model']}")
    print(f"machine: {report['machine_before']} before, {report['machine_after']} after")
    head = f"{'phase':<11}{'req':>8}{'2xx':>8}{'rps':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'4xx':>6}{'5xx':>6}{'conn err':>9}"
    print(head + "\n" + "-" * len(head))
    for row in report["phases"]:
        print(
            f"{row['phase']:<11}{row['requests']:>8}{row['ok_2xx']:>8}{row['rps_2xx']:>8}{row['p50_ms']:>9}"
            f"{row['p95_ms']:>9}{row['p99_ms']:>9}{row['status_4xx']:>6}{row['status_5xx']:>6}"
            f"{row['connection_errors']:>9}"
        )
        for event in row["events"]:
            print(f"{'':<11}{event}")
    mem = report["memory"]
    print(
        f"\nworker memory (MiB): start RSS {mem['start_rss']:.1f} PSS {mem['start_pss']:.1f}; "
        f"end RSS {mem['end_rss']:.1f} PSS {mem['end_pss']:.1f} (same workers: {mem['same_workers']})"
    )
    print("nothing lost:", json.dumps(report["lost"], indent=None))
    print("\ntargets:")
    for name, (ok, detail) in report["targets"].items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")


def evaluate(report: dict) -> dict:
    rows = {row["phase"]: row for row in report["phases"]}
    targets = {}
    five = sum(row["status_5xx"] for row in report["phases"])
    targets["zero 5xx"] = (five == 0, f"{five} responses >= 500")
    if "healthz" in rows and "predict1" in rows:
        ratio = rows["predict1"]["rps_2xx"] / max(rows["healthz"]["rps_2xx"], 1e-9)
        targets["predict1 >= 50% of healthz throughput"] = (ratio >= 0.5, f"{ratio:.0%}")
    if "predict1" in rows:
        targets["predict1 p99 < 100 ms"] = (rows["predict1"]["p99_ms"] < 100, f"{rows['predict1']['p99_ms']} ms")
    mem = report["memory"]
    if mem["start_rss"]:
        growth = mem["end_rss"] / mem["start_rss"] - 1
        targets["worker memory growth < 10%"] = (
            growth < 0.10,
            f"RSS {growth:+.1%} (PSS {mem['end_pss'] / max(mem['start_pss'], 1e-9) - 1:+.1%})",
        )
    resets = {row["phase"]: row["connection_errors"] for row in report["phases"]}
    for phase, check in report["lost"].items():
        ok = check["missing_from_db"] == 0 and check["ids_in_answers"] == check["ok_2xx"]
        targets[f"every 2xx analysis stored ({phase})"] = (
            ok,
            f"{check['ok_2xx']} 2xx, {check['missing_from_db']} missing from the database",
        )
        equal = check["rows_stored"] == check["unique_keys_2xx"] == check["ok_2xx"]
        targets[f"stored rows == 2xx ({phase})"] = (
            equal,
            f"{check['rows_stored']} rows for {check['ok_2xx']} 2xx ({check['unique_keys_2xx']} keys); "
            f"{check['rows_without_2xx']} row(s) whose answer was lost; {resets.get(phase, 0)} connection "
            f"error(s), {check['retries']} retried with the same key, {check['replayed_2xx']} answered "
            "from the stored row",
        )
    return targets


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase (default 60)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "2")),
        help="gunicorn workers (default $WEB_CONCURRENCY or 2, as gunicorn.conf.py)",
    )
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, from {','.join(PHASES)}")
    parser.add_argument("--model-dir", default=None, help="bundle to serve (default $ECG_MODEL_DIR or the shipped one)")
    parser.add_argument("--json", dest="json_path", default=None, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases {sorted(unknown)}")
    phases.sort(key=PHASES.index)  # sigterm stops the server: always last

    workdir = Path(tempfile.mkdtemp(prefix="ecg-load-"))
    server = None
    report = {
        "clients": args.clients,
        "duration_per_phase_s": args.duration,
        "workers": args.workers,
        "machine_before": machine_load(),
    }
    try:
        model_dir, report["model"] = ensure_model_dir(workdir, args.model_dir)
        server = start_server(workdir, model_dir, args.workers)
        token, patient_id = setup_account(server.port)
        specs = payloads(token, patient_id)
        for name in ("healthz", "predict1", "stored1", "predict100", "csv"):  # warm-up: imports, first batches, pools
            for _ in range(5):
                request(server.port, *specs[name][:1], specs[name][1], specs[name][2], specs[name][3])
        start_workers = server.workers()
        start_mem = memory(start_workers)
        results, marks, end_mem, end_workers = [], {}, {}, []
        for name in phases:
            spec = specs["stored1" if name in ("kill", "sigterm") else name]
            if name in ("kill", "sigterm") and not end_mem:  # before a worker is killed or the server stopped
                end_workers, end_mem = server.workers(), memory(server.workers())
            interrupt = (
                kill_one_worker(server) if name == "kill" else terminate_server(server) if name == "sigterm" else None
            )
            marks[name + ":before"] = stored_analyses(server.db_path) if name in STORING else {}
            print(f"phase {name}: {args.clients} clients for {args.duration:g} s ...", flush=True)
            results.append(run_phase(server, name, spec, args.clients, args.duration, interrupt))
            marks[name + ":after"] = stored_analyses(server.db_path) if name in STORING else {}
        if not end_workers:
            end_workers, end_mem = server.workers(), memory(server.workers())
        report["machine_after"] = machine_load()
        stop_server(server)
        report["phases"] = [r.summary() for r in results]
        same = sorted(set(start_mem) & set(end_mem))
        report["memory"] = {
            "start_rss": sum(start_mem[p]["rss"] for p in same),
            "start_pss": sum(start_mem[p]["pss"] for p in same),
            "end_rss": sum(end_mem[p]["rss"] for p in same),
            "end_pss": sum(end_mem[p]["pss"] for p in same),
            "same_workers": len(same),
            "per_worker_start": start_mem,
            "per_worker_end": end_mem,
        }
        report["lost"] = lost_check(results, marks, stored_analyses(server.db_path))
        report["targets"] = dict(evaluate(report).items())
        print_report(report)
        if args.json_path:
            Path(args.json_path).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json_path).write_text(json.dumps(report, indent=2, default=str) + "\n")
        return 0 if all(ok for ok, _ in report["targets"].values()) else 1
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
