"""A checklist: ordered steps, each a text and the shell commands that do it, to run as printed.

A command is run from the project folder with the environment the first step names. Where only
the user knows a value, the command holds a blank, `<NAME>` (angle brackets included, replaced
whole); run unreplaced, the shell refuses it (`<` reads a file that is not there) and nothing
changes. A step with options is done by one of them. Secrets are never on a command line: a blank
names a file, which the command reads (`pulumi config set --secret KEY < FILE`,
`kubectl create secret ... --from-file`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Blank",
    "Checklist",
    "Option",
    "Step",
    "as_json",
    "blank_name",
    "command",
    "possessive",
    "render_text",
]


@dataclass(frozen=True)
class Blank:
    """A value only the user knows: `<NAME>` in a command."""

    name: str
    what: str

    def __str__(self) -> str:
        return f"<{self.name}>"


def blank_name(*words: str) -> str:
    """cluster.eoData.endpoint -> EO_DATA_ENDPOINT (a blank's name, from a key's words)."""
    text = "_".join(words)
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper()


def possessive(name: str) -> str:
    """creodias -> creodias', demo -> demo's."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def command(*parts: str | Blank) -> str:
    """A shell command: each str quoted as the shell needs, each Blank as `<NAME>`."""
    return " ".join(str(p) if isinstance(p, Blank) else shlex.quote(p) for p in parts)


@dataclass(frozen=True)
class Option:
    id: str
    text: str
    commands: tuple[str, ...] = ()
    blanks: tuple[Blank, ...] = ()


@dataclass(frozen=True)
class Step:
    id: str
    text: str
    commands: tuple[str, ...] = ()
    blanks: tuple[Blank, ...] = ()
    # `pulumi preview` refuses the stack until it is done (else: advised, or needed after the update).
    required: bool = False
    options: tuple[Option, ...] = ()
    env: tuple[str, ...] = ()  # environment variables the commands need


@dataclass(frozen=True)
class Checklist:
    stack: str
    steps: tuple[Step, ...]
    source: str | None = None

    def blanks(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for step in self.steps:
            for b in (*step.blanks, *(b for o in step.options for b in o.blanks)):
                found.setdefault(b.name, b.what)
        return found


def render_text(checklist: Checklist) -> list[str]:
    """The checklist as lines for a terminal."""
    lines = [
        f"Checklist for {checklist.stack}: run each command from the project folder, in this order, "
        "replacing each <BLANK> (angle brackets included) with its value; [required]: `pulumi preview` "
        "refuses the stack until it is done."
    ]
    for n, step in enumerate(checklist.steps, 1):
        lines.append(f"{n:2}. {'[required] ' if step.required else ''}{step.text}")
        lines += [f"      {c}" for c in step.commands]
        for letter, option in zip("abcdefgh", step.options, strict=False):
            lines.append(f"    {letter}) {option.text}")
            lines += [f"         {c}" for c in option.commands]
    blanks = checklist.blanks()
    if blanks:
        lines.append("Blanks:")
        lines += [f"  <{name}>: {what}" for name, what in blanks.items()]
    return lines


def as_json(checklist: Checklist) -> dict[str, Any]:
    def step(s: Step) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": s.id,
            "text": s.text,
            "required": s.required,
            "commands": list(s.commands),
        }
        if s.options:
            out["options"] = [{"id": o.id, "text": o.text, "commands": list(o.commands)} for o in s.options]
        if s.env:
            out["env"] = list(s.env)
        return out

    return {
        "stack": checklist.stack,
        "from": checklist.source,
        "steps": [step(s) for s in checklist.steps],
        "blanks": checklist.blanks(),
    }
