"""Every hook spec is documented (summary, parameters, return value, ``versionadded``) and has a test
named ``test_hook_<name>`` somewhere under ``tests/``, as datasette checks for its own hooks."""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from modelrt import hookspecs

TESTS_ROOT = Path(__file__).resolve().parents[2]


def hook_specs(module: types.ModuleType) -> dict[str, Callable[..., object]]:
    """The functions of ``module`` marked with ``modelrt``'s hookspec marker."""
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    return {name: value for name, value in vars(module).items() if callable(value) and hasattr(value, marker)}


def documentation_problems(spec: Callable[..., object]) -> list[str]:
    """What the docstring of a hook spec lacks."""
    doc = inspect.getdoc(spec) or ""
    summary = doc.split("\n", 1)[0].strip()
    problems = [] if summary.endswith(".") else ["a one-line summary ending with a full stop"]
    problems += [f":param {name}:" for name in inspect.signature(spec).parameters if f":param {name}:" not in doc]
    problems += [marker for marker in (":return:", ".. versionadded::") if marker not in doc]
    return problems


def hooks_without_tests(names: Iterable[str], test_sources: Iterable[str]) -> list[str]:
    """The hook names no ``def test_hook_<name>(`` appears for in ``test_sources``."""
    text = "\n".join(test_sources)
    return [name for name in names if not re.search(rf"^def test_hook_{name}\(", text, flags=re.MULTILINE)]


SPECS = hook_specs(hookspecs)


def test_the_five_hooks_of_the_contract_are_found():
    expected = {
        "register_backends",
        "register_architectures",
        "register_sources",
        "probe_environment",
        "check_compatibility",
    }
    assert expected <= set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hook_spec_is_documented(name):
    assert documentation_problems(SPECS[name]) == []


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hook_spec_has_a_test_named_after_it(name):
    sources = [path.read_text(encoding="utf-8") for path in TESTS_ROOT.rglob("test_*.py")]
    assert hooks_without_tests([name], sources) == []


def test_an_undocumented_hook_spec_is_caught():
    def register_widgets(host):
        """lists widgets"""

    assert documentation_problems(register_widgets) == [
        "a one-line summary ending with a full stop",
        ":param host:",
        ":return:",
        ".. versionadded::",
    ]


def test_a_hook_spec_without_a_test_is_caught():
    sources = ["def test_hook_register_widgetsX():\n    pass\n", "# def test_hook_register_widgets(): pass\n"]
    assert hooks_without_tests(["register_widgets"], sources) == ["register_widgets"]
