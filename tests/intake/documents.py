"""Real documents for the inbox tests: a faxed request as a PDF (ReportLab) and as a multi-page TIFF (Pillow)."""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path


def fax_pdf(path: Path, pages: int = 2, arrived: datetime | None = None) -> Path:
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=letter)
    for page in range(1, pages + 1):
        pdf.setFont("Helvetica-Bold", 16)
        pdf.drawString(72, 720, "TREATMENT AUTHORIZATION REQUEST (synthetic)")
        pdf.setFont("Helvetica", 11)
        lines = ["Member: Hernandez, Lucia    CIN 91234567A    DOB 05/17/1970",
                 "Requesting provider: Chidi Okoro, MD    NPI 1234567893",
                 "Service: 97110 Therapeutic exercise x 12, 11/23/2026 - 12/31/2026",
                 "Diagnosis: M54.50 Low back pain", "Place of service: 11",
                 "Clinical: 8 weeks of low back pain; failed home exercise program."]
        for n, text in enumerate(lines):
            pdf.drawString(72, 680 - 20 * n, text)
        pdf.drawString(72, 72, f"Page {page} of {pages}")
        pdf.showPage()
    pdf.save()
    return _arrived(path, arrived)


def fax_tiff(path: Path, pages: int = 3, arrived: datetime | None = None) -> Path:
    from PIL import Image, ImageDraw

    frames = []
    for page in range(pages):
        image = Image.new("1", (850, 1100), 1)
        ImageDraw.Draw(image).text((60, 60), f"Faxed request, page {page + 1}", fill=0)
        frames.append(image)
    frames[0].save(path, format="TIFF", save_all=True, append_images=frames[1:], compression="group4")
    return _arrived(path, arrived)


def _arrived(path: Path, arrived: datetime | None) -> Path:
    if arrived is not None:
        stamp = arrived.timestamp()
        os.utime(path, (stamp, stamp))
    return path
