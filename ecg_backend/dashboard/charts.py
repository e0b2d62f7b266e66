"""Plotly figures for the dashboard.

Pure functions: plain lists / arrays / dicts in, a ``plotly.graph_objects.Figure`` (or its JSON) out.
Nothing here touches Flask, the database or the detector, so every chart is testable on a hand-made input.
Pages embed ``figure_json(fig)`` in a ``<script type="application/json">`` block and a static script draws it,
which keeps the Content-Security-Policy free of inline scripts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

# Colours chosen to stay distinguishable for the common colour-vision deficiencies.
SIGNAL_COLOUR = "#1f4e79"
RECON_COLOUR = "#e07b00"
ERROR_COLOUR = "rgba(204, 51, 17, 0.28)"
NORMAL_COLOUR = "#2a7f62"
ANOMALY_COLOUR = "#c0392b"
THRESHOLD_COLOUR = "#7a7a7a"
AMPLITUDE_UNIT = "a.u."  # ECG5000 beats are z-normalised, so amplitudes carry no physical unit

_LAYOUT = dict(
    template="plotly_white",
    font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13),
    margin=dict(l=56, r=16, t=84, b=44),
    hovermode="x unified",
    legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0),
)


def _layout(**overrides: Any) -> dict:
    return {**_LAYOUT, **overrides}


def _vector(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    return array


def beat_figure(
    signal: Sequence[float],
    reconstruction: Sequence[float],
    sample_error: Sequence[float],
    *,
    score: float | None = None,
    threshold: float | None = None,
    index: int | None = None,
    is_anomaly: bool | None = None,
) -> go.Figure:
    """One beat: signal and reconstruction overlaid, the gap between them shaded, error per sample below.

    Args:
        signal: the beat as uploaded (n samples).
        reconstruction: the autoencoder's reconstruction, same length and scale.
        sample_error: per-sample error, same length; drawn as bars coloured by magnitude.
        score, threshold, index, is_anomaly: used for the title only.

    Returns:
        A two-row figure. Traces, in order: reconstruction (base of the shaded band), signal (filled to the
        reconstruction), reconstruction line, per-sample error bars.
    """
    x_signal = _vector(signal, "signal")
    x_recon = _vector(reconstruction, "reconstruction")
    x_error = _vector(sample_error, "sample_error")
    if not (x_signal.size == x_recon.size == x_error.size):
        raise ValueError(
            f"signal, reconstruction and sample_error differ in length "
            f"({x_signal.size}, {x_recon.size}, {x_error.size})"
        )
    samples = np.arange(x_signal.size)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.06)
    fig.add_trace(
        go.Scatter(
            x=samples, y=x_recon, mode="lines", line=dict(width=0), hoverinfo="skip", showlegend=False, name="band base"
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=samples,
            y=x_signal,
            mode="lines",
            name="Signal",
            fill="tonexty",
            fillcolor=ERROR_COLOUR,
            line=dict(color=SIGNAL_COLOUR, width=2),
            hovertemplate=f"signal %{{y:.3f}} {AMPLITUDE_UNIT}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=samples,
            y=x_recon,
            mode="lines",
            name="Reconstruction",
            line=dict(color=RECON_COLOUR, width=2, dash="dash"),
            hovertemplate=f"reconstruction %{{y:.3f}} {AMPLITUDE_UNIT}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=samples,
            y=x_error,
            name="Error per sample",
            marker=dict(color=x_error, colorscale="OrRd", cmin=0, cmax=float(x_error.max()) or 1.0, line=dict(width=0)),
            hovertemplate="error %{y:.4f}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    fig.update_layout(
        **_layout(),
        title=dict(text=_beat_title(index, score, threshold, is_anomaly), x=0, y=0.97, yanchor="top"),
        bargap=0,
        height=460,
    )
    fig.update_xaxes(title_text="sample (140 per beat)", row=2, col=1)
    fig.update_yaxes(title_text=f"amplitude ({AMPLITUDE_UNIT})", row=1, col=1)
    fig.update_yaxes(title_text="error", row=2, col=1, rangemode="tozero")
    return fig


def _beat_title(index: int | None, score: float | None, threshold: float | None, is_anomaly: bool | None) -> str:
    parts = [f"Beat {index + 1}" if index is not None else "Beat"]
    if score is not None:
        parts.append(f"score {score:.4g}")
    if threshold is not None:
        parts.append(f"threshold {threshold:.4g}")
    if is_anomaly is not None:
        parts.append("anomalous" if is_anomaly else "normal")
    return " · ".join(parts)


def scores_overview_figure(
    scores: Sequence[float], threshold: float, is_anomaly: Sequence[bool] | None = None
) -> go.Figure:
    """Anomaly score of every beat with the threshold as a line; click a point to open that beat.

    Points carry ``customdata`` = zero-based beat index, which the page's script reads on click.

    Returns:
        Traces, in order: scores (markers coloured normal/anomalous), threshold line.
    """
    values = _vector(scores, "scores")
    flags = values > threshold if is_anomaly is None else np.asarray(is_anomaly, dtype=bool).reshape(-1)
    if flags.size != values.size:
        raise ValueError(f"scores has {values.size} values but is_anomaly has {flags.size}")
    beats = np.arange(values.size)
    colours = np.where(flags, ANOMALY_COLOUR, NORMAL_COLOUR)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=beats + 1,
            y=values,
            mode="markers+lines" if values.size <= 400 else "markers",
            name="Score",
            customdata=beats,
            line=dict(color="#c8d3de", width=1),
            marker=dict(
                color=colours.tolist(),
                size=9 if values.size <= 200 else 5,
                symbol=np.where(flags, "diamond", "circle").tolist(),
            ),
            hovertemplate="beat %{x}<br>score %{y:.4g}<extra>click to open</extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0.5, values.size + 0.5],
            y=[threshold, threshold],
            mode="lines",
            name=f"Threshold {threshold:.4g}",
            line=dict(color=THRESHOLD_COLOUR, dash="dot", width=2),
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        **_layout(hovermode="closest"),
        height=330,
        title=dict(text="Anomaly score per beat (click a point to open the beat)", x=0, y=0.95, yanchor="top"),
    )
    fig.update_xaxes(title_text="beat", range=[0.5, values.size + 0.5])
    fig.update_yaxes(title_text="score (reconstruction error)", rangemode="tozero")
    return fig


def score_gauge_figure(score: float, threshold: float) -> go.Figure:
    """A single horizontal bar: this beat's score against the threshold marker."""
    top = max(score, threshold) * 1.25 or 1.0
    colour = ANOMALY_COLOUR if score > threshold else NORMAL_COLOUR
    fig = go.Figure(
        go.Bar(
            x=[score],
            y=["score"],
            orientation="h",
            marker_color=colour,
            name="Score",
            hovertemplate="score %{x:.4g}<extra></extra>",
        )
    )
    fig.add_vline(
        x=threshold,
        line=dict(color=THRESHOLD_COLOUR, dash="dot", width=2),
        annotation_text=f"threshold {threshold:.4g}",
        annotation_position="top",
    )
    fig.update_layout(**_layout(hovermode="closest", margin=dict(l=56, r=16, t=40, b=30)), height=140, showlegend=False)
    fig.update_xaxes(range=[0, top], title_text=None)
    return fig


