"""Detector speed: batch throughput, single-beat latency, and the naive path for comparison.

    python benchmarks/bench_detector.py [--threads 2] [--bundle DIR] [--calls 300] [--alternatives]

Figures printed:
* throughput of ``detector.score`` on a 4500-beat batch (the ECG5000 TEST split if found, else
  4500 synthetic beats), best of several runs, in beats/s;
* latency of ``detector.score`` on one beat: median and p95 over many calls;
* the naive path: load the model from disk and score one beat at a time (as a per-request
  loader would), in beats/s, and the speed-up of the batched loaded-once path over it;
* with ``--alternatives``: the network's forward pass alone, eager under ``torch.inference_mode`` (what
  the detector runs) against a frozen TorchScript trace (deprecated in torch 2.13, the earlier path) and
  ``torch.compile`` (with its warm-up time), for one beat and for the batch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg_backend.ml.detector import AnomalyDetector  # noqa: E402


def _beats(n: int) -> tuple[np.ndarray, str]:
    try:
        from ecg_backend.ml.data import load_ecg5000

        beats = load_ecg5000("TEST").beats
        return beats[:n], "ECG5000 TEST"
    except FileNotFoundError:
        rng = np.random.default_rng(0)
        return rng.normal(size=(n, 140)).astype(np.float32), "synthetic"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bundle", type=Path, default=None)
    parser.add_argument("--calls", type=int, default=300, help="single-beat calls for latency")
    parser.add_argument("--naive-beats", type=int, default=30, help="beats scored on the naive path")
    parser.add_argument(
        "--alternatives",
        action="store_true",
        help="also time the forward pass through a TorchScript trace and torch.compile",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    beats, source = _beats(4500)
    detector = AnomalyDetector.load(args.bundle)
    print(
        f"detector {detector.version}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{len(beats)} beats ({source}); {os.cpu_count()} CPUs, load average before the run "
        f"{os.getloadavg()[0]:.2f} (other processes slow every figure below)"
    )

    detector.score(beats)  # warm-up
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        detector.score(beats)
        runs.append(time.perf_counter() - start)
    best, median = min(runs), statistics.median(runs)
    print(
        f"batch: {len(beats) / best:,.0f} beats/s best, {len(beats) / median:,.0f} beats/s median "
        f"({best * 1000:.1f} ms best for {len(beats)} beats)"
    )

    single = beats[0]
    for _ in range(20):
        detector.score(single)
    times = []
    for i in range(args.calls):
        start = time.perf_counter()
        detector.score(beats[i % len(beats)])
        times.append(time.perf_counter() - start)
    times_ms = np.array(times) * 1000
    print(
        f"single beat: median {np.median(times_ms):.2f} ms, p95 {np.percentile(times_ms, 95):.2f} ms "
        f"over {args.calls} calls"
    )

    start = time.perf_counter()
    for i in range(args.naive_beats):
        AnomalyDetector.load(args.bundle).score(beats[i])
    naive = (time.perf_counter() - start) / args.naive_beats
    batched = best / len(beats)
    print(f"naive (load from disk + score one beat, per beat): {naive * 1000:.1f} ms/beat = {1 / naive:,.1f} beats/s")
    print(f"speed-up of batched loaded-once scoring over naive: {naive / batched:,.0f}x")
    if args.alternatives:
        compare_forward_paths(detector.net, beats)
    print(f"load average after the run {os.getloadavg()[0]:.2f}")


def _best_ms(fn, x, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def compare_forward_paths(net, beats: np.ndarray) -> None:
    """Forward pass alone: eager (shipped), frozen TorchScript trace, torch.compile (with warm-up)."""
    import warnings

    one = torch.from_numpy(beats[:1].copy())
    batch = torch.from_numpy(np.ascontiguousarray(beats[:2048]))
    paths = {"eager + inference_mode (shipped)": net}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript's deprecation warning
        paths["TorchScript trace, frozen (deprecated)"] = torch.jit.freeze(torch.jit.trace(net.eval(), one))
    try:
        start = time.perf_counter()
        compiled = torch.compile(net, dynamic=True)
        with torch.inference_mode():
            compiled(one)
            compiled(batch)
        print(f"torch.compile warm-up (two shapes): {time.perf_counter() - start:.1f} s")
        paths["torch.compile"] = compiled
    except Exception as exc:  # noqa: BLE001 - report any compiler failure and go on
        print(f"torch.compile unavailable: {type(exc).__name__}: {exc}".splitlines()[0])
    with torch.inference_mode():
        for name, forward in paths.items():
            for _ in range(5):
                forward(one)
            print(
                f"forward, {name}: one beat {_best_ms(forward, one, 200):.3f} ms, "
                f"2048 beats {_best_ms(forward, batch, 5):.1f} ms"
            )


if __name__ == "__main__":
    main()
