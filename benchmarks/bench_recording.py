"""Speed and memory of long-recording analysis.

    python benchmarks/bench_recording.py [--record 208] [--dir MITDB] [--hours 24] [--threads 2] [--untrained]
                                         [--single-lead]

Prints: a 30-minute 360 Hz MIT-BIH record end to end (WFDB read + analyze_recording, model scoring
included) and the same record tiled to --hours (default 24 h), with beats/s and the process's peak RSS;
then, on the long reading, `review.apply_labels` with a reader's labels for the three families a reader
checks first and one beat (the interactive step), and a `save_reading` / `load_reading` round trip.
Both leads are used (MLII primary, the second lead as ``extra_leads`` in float32, as a recording job
keeps it); ``--single-lead`` measures MLII alone.
Targets (issue 14): 30 min <= 1 s; 24 h <= 30 s with peak memory <= 1.5 GB; apply_labels on 24 h <= 2 s;
on 2 CPU cores.
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
    print(
        f"model {detector.version}; torch threads {torch.get_num_threads()}; record {args.record}; "
        f"{'first lead only' if args.single_lead else 'all leads'}"
    )
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
    print(
        f"30-min record ({len(signal) / rec.fs / 60:.1f} min): {elapsed:.2f} s end to end, {n} beats, "
        f"{n / elapsed:.0f} beats/s  [target <= 1 s]"
    )

    reps = int(np.ceil(args.hours * 3600 * rec.fs / len(signal)))
    n_long = int(args.hours * 3600 * rec.fs)
    long_signal = np.tile(signal, reps)[:n_long]
    long_extra = None if extra is None else np.tile(extra, (reps, 1))[:n_long]
    del rec, extra, result
    t0 = time.perf_counter()
    result = analyze_recording(long_signal, 360.0, detector=detector, extra_leads=long_extra)
    elapsed = time.perf_counter() - t0
    n = result.summary["n_beats"]
    print(
        f"{args.hours:g}-h tiled record ({len(long_signal)} samples x {1 + (0 if long_extra is None else long_extra.shape[1])} "
        f"leads): {elapsed:.1f} s, {n} beats, "
        f"{n / elapsed:.0f} beats/s  [target <= 30 s]"
    )
    print(f"peak RSS of the process: {peak_rss_mb():.0f} MB  [target <= 1536 MB]")
    review_timings(result)


def review_timings(result) -> None:
    """apply_labels on the long reading (three families and one beat), and the reading's file round trip."""
    import tempfile

    from ecg_backend.signals.reading import load_reading, save_reading
    from ecg_backend.signals.review import apply_labels

    first = result.families.sort_values("review_rank")["family"].head(3).tolist()
    labels = dict(zip(first, ["V", "N", "Q"]))
    t0 = time.perf_counter()
    reviewed = apply_labels(result, families=labels, beats={0: "S"})
    elapsed = time.perf_counter() - t0
    print(
        f"apply_labels on {len(result.beats)} beats ({len(result.families)} families, 3 labelled + 1 beat): "
        f"{elapsed:.2f} s  [target <= 2 s]; beat counts {reviewed.summary['beat_counts']}"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reading.npz"
        t0 = time.perf_counter()
        save_reading(result, path, waveforms=False)
        saved = time.perf_counter() - t0
        t0 = time.perf_counter()
        loaded = load_reading(path)
        apply_labels(loaded, families=labels, beats={0: "S"})
        print(
            f"save_reading (no waveforms) {saved:.2f} s, {path.stat().st_size / 1e6:.1f} MB; "
            f"load_reading + apply_labels {time.perf_counter() - t0:.2f} s"
        )


if __name__ == "__main__":
    main()
