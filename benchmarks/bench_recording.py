"""Speed and memory of long-recording analysis.

    python benchmarks/bench_recording.py [--record 208] [--dir MITDB] [--hours 24] [--threads 2] [--untrained]
                                         [--single-lead]

Prints: a 30-minute 360 Hz MIT-BIH record end to end (WFDB read + analyze_recording, model scoring
included) and the same record tiled to --hours (default 24 h), with beats/s and the process's peak RSS.
Both leads are used (MLII primary, the second lead as ``extra_leads`` in float32, as a recording job
keeps it); ``--single-lead`` measures MLII alone.
Targets (issue 5): 30 min <= 3 s; 24 h <= 60 s with peak memory <= 2 GB, on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def main() -> None:
    from ecg_backend.signals.mitdb import default_mitdb_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=str(default_mitdb_dir()))
    parser.add_argument("--record", default="208")
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--untrained", action="store_true", help="random-weight model (if no bundle is trained)")
    parser.add_argument("--single-lead", action="store_true", help="the first lead alone (no extra leads)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    import wfdb

    from ecg_backend.signals.evaluate import load_detector
    from ecg_backend.signals.recording import analyze_recording

    detector = load_detector(None, args.untrained)
    channels = [0] if args.single_lead else None
    print(f"model {detector.version}; torch threads {torch.get_num_threads()}; record {args.record}; "
          f"{'first lead only' if args.single_lead else 'all leads'}")
    path = str(Path(args.dir) / args.record)
    warm = wfdb.rdrecord(path, channels=channels, sampto=36000).p_signal
    analyze_recording(warm[:, 0], 360.0, detector=detector, extra_leads=None if args.single_lead else warm[:, 1:])

    t0 = time.perf_counter()
    rec = wfdb.rdrecord(path, channels=channels)
    signal = rec.p_signal[:, 0].astype(np.float64)
    extra = None if args.single_lead else rec.p_signal[:, 1:].astype(np.float32)
    result = analyze_recording(signal, rec.fs, detector=detector, extra_leads=extra)
    elapsed = time.perf_counter() - t0
    n = result.summary["n_beats"]
    print(f"30-min record ({len(signal) / rec.fs / 60:.1f} min): {elapsed:.2f} s end to end, {n} beats, "
          f"{n / elapsed:.0f} beats/s  [target <= 3 s]")

    reps = int(np.ceil(args.hours * 3600 * rec.fs / len(signal)))
    n_long = int(args.hours * 3600 * rec.fs)
    long_signal = np.tile(signal, reps)[:n_long]
    long_extra = None if extra is None else np.tile(extra, (reps, 1))[:n_long]
    del rec, extra, result
    t0 = time.perf_counter()
    result = analyze_recording(long_signal, 360.0, detector=detector, extra_leads=long_extra)
    elapsed = time.perf_counter() - t0
    n = result.summary["n_beats"]
    print(f"{args.hours:g}-h tiled record ({len(long_signal)} samples x {1 + (0 if long_extra is None else long_extra.shape[1])} "
          f"leads): {elapsed:.1f} s, {n} beats, "
          f"{n / elapsed:.0f} beats/s  [target <= 60 s]")
    print(f"peak RSS of the process: {peak_rss_mb():.0f} MB  [target <= 2048 MB]")


if __name__ == "__main__":
    main()
