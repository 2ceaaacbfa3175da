"""A file that cannot be read as requests: refused whole, with every place in it that is wrong."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    place: str  # 'line 4, column birth_date', 'entry 1 (Claim) item[2].productOrService', 'the file'
    what: str

    def __str__(self) -> str:
        return f"{self.place}: {self.what}"


class UnreadableRequest(ValueError):
    """The file is not a request this workstation can read (not JSON, not a FHIR PAS bundle, a CSV with a wrong
    header or bad rows, a document that cannot be opened). Nothing was imported; `problems` says where and what."""

    def __init__(self, file: str, problems: list[Problem]):
        self.file = file
        self.problems = problems
        shown = "; ".join(map(str, problems[:5])) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        super().__init__(f"{file} was not imported: {shown}")

    def lines(self) -> list[str]:
        return [f"{self.file}: {problem}" for problem in self.problems]
