"""The one reading of an on/off environment variable, so every modelrt switch accepts the same words."""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["TRUE_WORDS", "env_flag"]

#: What turns a switch on (case and surrounding spaces ignored); anything else, or unset, is off.
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def env_flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the variable ``name`` (in ``environ``, default this process's) is set to a true word."""
    variables = os.environ if environ is None else environ
    return variables.get(name, "").strip().lower() in TRUE_WORDS
