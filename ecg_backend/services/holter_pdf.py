"""The Holter report as a printable A4 PDF (fpdf2): patient and recording, summary, heart-rate trend, hourly
table, events with strips on ECG paper (25 mm/s, 10 mm/mV), beat families, and the reader's changes with who
made them. `holter_pdf(data)` lays out a `holter_report.ReportData` and reads nothing else.
"""
from __future__ import annotations

from ecg_backend.services.holter_pdf_layout import HolterPDF, header_block, hourly_block, summary_block, trend_block
from ecg_backend.services.holter_pdf_sections import changes_block, events_block, families_block
from ecg_backend.services.holter_report import ReportData


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
