"""Letters rendered with ReportLab (issue 7): templates and plan profile (templates), fonts, the PDF (render),
putting a letter together from its facts (compose) and the synthetic sample cases (samples)."""
