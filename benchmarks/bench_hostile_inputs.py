"""Time and memory of the recording parser on the hostile uploads found by probing the served app.

    python benchmarks/bench_hostile_inputs.py [--case NAME ...]

Each case runs in a fresh process: the upload is built, the peak-RSS mark is reset, then
``parse_upload(files, folder)`` runs; printed are the answer (the error's kind, or "accepted"), the
seconds it took and how far the process's peak RSS rose above its size before parsing. The same script
runs against an older checkout (``PYTHONPATH=<checkout>``): it only uses ``parse_upload`` with bytes.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _zip(files: dict, level: int = 6) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _wide_csv():
    return {"wide.csv": b"1\n2\n" + b"\n".join(b";".join([b"0.5"] * 400_000) for _ in range(3))}, {
        "sampling_rate": "360"
    }


def _wide_csv_header():
    return {"wide.csv": b"ecg\n" + b"\n".join(b",".join([b"1"] * 400_000) for _ in range(3))}, {"sampling_rate": "360"}


def _zip_filler():
    """A 1000 MB member of zeros (a 1000x expansion) beside 5 MB of incompressible filler."""
    n = 500 << 20
    header = f"rec 1 360 {n}\nrec.dat 16 200 16 0 0 0 0 MLII\n".encode()
    filler = os.urandom(5 << 20)
    return {"rec.zip": _zip({"rec.hea": header, "rec.dat": b"\0" * (2 * n), "filler.bin": filler}, 9)}, {}


def _zip_24h_1khz():
    """A 24-h 1 kHz one-lead record whose samples zip about 140x (each member under a 200x ratio)."""
    n = 24 * 3600 * 1000
    header = f"rec 1 1000 {n}\nrec.dat 16 200 16 0 0 0 0 MLII\n".encode()
    block = os.urandom(16384)
    return {"rec.zip": _zip({"rec.hea": header, "rec.dat": block * (2 * n // len(block))}, 6)}, {}


def _wfdb_40_leads():
    n = 2_000_000
    header = f"rec 40 360 {n}\n".encode() + b"".join(f"rec.dat 16 200 16 0 0 0 0 L{k}\n".encode() for k in range(40))
    return {"rec.hea": header, "rec.dat": b"\x01\x00" * (40 * n)}, {}


def _json_huge_int():
    return {"r.json": json.dumps({"sampling_rate": int("3" * 401), "signal": [0.1] * 3600}).encode()}, {}


CASES = {
    "csv-3x400k-cells": _wide_csv,
    "csv-header-3x400k-cells": _wide_csv_header,
    "zip-1GB-with-5MB-filler": _zip_filler,
    "zip-24h-1kHz": _zip_24h_1khz,
    "wfdb-40-leads-2M": _wfdb_40_leads,
    "json-401-digit-rate": _json_huge_int,
}

CHILD = """
import resource, sys, tempfile, time
sys.path.insert(0, sys.argv[2])
sys.path.insert(0, sys.argv[3])
import bench_hostile_inputs as bench
files, form = bench.CASES[sys.argv[1]]()
from ecg_backend.signals.parsing import parse_upload
def vm(name):
    for line in open("/proc/self/status"):
        if line.startswith(name):
            return int(line.split()[1]) / 1024
before = vm("VmRSS")
open("/proc/self/clear_refs", "w").write("5")  # reset the peak-RSS mark
start = time.perf_counter()
try:
    parse_upload(files, tempfile.mkdtemp(), **form)
    answer = "accepted"
except Exception as exc:
    answer = f"{type(exc).__name__}({getattr(exc, 'kind', None) or getattr(exc, 'status', '')}): {str(exc)[:70]}"
print(f"{time.perf_counter() - start:8.2f} s  +{vm('VmHWM') - before:7.0f} MB  {answer}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="*", default=list(CASES))
    parser.add_argument("--code", default=str(ROOT), help="checkout whose ecg_backend is measured")
    args = parser.parse_args()
    print(f"code: {args.code}")
    for name in args.case:
        result = subprocess.run(
            [sys.executable, "-c", CHILD, name, str(Path(__file__).parent), args.code],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        line = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr.strip()[-200:]
        print(f"{name:26s} {line}")


if __name__ == "__main__":
    main()
