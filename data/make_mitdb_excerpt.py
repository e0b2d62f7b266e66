"""Rebuild the MIT-BIH test fixture (tests/fixtures/mitdb) from the full records.

    python3 data/make_mitdb_excerpt.py [--dir PATH]

Copies the first five minutes (108,000 samples at 360 Hz) of records 119 and 114 with their reference
annotations: the digital samples are unchanged (format 212, same gains and baselines), the header gets the
excerpt's length and checksums, and the .atr keeps every annotation inside the excerpt. 119 has MLII as its
first lead and frequent uniform PVCs; 114 has MLII second (after V5). About 650 KB in all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "tests" / "fixtures" / "mitdb"
RECORDS = ("119", "114")
SAMPLES = 360 * 300


def write_excerpt(source: Path, name: str, out: Path, samples: int = SAMPLES) -> None:
    """Write the first ``samples`` of record ``name`` (signal and .atr) from ``source`` into ``out``."""
    import wfdb

    record = wfdb.rdrecord(str(source / name), sampto=samples, physical=False)
    record.checksum = record.init_value = None
    record.set_d_features(do_adc=False)  # checksums and initial values of the excerpt
    record.wrsamp(write_dir=str(out))
    ann = wfdb.rdann(str(source / name), "atr", sampto=samples)
    wfdb.wrann(
        name,
        "atr",
        ann.sample,
        ann.symbol,
        subtype=ann.subtype,
        chan=ann.chan,
        num=ann.num,
        aux_note=ann.aux_note,
        fs=record.fs,
        write_dir=str(out),
    )


def main() -> None:
    sys.path.insert(0, str(HERE.parent))
    from ecg_backend.signals.mitdb import default_mitdb_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=default_mitdb_dir(), help="folder of the full mitdb records")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for name in RECORDS:
        write_excerpt(args.dir, name, OUT)
        print(f"{name}: first {SAMPLES} samples -> {OUT}")


if __name__ == "__main__":
    main()
