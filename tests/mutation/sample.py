"""Random samples of a module's mutants, for modules too large to test every mutant of.

Testing a uniform random sample of n mutants estimates the module's score without bias; the Wilson
interval says how far the estimate may be from the score of all its mutants. The draw is seeded and
written to samples.json beside this file, so a run can be repeated, continued, and checked.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "samples.json"


@dataclass(frozen=True)
class Sample:
    seed: int
    population: int  # every mutant of the module when the sample was drawn
    names: tuple[str, ...]


def draw(module: str, population: list[str], size: int, seed: int) -> Sample:
    """The `size` names whose seeded hash is smallest: a uniform random sample that a code change
    alters only where it adds or removes mutants, so the results of the others still count."""
    names = set(population)

    def key(name: str) -> bytes:
        return hashlib.sha256(f"{module}:{seed}:{name}".encode()).digest()

    return Sample(seed, len(names), tuple(sorted(sorted(names, key=key)[:size])))


def load() -> dict[str, Sample]:
    if not SAMPLES.exists():
        return {}
    raw = json.loads(SAMPLES.read_text(encoding="utf-8"))
    return {m: Sample(s["seed"], s["population"], tuple(s["names"])) for m, s in raw.items()}


def save(samples: dict[str, Sample]) -> None:
    raw = {
        m: {"seed": s.seed, "population": s.population, "names": list(s.names)} for m, s in samples.items()
    }
    SAMPLES.write_text(json.dumps(raw, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def wilson(killed: int, tested: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of killed/tested, in percent."""
    if not tested:
        return (0.0, 100.0)
    p = killed / tested
    centre = p + z * z / (2 * tested)
    spread = z * math.sqrt(p * (1 - p) / tested + z * z / (4 * tested * tested))
    scale = 1 + z * z / tested
    return (100.0 * (centre - spread) / scale, 100.0 * (centre + spread) / scale)
