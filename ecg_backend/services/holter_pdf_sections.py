"""The Holter report's later sections: the event list with strips of the main events on ECG paper, the beat
families with their counts, and the reader's label changes with who made them and when."""

from __future__ import annotations

import math

import numpy as np
from fpdf.enums import XPos, YPos

from ecg_backend.services.holter_pdf_layout import (
    CLASS_NAMES,
    EVENT_NAMES,
    INK,
    LEAD_BAND_MM,
    MAX_CHANGE_ROWS,
    MAX_EVENT_ROWS,
    MM_PER_MV,
    MM_PER_S,
    MUTED,
    HolterPDF,
    clock,
    ecg_paper,
    number,
    polyline_mm,
    printable,
)
from ecg_backend.services.holter_report import STRIP_SECONDS, EventStrip, ReportData

MAX_STRIP_LEADS = 2


def event_name(event: dict) -> str:
    return EVENT_NAMES.get(event.get("type"), str(event.get("type") or "event").replace("_", " "))


def events_block(pdf: HolterPDF, data: ReportData):
    pdf.heading(f"Events ({len(data.events)})")
    if not data.events:
        pdf.note(
            "No events: no couplets, triplets, runs, bigeminy, trigeminy, pauses, bradycardia, tachycardia "
            "or ventricular flutter were found."
        )
        return
    start = data.recording.get("start")
    rows = [["Start", "End", "Event", "Beats", "Rate (bpm)"]]
    for e in data.events[:MAX_EVENT_ROWS]:
        rows.append(
            [
                clock(e.get("start_s"), start),
                clock(e.get("end_s"), start),
                event_name(e),
                number(e.get("n_beats")),
                number(e.get("rate_bpm")),
            ]
        )
    pdf.grid_table(rows, (2, 2, 3.4, 1.3, 1.5))
    if len(data.events) > MAX_EVENT_ROWS:
        pdf.note(f"The first {MAX_EVENT_ROWS} of {len(data.events)} events are listed; events.csv has them all.")
    if data.strips:
        pdf.heading("Strips of the main events (25 mm/s, 10 mm/mV)", size=11)
        for strip in data.strips:
            draw_strip(pdf, strip, start)


def _lead_points(lead: dict, t0: float, x0: float, centre: float, half: float) -> list[list[tuple[float, float]]]:
    """A lead's samples as paper coordinates, split where samples are missing, clamped to its band."""
    times = np.asarray(lead.get("time") or [], dtype=np.float64)
    values = np.asarray([np.nan if v is None else v for v in lead.get("values") or []], dtype=np.float64)
    if not len(values) or not np.isfinite(values).any():
        return []
    baseline = float(np.nanmedian(values))
    xs = x0 + (times - t0) * MM_PER_S
    ys = np.clip(centre - (values - baseline) * MM_PER_MV, centre - half, centre + half)
    segments, current = [], []
    for x, y in zip(xs.tolist(), ys.tolist()):
        if math.isnan(y):  # a gap in the signal
            segments.append(current)
            current = []
        else:
            current.append((x, y))
    segments.append(current)
    return [s for s in segments if s]


def draw_strip(pdf: HolterPDF, strip: EventStrip, start):
    leads = strip.leads[:MAX_STRIP_LEADS]
    height = max(len(leads), 1) * LEAD_BAND_MM
    width = STRIP_SECONDS * MM_PER_S
    if pdf.get_y() + height + 16 > pdf.h - pdf.b_margin:
        pdf.add_page()
    e = strip.event
    pdf.set_font(pdf.sans, "B", 8.5)
    detail = ", ".join(
        x
        for x in (
            f"{number(e.get('n_beats'))} beats" if e.get("n_beats") else "",
            f"{number(e.get('rate_bpm'))} bpm" if e.get("rate_bpm") else "",
        )
        if x
    )
    pdf.cell(
        0,
        5,
        printable(f"{event_name(e)} at {clock(e.get('start_s'), start)}" + (f" ({detail})" if detail else "")),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    x0, y0 = pdf.l_margin, pdf.get_y() + 1
    ecg_paper(pdf, x0, y0, width, height)
    ev0 = max(float(e.get("start_s") or 0.0), strip.start_s)
    ev1 = min(float(e.get("end_s") or ev0), strip.start_s + STRIP_SECONDS)
    pdf.set_draw_color(176, 58, 46)
    pdf.set_line_width(0.6)
    pdf.line(
        x0 + (ev0 - strip.start_s) * MM_PER_S,
        y0 - 0.6,
        x0 + max(ev1 - strip.start_s, ev0 - strip.start_s + 0.2) * MM_PER_S,
        y0 - 0.6,
    )
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.25)
    pdf.set_font(pdf.sans, "", 7)
    for i, lead in enumerate(leads):
        centre = y0 + (i + 0.6) * LEAD_BAND_MM
        for segment in _lead_points(lead, strip.start_s, x0, centre, LEAD_BAND_MM * 0.55):
            polyline_mm(pdf, segment)
        pdf.set_text_color(*INK)
        pdf.text(x0 + 1, y0 + i * LEAD_BAND_MM + 3, printable(lead.get("name") or f"lead {i + 1}"))
    pdf.set_text_color(*MUTED)
    for k in range(int(STRIP_SECONDS) + 1):
        pdf.text(x0 + k * MM_PER_S - 5, y0 + height + 3.5, clock(strip.start_s + k, start))
    pdf.set_text_color(*INK)
    pdf.set_y(y0 + height + 6)


def families_block(pdf: HolterPDF, data: ReportData):
    pdf.heading(f"Beat families ({len(data.families)})")
    if not data.families:
        pdf.note("No beat families were stored with this recording.")
        return
    rows = [["Review order", "Family", "Class", "Beats", "Class set by"]]
    ordered = sorted(data.families, key=lambda f: (f.get("review_rank") is None, f.get("review_rank") or 0))
    for f in ordered:
        label = f.get("label")
        rows.append(
            [
                number(f.get("review_rank")),
                number(f.get("family")),
                f"{label} - {CLASS_NAMES.get(label, label)}",
                number(f.get("n_beats")),
                "a reader" if f.get("reviewed") else "the analysis",
            ]
        )
    pdf.grid_table(rows, (1.4, 1.2, 3, 1.2, 1.8))


def changes_block(pdf: HolterPDF, data: ReportData):
    pdf.heading(f"The reader's changes ({len(data.changes)})")
    if not data.changes:
        pdf.note("No labels were changed by a reader: every class above is the analysis's own.")
        return
    rows = [["When (UTC)", "Who", "Change", "State"]]
    for c in data.changes[:MAX_CHANGE_ROWS]:
        target = f"family {c['family']}" if c.get("family") is not None else f"beat {c.get('beat', c.get('index'))}"
        previous = f"{c.get('old_label')} -> " if c.get("old_label") else ""
        rows.append(
            [
                str(c.get("created_at") or "-").replace("T", " ").replace("Z", ""),
                c.get("user_name") or "a former user",
                f"{target}: {previous}{c.get('label')}",
                "undone" if c.get("undone_at") else "in effect",
            ]
        )
    pdf.grid_table(rows, (2.2, 2.6, 3, 1.3))
    if len(data.changes) > MAX_CHANGE_ROWS:
        pdf.note(f"The newest {MAX_CHANGE_ROWS} of {len(data.changes)} changes are listed.")
