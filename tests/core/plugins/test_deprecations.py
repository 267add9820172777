"""How a hook parameter is deprecated: a plugin still using it keeps working and gets modelrt's own warning."""

from __future__ import annotations

import warnings

import pluggy
import pytest

from modelrt.deprecated import ModelRTDeprecationWarning
from modelrt.hookspecs import PROJECT_NAME, hookimpl

hookspec = pluggy.HookspecMarker(PROJECT_NAME)

OLD_NAME_DEPRECATED = ModelRTDeprecationWarning(
    "describe(old_name) is deprecated: take new_name instead; old_name goes in modelrt-core 2.0"
)


class Specs:
    """A spec in the shape the policy prescribes: the old parameter stays, and warns on implementations."""

    @hookspec(warn_on_impl_args={"old_name": OLD_NAME_DEPRECATED})
    def describe(self, old_name: str, new_name: str) -> str:  # type: ignore[empty-body]
        """Describe something."""


class OldStylePlugin:
    @hookimpl
    def describe(self, old_name: str) -> str:
        return f"old:{old_name}"


class NewStylePlugin:
    @hookimpl
    def describe(self, new_name: str) -> str:
        return f"new:{new_name}"


def manager() -> pluggy.PluginManager:
    plugins = pluggy.PluginManager(PROJECT_NAME)
    plugins.add_hookspecs(Specs)
    return plugins


def test_a_plugin_taking_a_deprecated_parameter_warns_with_modelrts_class_and_still_works() -> None:
    plugins = manager()
    with pytest.warns(ModelRTDeprecationWarning, match="take new_name instead"):
        plugins.register(OldStylePlugin())
    assert plugins.hook.describe(old_name="a", new_name="a") == ["old:a"]


def test_a_plugin_on_the_new_parameter_gets_no_warning() -> None:
    plugins = manager()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plugins.register(NewStylePlugin())
    assert plugins.hook.describe(old_name="a", new_name="b") == ["new:b"]


def test_a_suite_can_turn_modelrts_deprecations_into_errors_and_no_one_elses() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", ModelRTDeprecationWarning)
        warnings.warn("a dependency's own deprecation", DeprecationWarning, stacklevel=1)
        with pytest.raises(ModelRTDeprecationWarning):
            warnings.warn(OLD_NAME_DEPRECATED, stacklevel=1)
