"""Installed plugins that go wrong: each is listed as broken with its cause, the others keep working,
and strict mode turns the failure into a PluginError. Entry points are fakes; nothing is installed."""

from __future__ import annotations

import logging

import attrs
import pytest

from modelrt._version import __version__ as core_version
from modelrt.errors import InputError, PluginError
from modelrt.plugin_manager import PluginManager
from modelrt.specs import ArchitectureSpec, BackendSpec, SourceSpec


def _raise_runtime_error() -> list[BackendSpec]:
    raise RuntimeError("backend table is corrupt")


def _exit() -> list[BackendSpec]:
    raise SystemExit(1)


@attrs.frozen
class BrokenInstall:
    """A good plugin installed beside a broken one, and what the broken one's error must say."""

    broken: str
    says: tuple[str, ...]


@pytest.fixture(
    params=[
        "fails-to-import",
        "hook-raises",
        "misspelt-hook",
        "needs-newer-core",
        "exits-at-import",
        "hook-exits",
        "answers-with-wrong-type",
    ]
)
def broken_install(request, installed, entry_point, distribution, make_plugin, backend_plugin) -> BrokenInstall:
    good = entry_point("a-good", backend_plugin("good_plugin", "good-backend"), distribution("modelrt-good"))
    bad_distribution = distribution("modelrt-bad")
    case = request.param
    if case == "fails-to-import":
        target = ModuleNotFoundError("No module named 'missing_runtime'")
        says = ("failed to import", "ModuleNotFoundError", "missing_runtime")
    elif case == "hook-raises":
        target = make_plugin("bad_plugin", register_backends=_raise_runtime_error)
        says = ("register_backends raised", "RuntimeError", "backend table is corrupt")
    elif case == "misspelt-hook":
        target = make_plugin("bad_plugin", register_backend=lambda: [])
        says = ("'register_backend'", "did you mean 'register_backends'?")
    elif case == "needs-newer-core":
        target = backend_plugin("bad_plugin", "bad-backend")
        bad_distribution = distribution("modelrt-bad", requires=["modelrt-core>=99"])
        says = ("modelrt-core>=99", core_version, "pip install -U")
    elif case == "hook-exits":
        target = make_plugin("bad_plugin", register_backends=_exit)
        says = ("register_backends raised", "SystemExit")
    elif case == "exits-at-import":
        target = SystemExit(3)
        says = ("failed to import", "SystemExit: 3")
    else:
        target = make_plugin("bad_plugin", register_backends=lambda: [{"name": "dict-backend"}])
        says = ("register_backends answered", "dict", "BackendSpec")
    installed(good, entry_point("b-bad", target, bad_distribution))
    return BrokenInstall("b-bad", says)


def _info(manager: PluginManager, name: str):
    return next(info for info in manager.plugins() if info.name == name)


# ------------------------------------------------------------------------ every kind of breakage


def test_a_broken_plugin_is_listed_as_broken_with_its_cause(broken_install):
    info = _info(PluginManager(), broken_install.broken)
    assert info.status == "broken"
    for fragment in broken_install.says:
        assert fragment in info.error


def test_a_broken_plugin_error_says_how_to_skip_it(broken_install):
    assert "MODELRT_DISABLE_PLUGINS=b-bad" in _info(PluginManager(), broken_install.broken).error


def test_a_broken_plugin_registers_nothing(broken_install):
    manager = PluginManager()
    assert _info(manager, broken_install.broken).registers == {
        "backends": (),
        "architectures": (),
        "sources": (),
    }
    assert "bad-backend" not in manager.backends()


def test_a_broken_plugin_is_unregistered_from_pluggy(broken_install):
    manager = PluginManager()
    manager.plugins()
    # Reaching into the wrapped pluggy manager: unregistering is what keeps pluggy's own callers safe.
    assert not manager._pm.has_plugin(broken_install.broken)


def test_the_other_plugins_keep_working_beside_a_broken_one(broken_install):
    manager = PluginManager()
    assert _info(manager, "a-good").status == "ok"
    assert manager.owner("backend", "good-backend") == "a-good"


def test_a_broken_plugin_leaves_a_warning_in_the_log(broken_install, caplog):
    with caplog.at_level(logging.WARNING, logger="modelrt.plugins"):
        PluginManager().plugins()
    assert any("'b-bad'" in record.getMessage() for record in caplog.records)


def test_strict_mode_turns_a_broken_plugin_into_plugin_error(broken_install):
    with pytest.raises(PluginError) as raised:
        PluginManager(strict=True).backends()
    assert "plugin 'b-bad' (modelrt-bad)" in str(raised.value)
    assert broken_install.says[-1] in str(raised.value)


