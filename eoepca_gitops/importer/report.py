"""What an import could not convert as such, with file:line, and what it counted; the report file
shows names and reasons as a terminal would (credentials.shown)."""

from __future__ import annotations

from dataclasses import dataclass, field

from eoepca_gitops.credentials import literal, shown

__all__ = ["Report", "ReportItem"]


@dataclass(frozen=True, order=True)
class ReportItem:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


@dataclass
class Report:
    items: list[ReportItem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def note(self, file: str, line: int, reason: str) -> None:
        # one line each, printed and written, whatever a file or folder name of the tree holds
        self.items.append(ReportItem(literal(file, one_line=True), line, literal(reason, one_line=True)))

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def sorted_items(self) -> list[ReportItem]:
        return sorted(set(self.items))

    def markdown(self, stack: str) -> str:
        items = self.sorted_items()
        lines = [
            f"# Import report: stack {stack}",
            "",
            ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items())),
            "",
            f"{len(items)} item(s) not converted as such (kept as plain manifests where possible):",
            "",
        ]
        lines += [f"- `{shown(item.file, one_line=True)}:{item.line}` {shown(item.reason)}" for item in items]
        return "\n".join(lines) + "\n"
