"""Peak memory and time of parsing a 24-h two-lead WFDB upload in the web process.

    nice -n 19 python benchmarks/bench_upload_memory.py [--record 208] [--dir MITDB] [--hours 24] [--repeat 1]

Builds the upload in a temporary folder: MIT-BIH record --record (digital samples, format 212, its own
gains and baselines) tiled to --hours with ``wfdb.wrsamp``. Then, each in a fresh Python process, so that
one peak does not hide another:

- ``parse_upload``: the .hea/.dat bytes as a request holds them -> `parsing.parse_upload`;
- ``+ job input file``: the same, then the job's ``.npy`` input file written as `start_recording_job`
  writes it (`recordings.save_leads`; in trees without it, ``np.save`` of `saved_leads`);
- ``+ Idempotency-Key hash``: `recordings.recording_fingerprint`, as a request with an Idempotency-Key
  does before the job's input file is written (the hash reads the leads block by block).

Each line gives the wall time of that step, the process's RSS before it (imports and the uploaded bytes)
and its peak RSS (``VmHWM``), so peak - before is what parsing costs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    """This process's peak RSS in MB: VmHWM, not ru_maxrss, which a child inherits from its parent's fork."""
    with open("/proc/self/status") as fh:
        line = next(line for line in fh if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024.0


def build_record(source: Path, folder: Path, hours: float) -> tuple[str, int]:
    """``source`` (a WFDB record path without extension) tiled to ``hours``, written into ``folder``."""
    import wfdb

    rec = wfdb.rdrecord(str(source), physical=False)
    n_long = int(round(hours * 3600 * rec.fs))
    reps = int(np.ceil(n_long / rec.sig_len))
    digital = np.tile(rec.d_signal, (reps, 1))[:n_long]
    name = f"{source.name}_{int(round(hours * 60))}min"
    wfdb.wrsamp(
        name,
        fs=rec.fs,
        units=rec.units,
        sig_name=rec.sig_name,
        d_signal=digital,
        fmt=rec.fmt,
        adc_gain=rec.adc_gain,
        baseline=rec.baseline,
        write_dir=str(folder),
    )
    return name, n_long


def child(folder: str, name: str, step: str) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    import wfdb  # noqa: F401  (loaded in a serving process after its first upload; not part of the cost)

    from ecg_backend.services import recordings
    from ecg_backend.signals.parsing import parse_upload

    files = {f"{name}{ext}": (Path(folder) / f"{name}{ext}").read_bytes() for ext in (".hea", ".dat")}
    upload = Path(folder) / "uploads"
    before = rss_mb()
    t0 = time.perf_counter()
    parsed = parse_upload(files, upload)
    if step == "hash":
        recordings.recording_fingerprint(parsed, filename=name, patient_id=None)
    if step == "file":
        target = str(Path(folder) / "job-input.npy")
        if hasattr(recordings, "save_leads"):
            recordings.save_leads(target, parsed)
        else:  # trees before the input file was written in blocks
            np.save(target, recordings.saved_leads(parsed))
    elapsed = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "seconds": round(elapsed, 2),
                "rss_before_mb": round(before),
                "peak_rss_mb": round(peak_rss_mb()),
                "upload_mb": round(sum(len(v) for v in files.values()) / 2**20),
                "signal": str(parsed.signal.dtype),
                "extra": str(parsed.extra_leads.dtype),
                "shape": [len(parsed.signal), 1 + parsed.extra_leads.shape[1]],
            }
        )
    )


def main() -> None:
    from ecg_backend.signals.mitdb import default_mitdb_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=str(default_mitdb_dir()))
    parser.add_argument("--record", default="208")
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeat", type=int, default=1, help="measurements of each step")
    parser.add_argument("--child", nargs=3, metavar=("FOLDER", "NAME", "STEP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as folder:
        name, n = build_record(Path(args.dir) / args.record, Path(folder), args.hours)
        print(f"record {args.record} tiled to {args.hours:g} h: {n} samples x 2 leads; python {sys.version.split()[0]}")
        steps = (
            ("parse_upload", "parse"),
            ("parse_upload + job input file", "file"),
            ("parse_upload + Idempotency-Key hash", "hash"),
        )
        for label, step in steps:
            for _ in range(args.repeat):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", folder, name, step],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=REPO,
                )
                row = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"{label}: {row['seconds']:.2f} s, RSS before {row['rss_before_mb']} MB (upload "
                    f"{row['upload_mb']} MB), peak {row['peak_rss_mb']} MB (+{row['peak_rss_mb'] - row['rss_before_mb']} MB); "
                    f"chosen lead {row['signal']}, other leads {row['extra']}, shape {row['shape']}"
                )


if __name__ == "__main__":
    main()
