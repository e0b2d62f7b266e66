"""What the result page and the downloads say about one stored analysis.

Reads the Analysis row's ``input`` (the beats as uploaded) and ``result`` (the detector's per-beat
dicts and summary) and turns them into plain-language text, per-beat views and export files.
"""

from __future__ import annotations

import bisect
import csv
import io
from typing import Any

from flask import abort

from ecg_backend.models import Analysis, iso

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula by prefixing a quote; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def input_beats(analysis: Analysis) -> list[list[float]]:
    """The uploaded beats (one list of 140 values each), whatever shape the input was stored in."""
    data = analysis.input
    if isinstance(data, dict):
        data = data.get("beats", data.get("beat"))
    if isinstance(data, list) and data and not isinstance(data[0], list):
        data = [data]
    return data if isinstance(data, list) else []


def result_beats(analysis: Analysis) -> list[dict]:
    """The detector's per-beat dicts (score, threshold, is_anomaly, confidence, reconstruction, sample_error)."""
    data = analysis.result or {}
    beats = data.get("beats") if isinstance(data, dict) else data
    return beats if isinstance(beats, list) else []


def beat_count(analysis: Analysis) -> int:
    return len(result_beats(analysis))


def _threshold(analysis: Analysis, beat: dict | None = None) -> float | None:
    if beat and beat.get("threshold") is not None:
        return float(beat["threshold"])
    return None if analysis.threshold is None else float(analysis.threshold)


def beat_view(analysis: Analysis, number: int) -> dict:
    """Beat ``number`` (1-based) with its signal, reconstruction, error and verdict; 404 when out of range."""
    beats, signals = result_beats(analysis), input_beats(analysis)
    if not 1 <= number <= len(beats):
        abort(404)
    beat = beats[number - 1]
    confidence = beat.get("confidence")
    is_anomaly = bool(beat.get("is_anomaly"))
    return {
        "number": number,
        "signal": signals[number - 1] if number - 1 < len(signals) else beat.get("signal", []),
        "reconstruction": beat.get("reconstruction", []),
        "sample_error": beat.get("sample_error", []),
        "score": float(beat.get("score", 0.0)),
        "threshold": _threshold(analysis, beat),
        "is_anomaly": is_anomaly,
        "confidence": None if confidence is None else float(confidence),
        "verdict": "anomalous" if is_anomaly else "normal",
        "confidence_text": _beat_confidence_text(is_anomaly, confidence),
    }


def _percent(value: float) -> str:
    return f"{100.0 * value:.0f}%"


def _beat_confidence_text(is_anomaly: bool, confidence: float | None) -> str:
    if confidence is None:
        return "confidence not available"
    if is_anomaly:
        return f"{_percent(confidence)} probability the beat is abnormal"
    return f"{_percent(1.0 - confidence)} probability the beat is normal"


def verdict(analysis: Analysis) -> dict:
    """The banner: ``level`` ('ok' | 'bad'), a headline and one or two plain sentences."""
    beats = result_beats(analysis)
    total = len(beats) or analysis.n_beats
    flagged = [i + 1 for i, b in enumerate(beats) if b.get("is_anomaly")]
    anomalous = len(flagged) if beats else analysis.n_anomalous
    confidences = [float(b["confidence"]) for b in beats if b.get("confidence") is not None]
    if not anomalous:
        headline = f"Normal: no anomalous beats among {total}"
        detail = "Every beat is reconstructed within the threshold learned from normal beats."
        if confidences:
            normal = [1.0 - c for c in confidences]
            detail += (
                f" The model is on average {_percent(sum(normal) / len(normal))} confident the beats are "
                f"normal (lowest {_percent(min(normal))})."
            )
        return {"level": "ok", "headline": headline, "detail": detail, "flagged": []}
    headline = f"{anomalous} anomalous beat{'s' if anomalous != 1 else ''} of {total}"
    shown = ", ".join(str(n) for n in flagged[:12]) + (" …" if len(flagged) > 12 else "")
    detail = f"Beat{'s' if anomalous != 1 else ''} {shown} differ{'' if anomalous != 1 else 's'} from normal beats."
    flagged_conf = [float(beats[n - 1]["confidence"]) for n in flagged if beats[n - 1].get("confidence") is not None]
    note = ""
    if flagged_conf:
        note = (
            f"Probability that a flagged beat is abnormal: on average "
            f"{_percent(sum(flagged_conf) / len(flagged_conf))} (highest {_percent(max(flagged_conf))})."
        )
        detail += " " + note
    return {"level": "bad", "headline": headline, "detail": detail, "flagged": flagged, "note": note}


