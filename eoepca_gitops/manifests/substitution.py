"""${var} substitution of cluster values into block declarations, as Flux's postBuild does it.

Only known variable names are replaced, so values that carry their own ${...} for other tools
(shell snippets, Helm tpl) pass through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["substitute"]

_VAR = re.compile(r"\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}")


def substitute(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    return value
