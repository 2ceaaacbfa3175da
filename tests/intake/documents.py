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
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=26)
    frames = []
    for page in range(pages):
        image = Image.new("1", (850, 1100), 1)
        draw = ImageDraw.Draw(image)
        draw.text((60, 60), "TREATMENT AUTHORIZATION REQUEST (synthetic fax)", fill=0, font=font)
        for n, text in enumerate(("Member: Nguyen, Bao   CIN 93456789B   DOB 02/11/1958",
                                  "Requesting: Valley Home Health   NPI 1245319599",
                                  "Service: G0151 Home health PT visits x 8", "Diagnosis: I63.9",
                                  f"Page {page + 1} of {pages}")):
            draw.text((60, 140 + 44 * n), text, fill=0, font=font)
        frames.append(image)
    frames[0].save(path, format="TIFF", save_all=True, append_images=frames[1:], compression="group4")
    return _arrived(path, arrived)


def _arrived(path: Path, arrived: datetime | None) -> Path:
    if arrived is not None:
        stamp = arrived.timestamp()
        os.utime(path, (stamp, stamp))
    return path
