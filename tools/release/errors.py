"""The one error a release raises: every problem found, one per line, each saying what to change."""

from __future__ import annotations

from collections.abc import Iterable

from modelrt.errors import ModelRTError


class ReleaseError(ModelRTError):
    """The tree cannot be released as it is; ``problems`` lists why."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("cannot release:\n" + "\n".join(f"  - {problem}" for problem in self.problems))
