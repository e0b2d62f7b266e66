"""Ablation: CNN-only, LSTM-only and hybrid autoencoders, trained and calibrated the same way.

    python benchmarks/ablation.py [--out reports/ablation] [--record]

Each variant goes through the same pipeline as the shipped model (``train_detector``: same seed,
folds, early stopping, out-of-fold calibration on TRAIN) with only ``branches`` changed, and is then
scored on the 4500-beat TEST split. ``--reuse-hybrid`` takes the hybrid row from the shipped bundle
instead of retraining it (it was produced by the same pipeline). ``--record`` writes the table into
the shipped bundle's model.json under "ablation" (weights and scaler are untouched).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg_backend.ml.detector import DEFAULT_BUNDLE_DIR  # noqa: E402
from ecg_backend.ml.model import AutoencoderConfig, AutoencoderEnsemble, count_parameters  # noqa: E402
from ecg_backend.ml.train import TrainConfig, train_detector  # noqa: E402


def _row(branches: str, card: dict, seconds: float | None) -> dict:
    cfg = AutoencoderConfig.from_dict(card["architecture"])
    metrics = card["metrics"]
    return {
        "model": branches,
        "parameters": count_parameters(AutoencoderEnsemble(cfg, card.get("n_members", 1))),
        "test_roc_auc": round(metrics["roc_auc"], 4),
        "test_accuracy": round(metrics["accuracy"], 4),
        "test_pr_auc": round(metrics["pr_auc"], 4),
        "train_oof_accuracy": round(card["training"]["oof_threshold_accuracy"], 4),
        "train_seconds": card["training"]["train_seconds"] if seconds is None else round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/ablation"))
    parser.add_argument("--variants", default="cnn,lstm,hybrid")
    parser.add_argument(
        "--reuse-hybrid", action="store_true", help="take the hybrid row from the shipped bundle instead of retraining"
    )
    parser.add_argument("--record", action="store_true", help="store the table in the shipped model.json")
    args = parser.parse_args()
    shipped = json.loads((DEFAULT_BUNDLE_DIR / "model.json").read_text())
    base_cfg = AutoencoderConfig.from_dict(shipped["architecture"])
    training = {k: v for k, v in shipped["training"].items() if k in TrainConfig.__dataclass_fields__}
    tc = replace(TrainConfig(), **training)
    rows = []
    for branches in args.variants.split(","):
        if branches == "hybrid" and args.reuse_hybrid:
            rows.append(_row(branches, shipped, None))
        else:
            start = time.perf_counter()
            card = train_detector(args.out / branches, None, replace(base_cfg, branches=branches), tc)
            rows.append(_row(branches, card, time.perf_counter() - start))
        print(json.dumps(rows[-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ablation.json").write_text(json.dumps(rows, indent=1) + "\n")
    print("| model | parameters | TEST ROC-AUC | TEST accuracy | TEST PR-AUC | TRAIN OOF accuracy | train s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['parameters']:,} | {r['test_roc_auc']:.4f} | {r['test_accuracy']:.4f} | "
            f"{r['test_pr_auc']:.4f} | {r['train_oof_accuracy']:.4f} | {r['train_seconds']:.0f} |"
        )
    if args.record:
        shipped["ablation"] = rows
        (DEFAULT_BUNDLE_DIR / "model.json").write_text(json.dumps(shipped, indent=1) + "\n")
        print(f"recorded in {DEFAULT_BUNDLE_DIR / 'model.json'}")


if __name__ == "__main__":
    main()
