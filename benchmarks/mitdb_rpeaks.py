"""Compare R-peak detectors on the MIT-BIH records: pooled sensitivity/PPV (150 ms) and time.

    python benchmarks/mitdb_rpeaks.py [--dir PATH] [--methods neurokit,sleepecg,...]

Each detector gets the raw first lead (MLII) at 360 Hz; timings are wall-clock per whole record.
``ours`` is the R-peak detector alone on the whole record; ``pipeline`` is the beat table of
`analyze_recording` (quality gating, 5-minute chunks, no beats inside ventricular-flutter episodes) with a
random-weight model, i.e. the R peaks a user gets.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg_backend.signals.mitdb import default_mitdb_dir, detection_counts, list_records, read_record  # noqa: E402


def _nk(method):
    def detect(sig, fs):
        import neurokit2 as nk

        clean = nk.ecg_clean(sig, sampling_rate=fs, method="neurokit" if method == "neurokit" else method)
        _, info = nk.ecg_peaks(clean, sampling_rate=fs, method=method)
        return np.asarray(info["ECG_R_Peaks"])

    return detect


def _sleepecg(sig, fs):
    import sleepecg

    return np.asarray(sleepecg.detect_heartbeats(sig, fs))


def _xqrs(sig, fs):
    import wfdb.processing

    return np.asarray(wfdb.processing.xqrs_detect(sig, fs=fs, verbose=False))


def _gqrs(sig, fs):
    import wfdb.processing

    return np.asarray(wfdb.processing.gqrs_detect(sig, fs=fs))


def _ours(sig, fs):
    from ecg_backend.signals.beats import detect_r_peaks

    return detect_r_peaks(sig, fs)


def _pipeline(sig, fs):
    from ecg_backend.ml.detector import AnomalyDetector
    from ecg_backend.signals.recording import analyze_recording

    global _UNTRAINED
    if _UNTRAINED is None:
        _UNTRAINED = AnomalyDetector.untrained()
    return analyze_recording(sig, fs, detector=_UNTRAINED).beats["r_peak"].to_numpy()


_UNTRAINED = None

DETECTORS = {
    "neurokit": _nk("neurokit"),
    "pantompkins1985": _nk("pantompkins1985"),
    "hamilton2002": _nk("hamilton2002"),
    "elgendi2010": _nk("elgendi2010"),
    "engzeemod2012": _nk("engzeemod2012"),
    "rodrigues2021": _nk("rodrigues2021"),
    "sleepecg": _sleepecg,
    "xqrs": _xqrs,
    "gqrs": _gqrs,
    "ours": _ours,
    "pipeline": _pipeline,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=str(default_mitdb_dir()))
    parser.add_argument("--methods", default="neurokit,sleepecg,gqrs,xqrs")
    args = parser.parse_args()
    records = [read_record(args.dir, name) for name in list_records(args.dir)]
    print(f"{len(records)} records")
    for method in args.methods.split(","):
        tp = fn = fp = 0
        elapsed = 0.0
        worst = []
        for rec in records:
            t0 = time.perf_counter()
            try:
                peaks = DETECTORS[method](rec.signal, rec.fs)
            except Exception as exc:  # a comparison should report a failing method, not stop
                print(f"{method} {rec.name}: failed: {exc}")
                peaks = np.array([], dtype=int)
            elapsed += time.perf_counter() - t0
            c = detection_counts(rec.ref_samples, np.sort(peaks), rec.fs)
            tp, fn, fp = tp + c["tp"], fn + c["fn"], fp + c["fp"]
            worst.append((c["fn"] + c["fp"], rec.name, c["fn"], c["fp"]))
        se = 100 * tp / max(tp + fn, 1)
        ppv = 100 * tp / max(tp + fp, 1)
        worst = ", ".join(f"{n}(fn{a}/fp{b})" for _, n, a, b in sorted(worst, reverse=True)[:4])
        print(
            f"{method:16s} Se {se:6.2f}%  PPV {ppv:6.2f}%  FN {fn:5d}  FP {fp:5d}  time {elapsed:6.1f}s  worst: {worst}",
            flush=True,
        )


if __name__ == "__main__":
    main()