def test_strict_mode_can_be_switched_on_by_environment_variable(broken_install, monkeypatch):
    monkeypatch.setenv("MODELRT_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="b-bad"):
        PluginManager().architectures()


def test_strict_mode_still_lists_the_plugins_to_show_what_broke(broken_install):
    assert _info(PluginManager(strict=True), broken_install.broken).status == "broken"


# ------------------------------------------------------------------------ particular causes


def test_a_plugin_requiring_another_core_is_not_imported(installed, entry_point, distribution, backend_plugin):
    fake = entry_point(
        "future",
        backend_plugin("future_plugin", "future-backend"),
        distribution("modelrt-future", requires=["modelrt-core>=99"]),
    )
    installed(fake)
    PluginManager().plugins()
    assert fake.loads == []


def test_a_plugin_for_an_older_core_major_is_broken(installed, entry_point, distribution, backend_plugin):
    installed(
        entry_point(
            "old",
            backend_plugin("old_plugin", "old-backend"),
            distribution("modelrt-old", ["modelrt-core<0.1"]),
        )
    )
    info = _info(PluginManager(), "old")
    assert info.status == "broken"
    assert 'pip install -U "modelrt-old"' in info.error


def test_a_plugin_declaring_a_core_range_that_fits_is_ok(installed, entry_point, distribution, backend_plugin):
    installed(entry_point("fits", backend_plugin("fits_plugin", "fits-backend"), distribution("modelrt-fits")))
    assert _info(PluginManager(), "fits").status == "ok"


def test_a_plugin_declaring_no_core_requirement_is_unversioned(installed, entry_point, distribution, backend_plugin):
    installed(entry_point("free", backend_plugin("free_plugin", "free-backend"), distribution("modelrt-free", [])))
    manager = PluginManager()
    assert _info(manager, "free").status == "unversioned"
    assert "free-backend" in manager.backends()


def test_a_core_requirement_without_a_range_counts_as_unversioned(installed, entry_point, distribution, backend_plugin):
    installed(entry_point("bare", backend_plugin("bare_plugin", "b"), distribution("modelrt-bare", ["modelrt-core"])))
    assert _info(PluginManager(), "bare").status == "unversioned"


def test_a_core_requirement_behind_an_extra_is_not_the_plugins_range(
    installed, entry_point, distribution, backend_plugin
):
    requires = ['modelrt-core>=99; extra == "future"', "numpy>=1.24"]
    installed(entry_point("extra", backend_plugin("extra_plugin", "e"), distribution("modelrt-extra", requires)))
    assert _info(PluginManager(), "extra").status == "unversioned"


def test_a_core_requirement_is_matched_by_normalised_name(installed, entry_point, distribution, backend_plugin):
    requires = ["ModelRT_Core>=99"]
    installed(entry_point("caps", backend_plugin("caps_plugin", "c"), distribution("modelrt-caps", requires)))
    assert _info(PluginManager(), "caps").status == "broken"


def test_an_unreadable_requirement_breaks_the_plugin(installed, entry_point, distribution, backend_plugin):
    installed(entry_point("odd", backend_plugin("odd_plugin", "o"), distribution("modelrt-odd", ["modelrt-core>=>1"])))
    info = _info(PluginManager(), "odd")
    assert info.status == "broken"
    assert "unreadable requirement 'modelrt-core>=>1'" in info.error


def test_a_hook_that_raises_drops_everything_its_plugin_registered(installed, entry_point, distribution, make_plugin):
    plugin = make_plugin(
        "half_plugin",
        register_architectures=lambda: [ArchitectureSpec("half-arch", ("classification",), "fake:Arch")],
        register_backends=_raise_runtime_error,
    )
    installed(entry_point("half", plugin, distribution("modelrt-half")))
    assert "half-arch" not in PluginManager().architectures()


def test_a_hook_with_an_argument_its_spec_lacks_is_broken(installed, entry_point, distribution, make_plugin):
    def probe_environment(host, gpu):
        return {}

    installed(
        entry_point(
            "extra-arg",
            make_plugin("extra_arg_plugin", probe_environment=probe_environment),
            distribution("d"),
        )
    )
    info = _info(PluginManager(), "extra-arg")
    assert info.status == "broken"
    assert "could not be registered" in info.error
    assert "gpu" in info.error


def test_a_hook_answering_with_a_string_is_broken(installed, entry_point, distribution, make_plugin):
    installed(entry_point("text", make_plugin("text_plugin", register_backends=lambda: "onnx"), distribution("d")))
    assert "a str, not an iterable of BackendSpec records" in _info(PluginManager(), "text").error


def test_a_hook_wrapper_is_refused(installed, entry_point, distribution):
    import types

    from modelrt.hookspecs import hookimpl

    def register_backends():
        return (yield)

    plugin = types.ModuleType("wrapper_plugin")
    plugin.register_backends = hookimpl(wrapper=True)(register_backends)
    installed(entry_point("wrapper", plugin, distribution("modelrt-wrapper")))
    assert "hook wrapper" in _info(PluginManager(), "wrapper").error


@pytest.mark.parametrize(
    ("hook", "record"),
    [
        ("register_backends", BackendSpec("shared", ("onnx",), ("cpu",), 1, "fake:Backend")),
        ("register_architectures", ArchitectureSpec("shared", ("classification",), "fake:Arch")),
        ("register_sources", SourceSpec("shared", ("shared://",), 1, "fake:Source")),
    ],
)
def test_a_name_claimed_by_two_plugins_goes_to_neither_and_each_names_the_other(
    installed, entry_point, distribution, make_plugin, hook, record
):
    installed(
        entry_point("first", make_plugin("first_plugin", **{hook: lambda: [record]}), distribution("modelrt-first")),
        entry_point("second", make_plugin("second_plugin", **{hook: lambda: [record]}), distribution("modelrt-second")),
    )
    manager = PluginManager()
    kind = hook.removeprefix("register_").removesuffix("s")
    with pytest.raises(InputError, match="no plugin registers"):
        manager.owner(kind, "shared")
    first, second = _info(manager, "first"), _info(manager, "second")
    assert (first.status, second.status) == ("broken", "broken")
    assert f"registers the {kind} 'shared', also registered by plugin 'second' (modelrt-second)" in first.error
    assert f"registers the {kind} 'shared', also registered by plugin 'first' (modelrt-first)" in second.error
    assert "MODELRT_DISABLE_PLUGINS=first or MODELRT_DISABLE_PLUGINS=second" in second.error


def test_a_contest_is_settled_by_disabling_one_claimant(
    installed, entry_point, distribution, backend_plugin, monkeypatch
):
    installed(
        entry_point("aa-impostor", backend_plugin("impostor_plugin", "shared"), distribution("modelrt-impostor")),
        entry_point("real", backend_plugin("real_plugin", "shared"), distribution("modelrt-real")),
    )
    monkeypatch.setenv("MODELRT_DISABLE_PLUGINS", "aa-impostor")
    manager = PluginManager()
    assert manager.owner("backend", "shared") == "real"
    assert _info(manager, "aa-impostor").status == "disabled"


def test_a_contest_keeps_the_uncontested_plugins_working(installed, entry_point, distribution, backend_plugin):
    installed(
        entry_point("one", backend_plugin("one_plugin", "shared"), distribution("modelrt-one")),
        entry_point("two", backend_plugin("two_plugin", "shared"), distribution("modelrt-two")),
        entry_point("three", backend_plugin("three_plugin", "own"), distribution("modelrt-three")),
    )
    manager = PluginManager()
    assert manager.owner("backend", "own") == "three"


def test_a_name_of_the_core_is_reserved_and_only_the_claimant_is_rejected(
    installed, entry_point, distribution, make_plugin
):
    builtin_architecture = next(iter(PluginManager(entry_points=False).architectures()))
    claim = ArchitectureSpec(builtin_architecture, ("object-detection",), "fake:Arch")
    installed(entry_point("aa-early", make_plugin("early_plugin", register_architectures=lambda: [claim])))
    manager = PluginManager()
    assert manager.owner("architecture", builtin_architecture) == "builtin"
    assert "reserved by modelrt's core plugin 'builtin'" in _info(manager, "aa-early").error


@pytest.mark.parametrize("variable", ["MODELRT_PLUGINS", "MODELRT_DISABLE_PLUGINS"])
def test_a_misspelt_plugin_name_in_a_selection_variable_is_a_warning_naming_the_installed_ones(
    installed, entry_point, distribution, backend_plugin, monkeypatch, caplog, variable
):
    installed(entry_point("onnx-like", backend_plugin("onnx_like", "b"), distribution("modelrt-onnx-like")))
    monkeypatch.setenv(variable, "onxx")
    with caplog.at_level(logging.WARNING, logger="modelrt.plugins"):
        PluginManager().plugins()
    (warning,) = [record.getMessage() for record in caplog.records if "onxx" in record.getMessage()]
    assert variable in warning and "installed: builtin, onnx-like" in warning


def test_a_plugin_registering_one_name_twice_is_broken(installed, entry_point, distribution, backend_plugin):
    installed(entry_point("echo", backend_plugin("echo_plugin", "same", "same"), distribution("modelrt-echo")))
    assert "registers the backend 'same' twice" in _info(PluginManager(), "echo").error


def test_a_plugin_cannot_take_the_builtin_name(installed, entry_point, distribution, backend_plugin):
    installed(entry_point("builtin", backend_plugin("impostor", "x"), distribution("modelrt-impostor")))
    manager = PluginManager()
    assert [info.status for info in manager.plugins()] == ["ok", "broken"]
    assert "taken by plugin 'builtin' (modelrt-core)" in manager.plugins()[1].error


# ------------------------------------------------------------------------ duplicates on the path


def test_a_distribution_seen_twice_is_loaded_once(installed, entry_point, distribution, backend_plugin):
    plugin = backend_plugin("twice_plugin", "twice-backend")
    installed(
        entry_point("twice", plugin, distribution("modelrt-twice")),
        entry_point("twice", plugin, distribution("modelrt_twice")),
    )
    manager = PluginManager()
    assert [(info.name, info.status) for info in manager.plugins()] == [("builtin", "ok"), ("twice", "ok")]
    assert "twice-backend" in manager.backends()


def test_one_plugin_name_from_two_distributions_breaks_the_second(installed, entry_point, distribution, backend_plugin):
    installed(
        entry_point("clash", backend_plugin("clash_a", "a"), distribution("modelrt-clash-a")),
        entry_point("clash", backend_plugin("clash_b", "b"), distribution("modelrt-clash-b")),
    )
    second = PluginManager().plugins()[2]
    assert (second.distribution, second.status) == ("modelrt-clash-b", "broken")
    assert "taken by plugin 'clash' (modelrt-clash-a)" in second.error


def test_one_plugin_name_from_two_distributions_keeps_the_first_working(
    installed, entry_point, distribution, backend_plugin
):
    installed(
        entry_point("clash", backend_plugin("clash_a", "a"), distribution("modelrt-clash-a")),
        entry_point("clash", backend_plugin("clash_b", "b"), distribution("modelrt-clash-b")),
    )
    assert list(PluginManager().backends()) == ["a"]


# ------------------------------------------------------------------------ choosing plugins


def test_modelrt_plugins_loads_only_the_named_plugins(
    installed, entry_point, distribution, backend_plugin, monkeypatch
):
    wanted = entry_point("wanted", backend_plugin("wanted_plugin", "w"), distribution("modelrt-wanted"))
    other = entry_point("other", backend_plugin("other_plugin", "o"), distribution("modelrt-other"))
    installed(wanted, other)
    monkeypatch.setenv("MODELRT_PLUGINS", "wanted")
    assert list(PluginManager().backends()) == ["w"]
    assert other.loads == []


def test_a_plugin_left_out_of_modelrt_plugins_is_listed_as_disabled(
    installed, entry_point, distribution, backend_plugin, monkeypatch
):
    installed(entry_point("other", backend_plugin("other_plugin", "o"), distribution("modelrt-other")))
    monkeypatch.setenv("MODELRT_PLUGINS", "wanted, onnx")
    info = _info(PluginManager(), "other")
    assert (info.status, info.error) == ("disabled", "disabled by MODELRT_PLUGINS=wanted, onnx")


def test_modelrt_disable_plugins_skips_a_plugin(installed, entry_point, distribution, backend_plugin, monkeypatch):
    skipped = entry_point("skipped", backend_plugin("skipped_plugin", "s"), distribution("modelrt-skipped"))
    installed(skipped)
    monkeypatch.setenv("MODELRT_DISABLE_PLUGINS", "skipped")
    manager = PluginManager()
    assert _info(manager, "skipped").status == "disabled"
    assert manager.backends() == {}
    assert skipped.loads == []


def test_the_builtin_plugin_cannot_be_disabled(monkeypatch, caplog):
    monkeypatch.setenv("MODELRT_DISABLE_PLUGINS", "builtin")
    with caplog.at_level(logging.WARNING, logger="modelrt.plugins"):
        manager = PluginManager()
        assert manager.owner("source", "local-directory") == "builtin"
    assert "cannot be disabled" in caplog.text


def test_a_disabled_plugin_does_not_make_strict_mode_fail(
    installed, entry_point, distribution, backend_plugin, monkeypatch
):
    installed(entry_point("skipped", backend_plugin("skipped_plugin", "s"), distribution("modelrt-skipped")))
    monkeypatch.setenv("MODELRT_DISABLE_PLUGINS", "skipped")
    assert PluginManager(strict=True).backends() == {}
