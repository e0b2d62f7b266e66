"""The Holter report's page furniture (A4, fpdf2) and its first sections: header, summary, heart-rate trend,
hourly table; plus the ECG paper the event strips are drawn on (the PDF's millimetres are the paper's).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from ecg_backend.services.holter_report import ReportData

MM_PER_S, MM_PER_MV = 25.0, 10.0
LEAD_BAND_MM = 22.0
MAX_EVENT_ROWS = 150
MAX_CHANGE_ROWS = 200
INK, MUTED, ACCENT = (28, 39, 51), (91, 107, 123), (31, 78, 121)
GRID_MINOR, GRID_MAJOR = (246, 205, 212), (228, 150, 162)
EVENT_NAMES = {
    "couplet": "Couplet",
    "triplet": "Triplet",
    "run": "Ventricular run",
    "bigeminy": "Bigeminy",
    "trigeminy": "Trigeminy",
    "pause": "Pause",
    "bradycardia": "Bradycardia",
    "tachycardia": "Tachycardia",
    "ventricular_flutter": "Ventricular flutter",
}
CLASS_NAMES = {"N": "normal", "S": "supraventricular ectopic", "V": "ventricular ectopic", "Q": "artefact"}
TIME_TICKS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
HEADING = FontFace(emphasis="BOLD", color=ACCENT, fill_color=(238, 242, 247))


@dataclass(frozen=True)
class ReportFont:
    """The report's sans-serif font: its family name, its files by style (none for a PDF core font) and the
    characters it can print."""

    family: str
    files: dict
    chars: frozenset | None  # None: the core font's Latin-1

    def has(self, char: str) -> bool:
        return ord(char) < 256 if self.chars is None else ord(char) in self.chars


@cache
def report_font() -> ReportFont:
    """DejaVu Sans, which prints Latin, Greek and Cyrillic names as written, from matplotlib's data (installed
    with wfdb and neurokit2: no font file of ours); the core font Helvetica (Latin-1 only) where it is missing."""
    try:
        import matplotlib
        from fontTools.ttLib import TTFont  # installed with fpdf2

        folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        files = {"": folder / "DejaVuSans.ttf", "B": folder / "DejaVuSans-Bold.ttf"}
        if all(f.is_file() for f in files.values()):
            with TTFont(files[""], lazy=True) as font:
                chars = frozenset(font.getBestCmap())
            return ReportFont("DejaVuSans", {style: str(f) for style, f in files.items()}, chars)
    except (ImportError, OSError, KeyError):
        pass
    return ReportFont("Helvetica", {}, None)


FALLBACKS = {"\u2013": "-", "\u2014": "-", "\u2192": "->", "\u00a0": " "}


def printable(text) -> str:
    """Text the report's font can print: every character it has; others as their base letter (Ł -> L) or a
    plain equivalent, else '?'."""
    font, text = report_font(), "" if text is None else str(text)
    if all(font.has(c) for c in text):
        return text
    out = []
    for c in text:
        if not font.has(c):
            base = unicodedata.normalize("NFKD", c)[0]
            c = base if font.has(base) else FALLBACKS.get(c, "?")
        out.append(c)
    return "".join(out)


def clock(seconds, start=None) -> str:
    """Seconds from the start as h:mm:ss, or the wall-clock time when the recording's start is known."""
    if seconds is None:
        return "-"
    total = round(float(seconds))
    if start is not None:
        total += start.hour * 3600 + start.minute * 60 + start.second
        return f"{total // 3600 % 24:02d}:{total // 60 % 60:02d}:{total % 60:02d}"
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"


def bin_text(seconds: float) -> str:
    return f"{seconds / 60:g}-minute" if seconds >= 60 else f"{seconds:g}-second"


