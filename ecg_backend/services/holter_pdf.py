"""The Holter report as a printable A4 PDF (fpdf2): patient and recording, summary, heart-rate trend, hourly
table, events with strips on ECG paper (25 mm/s, 10 mm/mV), beat families, and the reader's changes with who
made them. `holter_pdf(data)` lays out a `holter_report.ReportData` and reads nothing else; `build_report`
gathers one recording's data (`holter_report.report_data`) and lays it out.
"""

from __future__ import annotations

from ecg_backend.errors import InputError
from ecg_backend.models import Analysis, User
from ecg_backend.services import storage
from ecg_backend.services.analyses import get_analysis
from ecg_backend.services.holter_pdf_layout import HolterPDF, header_block, hourly_block, summary_block, trend_block
from ecg_backend.services.holter_pdf_sections import changes_block, events_block, families_block
from ecg_backend.services.holter_report import ReportData, recording_start, report_data
from ecg_backend.services.review import list_changes


def holter_pdf(data: ReportData) -> bytes:
    """The report's PDF bytes."""
    pdf = HolterPDF(data.title)
    pdf.add_page()
    header_block(pdf, data)
    summary_block(pdf, data)
    trend_block(pdf, data)
    hourly_block(pdf, data)
    events_block(pdf, data)
    families_block(pdf, data)
    changes_block(pdf, data)
    return bytes(pdf.output())


def build_report(owner: User, analysis_id: int) -> bytes:
    """The PDF report of one of ``owner``'s recordings (404 for others' ids and for beat-set analyses)."""
    analysis = get_analysis(owner, analysis_id)
    if analysis.kind != "recording":
        raise InputError(
            f"analysis {analysis_id} is a set of beats, not a recording: it has no Holter report", status=404
        )
    data = report_data(
        analysis,
        read_window=signal_reader(analysis),
        changes=list_changes(owner, analysis_id)["items"],
        start=recording_start(analysis.input, analysis.result),
        generated_by=owner.name or owner.email,
    )
    return holter_pdf(data)


def signal_reader(analysis: Analysis):
    """``(start_s, end_s) -> leads`` over the recording's stored signal (exact samples), or None without one."""
    try:
        signal = storage.open_recording_signal(analysis)
    except InputError:  # analysed before signals were kept: the report has no strips
        return None
    return lambda start_s, end_s: signal.window(start_s, end_s, int((end_s - start_s) * signal.fs) + 2)