# Beat sets (cut beats, /analyse) and long recordings are different measurements: never one line.
HISTORY_KINDS = (("beats", "Beat sets", "circle", "solid"), ("recording", "Recordings", "diamond", "dot"))


def patient_history_figure(analyses: Sequence[Mapping[str, Any]]) -> go.Figure:
    """A patient's analyses over time: share of anomalous beats per analysis, each kind on its own axes.

    Args:
        analyses: dicts with ``created_at`` (datetime or ISO string), ``n_beats``, ``n_anomalous``, ``id`` and
            ``kind`` (``"beats"``, the default, or ``"recording"``). Each kind present gets its own trace and,
            when both are present, its own panel and y scale (a Holter's 0.5% and a beat set's 30% are
            different measurements).
    """
    groups = []
    for kind, name, symbol, dash in HISTORY_KINDS:
        rows = sorted(
            (a for a in analyses if a.get("n_beats") and (a.get("kind") or "beats") == kind),
            key=lambda a: str(a["created_at"]),
        )
        if rows:
            groups.append((kind, name, symbol, dash, rows))
    fig = make_subplots(
        rows=max(len(groups), 1),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.14,
        subplot_titles=[g[1] for g in groups] if len(groups) > 1 else None,
    )
    for row, (kind, name, symbol, dash, rows) in enumerate(groups, start=1):
        share = [100.0 * (a.get("n_anomalous") or 0) / a["n_beats"] for a in rows]
        fig.add_trace(
            go.Scatter(
                x=[a["created_at"] for a in rows],
                y=share,
                mode="lines+markers",
                name=name,
                text=[f"{a.get('n_anomalous') or 0} of {a['n_beats']} beats" for a in rows],
                customdata=[a.get("id") for a in rows],
                line=dict(color=SIGNAL_COLOUR if kind == "beats" else RECON_COLOUR, dash=dash),
                marker=dict(size=10, symbol=symbol, color=[ANOMALY_COLOUR if v > 0 else NORMAL_COLOUR for v in share]),
                hovertemplate=f"{name[:-1]}<br>%{{x}}<br>%{{y:.2f}}% anomalous (%{{text}})<extra></extra>",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="anomalous (%)", range=[0, min(105.0, max(1.0, 1.2 * max(share)))], row=row, col=1)
    fig.update_layout(
        **_layout(hovermode="closest"),
        height=300 if len(groups) < 2 else 440,
        showlegend=len(groups) < 2,
        title=dict(text="Anomalous beats per analysis", x=0, y=0.97, yanchor="top"),
    )
    fig.update_xaxes(title_text="analysed at", row=max(len(groups), 1), col=1)
    return fig


def _find_curve(node: Any, depth: int = 0) -> tuple[list, list, Any] | None:
    """First dict under ``node`` holding ``fpr`` and ``tpr`` lists of equal length (and its ``auc``)."""
    if depth > 4:
        return None
    if isinstance(node, Mapping):
        fpr, tpr = node.get("fpr"), node.get("tpr")
        if isinstance(fpr, list) and isinstance(tpr, list) and len(fpr) == len(tpr) and fpr:
            return fpr, tpr, node.get("auc", node.get("roc_auc"))
        preferred = sorted(node, key=lambda k: (0 if "roc" in str(k).lower() else 1, str(k)))
        for key in preferred:
            found = _find_curve(node[key], depth + 1)
            if found:
                return found
    return None


def roc_figure(card: Mapping[str, Any]) -> go.Figure | None:
    """ROC curve found anywhere in the model card (a dict with ``fpr``/``tpr``), or None when absent."""
    found = _find_curve(card)
    if found is None:
        return None
    fpr, tpr, auc = found
    try:
        fpr_values, tpr_values = _vector(fpr, "fpr"), _vector(tpr, "tpr")
    except (TypeError, ValueError):
        return None
    label = f"ROC (AUC {float(auc):.3f})" if isinstance(auc, (int, float)) else "ROC"
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=fpr_values,
            y=tpr_values,
            mode="lines",
            name=label,
            line=dict(color=SIGNAL_COLOUR, width=2),
            hovertemplate="false-positive rate %{x:.3f}<br>true-positive rate %{y:.3f}<extra></extra>",
        )
    )
    return _with_diagonal(
        fig, "chance", "ROC curve on the TEST split", 380, "false-positive rate", "true-positive rate"
    )