def number(value, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{float(value):.{digits}f}" if digits else f"{round(float(value))}"


class HolterPDF(FPDF):
    """A4 portrait with a running footer: report title, page x of y."""

    def __init__(self, title: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.sans = report_font().family
        for style, path in report_font().files.items():
            self.add_font(self.sans, style, path)
        self.report_title = printable(title)
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(True, margin=14)
        self.set_title(self.report_title)
        self.set_creator("ECG Beat Check")

    def footer(self):
        self.set_y(-10)
        self.set_font(self.sans, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4, f"Holter report - {self.report_title}", align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"page {self.page_no()} of {{nb}}", align="R")

    def heading(self, text: str, size: float = 12.5):
        if self.get_y() > self.h - 40:
            self.add_page()
        self.ln(2)
        self.set_font(self.sans, "B", size)
        self.set_text_color(*ACCENT)
        self.cell(0, 7, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.set_font(self.sans, "", 9)

    def note(self, text: str):
        self.set_font(self.sans, "", 8.5)
        self.set_text_color(*MUTED)
        self.multi_cell(0, 4.2, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.set_font(self.sans, "", 9)

    def grid_table(self, rows: list[list], widths: tuple, align: str = "LEFT"):
        self.set_font(self.sans, "", 8.5)
        self.set_draw_color(217, 224, 232)
        with self.table(
            col_widths=widths,
            headings_style=HEADING,
            line_height=5,
            text_align=align,
            borders_layout="HORIZONTAL_LINES",
            repeat_headings=1,
        ) as table:
            for row in rows:
                cells = table.row()
                for value in row:
                    cells.cell(printable(value))
        self.ln(1)


def header_block(pdf: HolterPDF, data: ReportData):
    pdf.set_font(pdf.sans, "B", 16)
    pdf.set_text_color(*INK)
    pdf.cell(0, 9, "Holter report", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    rec, patient = data.recording, data.patient or {}
    start = rec.get("start")
    facts = [
        ("Patient", patient.get("name") or "no patient recorded"),
        ("Date of birth / sex", f"{patient.get('date_of_birth') or '-'} / {patient.get('sex') or '-'}"),
        ("Patient id", patient.get("external_id") or "-"),
        ("Recording", rec.get("filename") or f"analysis {rec.get('analysis_id')}"),
        (
            "Start",
            start.strftime("%Y-%m-%d %H:%M:%S")
            if start
            else f"not in the record's header (uploaded {rec['uploaded']:%Y-%m-%d %H:%M} UTC)",
        ),
        ("Duration", clock(rec.get("duration_s"))),
        (
            "Leads, sampling rate",
            (f"{', '.join(str(x) for x in rec.get('leads') or [])}; {number(rec.get('sampling_rate'))} Hz"),
        ),
        ("Model", rec.get("model_version") or "-"),
        (
            "Report made",
            f"{data.generated_at:%Y-%m-%d %H:%M} UTC" + (f" by {data.generated_by}" if data.generated_by else ""),
        ),
    ]
    pdf.set_font(pdf.sans, "", 9)
    for name, value in facts:
        pdf.set_text_color(*MUTED)
        pdf.cell(42, 5, printable(name))
        pdf.set_text_color(*INK)
        pdf.cell(0, 5, printable(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def summary_block(pdf: HolterPDF, data: ReportData):
    pdf.heading("Summary")
    s, c = data.summary, data.beat_counts
    total = sum(int(c.get(k) or 0) for k in ("N", "S", "V", "Q"))
    rate = [b for b in data.trend_bpm if b is not None]
    kinds: dict[str, int] = {}
    for event in data.events:
        kinds[event.get("type")] = kinds.get(event.get("type"), 0) + 1
    rows = [
        ["Measure", "Value"],
        ["Beats (all classes)", number(s.get("n_beats", total))],
        *[[f"{k} - {CLASS_NAMES[k]}", number(c.get(k))] for k in ("N", "S", "V", "Q")],
        ["Ectopic burden (S + V)", f"{number(s.get('burden_percent'), 2)} %"],
        [
            f"Heart rate: mean (lowest - highest {bin_text(data.trend_bin_s)} mean)",
            (
                f"{number(s.get('mean_hr_bpm'))} bpm "
                f"({number(min(rate)) if rate else '-'} - {number(max(rate)) if rate else '-'})"
            ),
        ],
        ["Unusable signal", clock(s.get("unusable_s"))],
        ["Events", ", ".join(f"{EVENT_NAMES.get(k, k)} {n}" for k, n in kinds.items()) or "none"],
    ]
    pdf.grid_table(rows, (2, 2))


def hourly_block(pdf: HolterPDF, data: ReportData):
    pdf.heading("Hour by hour")
    start = data.recording.get("start")
    rows = [["Hour from", "Beats", "Min bpm", "Mean bpm", "Max bpm", "S", "V", "Pauses"]]
    for h in data.hourly:
        hour = h.get("hour", h.get("hour_index", 0))
        start_s = h.get("start_s", float(hour) * 3600.0)
        rows.append(
            [
                clock(start_s, start),
                number(h.get("beats", h.get("n_beats"))),
                number(h.get("min_rate_bpm", h.get("min_bpm"))),
                number(h.get("mean_rate_bpm", h.get("mean_bpm"))),
                number(h.get("max_rate_bpm", h.get("max_bpm"))),
                number(h.get("S", h.get("n_S"))),
                number(h.get("V", h.get("n_V"))),
                number(h.get("pauses", h.get("n_pauses"))),
            ]
        )
    if len(rows) == 1:
        pdf.note("No beats: the hourly table is empty.")
        return
    pdf.grid_table(rows, (3, 2, 2, 2, 2, 1.4, 1.4, 1.6), align="RIGHT")


def axis_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values between lo and hi (1, 2 or 5 times a power of ten apart)."""
    raw = (hi - lo) / max(target, 1) or 1.0
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]


def trend_block(pdf: HolterPDF, data: ReportData):
    pdf.heading(f"Heart-rate trend ({bin_text(data.trend_bin_s)} means)")
    values = [v for v in data.trend_bpm if v is not None]
    if not values:
        pdf.note("No heart rate could be measured.")
        return
    x0, y0, w, h = pdf.l_margin + 14, pdf.get_y() + 2, pdf.epw - 16, 42
    lo, hi = max(0.0, min(values) - 10), max(values) + 10
    duration = max(data.recording.get("duration_s") or 1.0, 1.0)

    def to_x(t):
        return x0 + t / duration * w

    def to_y(v):
        return y0 + h - (v - lo) / (hi - lo) * h

    pdf.set_draw_color(217, 224, 232)
    pdf.set_line_width(0.15)
    pdf.set_font(pdf.sans, "", 7)
    pdf.set_text_color(*MUTED)
    for v in axis_ticks(lo, hi, 4):
        pdf.line(x0, to_y(v), x0 + w, to_y(v))
        pdf.text(x0 - 8, to_y(v) + 1, number(v))
    step = next((s for s in TIME_TICKS if duration / s <= 8), TIME_TICKS[-1])
    for k in range(int(duration // step) + 1):
        pdf.line(to_x(k * step), y0, to_x(k * step), y0 + h)
        pdf.text(to_x(k * step) - 5, y0 + h + 4, clock(k * step, data.recording.get("start")))
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.35)
    segment = []
    for t, v in zip(data.trend_start_s, data.trend_bpm):
        if v is None:
            polyline_mm(pdf, segment)
            segment = []
        else:
            segment.append((to_x(t + data.trend_bin_s / 2), to_y(v)))
    polyline_mm(pdf, segment)
    pdf.set_font(pdf.sans, "", 7.5)
    pdf.text(
        x0 + w / 2 - 18, y0 + h + 8.5, "time (clock)" if data.recording.get("start") else "time from start (h:mm:ss)"
    )
    with pdf.rotation(90, x0 - 10, y0 + h / 2):
        pdf.text(x0 - 22, y0 + h / 2, "heart rate (bpm)")
    pdf.set_text_color(*INK)
    pdf.set_y(y0 + h + 11)


def polyline_mm(pdf: FPDF, points: list[tuple[float, float]]):
    if len(points) >= 2:
        pdf.polyline(points)
    elif len(points) == 1:
        pdf.line(points[0][0], points[0][1], points[0][0] + 0.3, points[0][1])


def ecg_paper(pdf: FPDF, x: float, y: float, w: float, h: float):
    """Paper with 1-mm and 5-mm squares."""
    for step, colour, width in ((1.0, GRID_MINOR, 0.05), (5.0, GRID_MAJOR, 0.15)):
        pdf.set_draw_color(*colour)
        pdf.set_line_width(width)
        for k in range(int(w / step) + 1):
            pdf.line(x + k * step, y, x + k * step, y + h)
        for k in range(int(h / step) + 1):
            pdf.line(x, y + k * step, x + w, y + k * step)
