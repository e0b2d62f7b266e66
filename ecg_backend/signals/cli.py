"""``flask ecg evaluate-mitdb``: recording analysis against MIT-BIH reference annotations."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from ecg_backend.ml.cli import ecg_cli


@ecg_cli.command("evaluate-mitdb")
@click.option("--dir", "directory", default=None,
              help="Folder of WFDB records with .atr files (default: ECG_MITDB_DIR or ../shared/data/mitdb).")
@click.option("--records", default="", help="Comma-separated record names (default: every annotated record).")
@click.option("--bundle", "bundle_dir", default=None, help="Model bundle folder (default: the app's loaded model).")
@click.option("--untrained", is_flag=True, help="Random-weight model: measures the recording-context scoring alone.")
@click.option("--halves", is_flag=True, help="Also pool the even and the odd positions of the sorted record list.")
@click.option("--single-lead", is_flag=True, help="Analyse the first lead (MLII) alone instead of all leads.")
@click.option("--thresholds", is_flag=True,
              help="Also print the VEB figures of label-chosen thresholds (one global, one per record): bounds.")
def evaluate_mitdb_command(directory: str | None, records: str, bundle_dir: str | None, untrained: bool,
                           halves: bool = False, single_lead: bool = False, thresholds: bool = False) -> None:
    """Per-record R-peak Se/PPV (150 ms), AUC of V vs normal beats and VEB Se/PPV at the shipped operating point."""
    from ecg_backend.ml.detector import ModelBundleError
    from ecg_backend.signals.evaluate import (evaluate_dir, format_halves, format_table, format_thresholds,
                                              load_detector)
    from ecg_backend.signals.mitdb import default_mitdb_dir

    detector = None if (untrained or bundle_dir) else current_app.extensions.get("ecg_detector")
    try:
        detector = detector or load_detector(bundle_dir, untrained)
    except ModelBundleError as exc:
        raise click.ClickException(f"{exc} (train one, pass --bundle, or use --untrained)") from None
    folder = Path(directory) if directory else default_mitdb_dir()
    click.echo(f"model {detector.version}; records in {folder}")
    try:
        rows = evaluate_dir(folder, detector, [r for r in records.split(",") if r] or None, echo=click.echo,
                            single_lead=single_lead)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(format_table(rows))
    if halves:
        click.echo(format_halves(rows))
    if thresholds:
        click.echo(format_thresholds(rows))