def reliability_figure(rows: Any) -> go.Figure | None:
    """Calibration check: per confidence bin, mean predicted P(abnormal) against the observed abnormal rate.

    Args:
        rows: list of dicts with ``mean_confidence`` and ``observed_rate`` (and optionally ``count``);
            anything else gives None so a card without this block renders without the chart.
    """
    if not isinstance(rows, list):
        return None
    points = [
        r
        for r in rows
        if isinstance(r, Mapping)
        and isinstance(r.get("mean_confidence"), (int, float))
        and isinstance(r.get("observed_rate"), (int, float))
        and (r.get("count") or 0) >= 0
    ]
    points = [r for r in points if r.get("count", 1)]
    if not points:
        return None
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[r["mean_confidence"] for r in points],
            y=[r["observed_rate"] for r in points],
            mode="lines+markers",
            name="model",
            text=[f"{r.get('count', '?')} beats" for r in points],
            line=dict(color=SIGNAL_COLOUR),
            hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>%{text}<extra></extra>",
        )
    )
    return _with_diagonal(
        fig,
        "perfect calibration",
        "Calibration on the TEST split",
        340,
        "predicted probability of abnormal",
        "observed share abnormal",
    )


def _with_diagonal(
    fig: go.Figure, diagonal_name: str, title: str, height: int, x_title: str, y_title: str
) -> go.Figure:
    """Finish a unit-square chart (ROC, reliability): the dotted y = x reference line, title and axes."""
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name=diagonal_name,
            line=dict(color=THRESHOLD_COLOUR, dash="dot"),
            hoverinfo="skip",
        )
    )
    fig.update_layout(**_layout(hovermode="closest"), height=height, title=dict(text=title, x=0, y=0.95, yanchor="top"))
    fig.update_xaxes(title_text=x_title, range=[0, 1])
    fig.update_yaxes(title_text=y_title, range=[0, 1.02])
    return fig


def figure_json(fig: go.Figure | None) -> str | None:
    """Figure as JSON for a ``<script type="application/json">`` block (``</`` escaped for HTML)."""
    if fig is None:
        return None
    text = pio.to_json(fig, validate=False)
    # Jinja's |tojson is not used here (the text is already JSON); escaping "<" keeps "</script>" out.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
