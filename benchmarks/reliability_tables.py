"""Render the figures behind docs/RELIABILITY.md as Markdown tables.

    python -m pytest -q tests/reliability                        # writes test-artifacts/*.json|md
    python benchmarks/load_test.py --json test-artifacts/load.json
    python benchmarks/reliability_tables.py                      # prints the tables

Reads ``test-artifacts/load.json`` (load benchmark), ``test-artifacts/hostile_inputs.json`` (outcome
counts of the hostile-input tests) and ``test-artifacts/access_matrix.md`` (the access matrix).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def load_table(report: dict) -> str:
    lines = [
        "| phase | requests | 2xx | 2xx/s | p50 ms | p95 ms | p99 ms | 4xx | 5xx | connection errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["phases"]:
        lines.append(
            f"| {row['phase']} | {row['requests']} | {row['ok_2xx']} | {row['rps_2xx']} | {row['p50_ms']} | "
            f"{row['p95_ms']} | {row['p99_ms']} | {row['status_4xx']} | {row['status_5xx']} | "
            f"{row['connection_errors']} |"
        )
    events = [f"- {row['phase']}: {event}" for row in report["phases"] for event in row["events"]]
    mem = report["memory"]
    lost = [
        "| phase | 2xx answers | ids in answers | rows stored | 2xx ids missing from DB | rows without a 2xx |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for phase, check in report["lost"].items():
        lost.append(
            f"| {phase} | {check['ok_2xx']} | {check['ids_in_answers']} | {check['rows_stored']} | "
            f"{check['missing_from_db']} | {check['rows_without_2xx']} |"
        )
    targets = [
        f"| {name} | {'met' if ok else '**not met**'} | {detail} |" for name, (ok, detail) in report["targets"].items()
    ]
    return "\n".join(
        [
            f"{report['clients']} clients, {report['duration_per_phase_s']:g} s per phase, gunicorn with "
            f"{report['workers']} sync workers; model: {report['model']}.",
            f"Machine: {report['machine_before']} before, {report['machine_after']} after.",
            "",
            *lines,
            "",
            *events,
            "",
            f"Worker memory (the {mem['same_workers']} worker(s) alive at both readings): RSS {mem['start_rss']:.1f} -> "
            f"{mem['end_rss']:.1f} MiB, PSS {mem['start_pss']:.1f} -> {mem['end_pss']:.1f} MiB.",
            "",
            *lost,
            "",
            "| target | verdict | measured |",
            "|---|---|---|",
            *targets,
        ]
    )


def hostile_table(counts: dict) -> str:
    lines = ["| suite | inputs tried | outcomes |", "|---|---:|---|"]
    total, overall = 0, {}
    for suite, entry in sorted(counts.items()):
        total += entry["tried"]
        for outcome, n in entry["outcomes"].items():
            overall[outcome] = overall.get(outcome, 0) + n
        lines.append(
            f"| {suite} | {entry['tried']} | " + ", ".join(f"{k}: {v}" for k, v in entry["outcomes"].items()) + " |"
        )
    lines.append(f"| **all** | **{total}** | " + ", ".join(f"{k}: {v}" for k, v in sorted(overall.items())) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=ARTIFACTS)
    args = parser.parse_args()
    if (args.dir / "load.json").exists():
        print("## Load\n\n" + load_table(json.loads((args.dir / "load.json").read_text())) + "\n")
    if (args.dir / "hostile_inputs.json").exists():
        print("## Hostile input\n\n" + hostile_table(json.loads((args.dir / "hostile_inputs.json").read_text())) + "\n")
    if (args.dir / "access_matrix.md").exists():
        print("## Access matrix\n\n" + (args.dir / "access_matrix.md").read_text())


if __name__ == "__main__":
    main()