def beat_rows(analysis: Analysis) -> list[dict]:
    """One short row per beat for the result page's beat table.

    ``confidence`` is the probability of the beat's own verdict (abnormal for a flagged beat, normal
    otherwise), as a fraction and as text; sorting by it puts the verdicts the model is least sure of first.
    """
    rows = []
    for number, beat in enumerate(result_beats(analysis), start=1):
        flagged = bool(beat.get("is_anomaly"))
        abnormal = beat.get("confidence")
        confidence = None if abnormal is None else (float(abnormal) if flagged else 1.0 - float(abnormal))
        rows.append(
            {
                "number": number,
                "score": float(beat.get("score", 0.0)),
                "flagged": flagged,
                "confidence": confidence,
                "confidence_text": "—" if confidence is None else _percent(confidence),
                "verdict": "anomalous" if flagged else "normal",
            }
        )
    return rows


def neighbours(flagged: list[int], number: int) -> tuple[int | None, int | None]:
    """The flagged beats just before and just after beat ``number`` (None at either end)."""
    position = bisect.bisect_left(flagged, number)
    before = flagged[position - 1] if position > 0 else None
    after_position = position + 1 if position < len(flagged) and flagged[position] == number else position
    return before, flagged[after_position] if after_position < len(flagged) else None


def scores(analysis: Analysis) -> tuple[list[float], list[bool]]:
    """Score and flag of every beat, in order."""
    beats = result_beats(analysis)
    return [float(b.get("score", 0.0)) for b in beats], [bool(b.get("is_anomaly")) for b in beats]


CSV_COLUMNS = ("analysis_id", "patient", "filename", "beat", "score", "threshold", "is_anomaly", "confidence")


def results_csv(analysis: Analysis) -> str:
    """One row per beat; text cells that could run as spreadsheet formulas are neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    patient = analysis.patient.name if analysis.patient else ""
    for number, beat in enumerate(result_beats(analysis), start=1):
        writer.writerow(
            [
                safe_cell(v)
                for v in (
                    analysis.id,
                    patient,
                    analysis.filename or "",
                    number,
                    beat.get("score"),
                    _threshold(analysis, beat),
                    bool(beat.get("is_anomaly")),
                    beat.get("confidence"),
                )
            ]
        )
    return out.getvalue()


def results_json(analysis: Analysis) -> dict:
    """The full analysis: metadata, summary, and per beat the input signal and the detector's output."""
    signals = input_beats(analysis)
    beats = []
    for number, beat in enumerate(result_beats(analysis), start=1):
        beats.append({"beat": number, **beat, "signal": signals[number - 1] if number - 1 < len(signals) else None})
    return {
        "id": analysis.id,
        "patient": analysis.patient.to_dict() if analysis.patient else None,
        "kind": analysis.kind,
        "source": analysis.source,
        "filename": analysis.filename,
        "created_at": iso(analysis.created_at),
        "model_version": analysis.model_version,
        "threshold": analysis.threshold,
        "n_beats": analysis.n_beats,
        "n_anomalous": analysis.n_anomalous,
        "summary": (analysis.result or {}).get("summary") if isinstance(analysis.result, dict) else None,
        "beats": beats,
    }
