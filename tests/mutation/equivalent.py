"""Surviving mutants that cannot change what the program does, by mutmut's name, with the reason.

A name is only valid for the code it was generated from: when a function changes, its mutants are
renumbered and this list is checked again against `make mutation`'s list of survivors.
"""

from __future__ import annotations

EQUIVALENT: dict[str, str] = {}
