"""An engine's recorded facts are checked against the host before TensorRT sees the plan: a fatal misfit
is refused with how to rebuild, a harmless one is a warning, and an unknown fact is no misfit."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from modelrt.engines.facts import EngineFacts
from modelrt.engines.fit import EngineHost, Misfit, engine_misfits, refuse_misfit, unknown_facts
from modelrt.errors import HardwareError

from .engine_files import full_facts

REBUILD = "modelrt build model/ --backend tensorrt"
#: The host ``full_facts()`` was built on.
HOME = EngineHost(
    flavour="tensorrt",
    tensorrt_version="10.3.0",
    gpu_name="NVIDIA GeForce RTX 3090",
    compute_capability="8.6",
    l4t=None,
    dla_cores=None,
)


def _facts(**changes: Any) -> EngineFacts:
    return attrs.evolve(full_facts(), **changes)


def _host(**changes: Any) -> EngineHost:
    return attrs.evolve(HOME, **changes)


def _verdicts(facts: EngineFacts, host: EngineHost) -> dict[str, bool]:
    return {misfit.fact: misfit.fatal for misfit in engine_misfits(facts, host)}


def test_an_engine_on_the_host_it_was_built_on_fits() -> None:
    assert engine_misfits(full_facts(), HOME) == []
    assert refuse_misfit(full_facts(), HOME, engine="model.engine", rebuild=REBUILD) == []


@pytest.mark.parametrize(
    ("facts", "host", "verdicts"),
    [
        pytest.param(_facts(), _host(flavour="tensorrt_rtx"), {"flavour": True}, id="other TensorRT product"),
        pytest.param(_facts(), _host(tensorrt_version="10.4.0"), {"tensorrt_version": True}, id="newer minor"),
        pytest.param(_facts(), _host(tensorrt_version="10.3.1"), {"tensorrt_version": True}, id="other patch"),
        pytest.param(_facts(), _host(tensorrt_version="10.3.0.26"), {}, id="same major.minor.patch, longer"),
        pytest.param(
            _facts(version_compatible=True), _host(tensorrt_version="10.8.0"), {}, id="version-compatible, newer"
        ),
        pytest.param(
            _facts(version_compatible=True, tensorrt_version="10.8.0"),
            _host(tensorrt_version="10.3.0"),
            {"tensorrt_version": True},
            id="version-compatible, older host",
        ),
        pytest.param(
            _facts(version_compatible=True),
            _host(tensorrt_version="11.0.0"),
            {"tensorrt_version": True},
            id="version-compatible, next major",
        ),
        pytest.param(
            _facts(version_compatible=None),
            _host(tensorrt_version="10.4.0"),
            {"tensorrt_version": True},
            id="vc unknown",
        ),
        pytest.param(
            _facts(),
            _host(compute_capability="8.9", gpu_name="NVIDIA L4"),
            {"compute_capability": True, "gpu_name": False},
            id="other compute capability",
        ),
        pytest.param(
            _facts(hardware_compatibility=None),
            _host(compute_capability="8.9"),
            {"compute_capability": True},
            id="compatibility unknown: exact",
        ),
        pytest.param(
            _facts(hardware_compatibility="same-compute-capability"),
            _host(compute_capability="8.9"),
            {"compute_capability": True},
            id="same-compute-capability",
        ),
        pytest.param(
            _facts(hardware_compatibility="same-compute-capability"),
            _host(gpu_name="NVIDIA RTX A6000"),
            {"gpu_name": False},
            id="same-compute-capability, other GPU",
        ),
        pytest.param(
            _facts(hardware_compatibility="ampere+"),
            _host(compute_capability="9.0", gpu_name="NVIDIA H100"),
            {"gpu_name": False},
            id="ampere+ on Hopper",
        ),
        pytest.param(
            _facts(hardware_compatibility="ampere+"),
            _host(compute_capability="7.5", gpu_name="Tesla T4"),
            {"compute_capability": True, "gpu_name": False},
            id="ampere+ on Turing",
        ),
        pytest.param(_facts(), _host(gpu_name="NVIDIA RTX A6000"), {"gpu_name": False}, id="other GPU, same CC"),
        pytest.param(_facts(l4t="36.4.0"), _host(l4t="36.4.3"), {}, id="L4T other patch"),
        pytest.param(_facts(l4t="36.4.0"), _host(l4t="36.3.0"), {"l4t": True}, id="L4T other minor"),
        pytest.param(_facts(l4t="35.4.1"), _host(l4t="36.4.0"), {"l4t": True}, id="L4T other major"),
        pytest.param(_facts(dla_core=1), _host(dla_cores=2), {}, id="DLA core present"),
        pytest.param(_facts(dla_core=1), _host(dla_cores=1), {"dla_core": True}, id="DLA core absent"),
        pytest.param(_facts(dla_core=0), _host(dla_cores=0), {"dla_core": True}, id="no DLA on host"),
    ],
)
def test_each_fact_misfits_as_the_rules_say(facts: EngineFacts, host: EngineHost, verdicts: dict[str, bool]) -> None:
    assert _verdicts(facts, host) == verdicts


@pytest.mark.parametrize(
    ("facts", "host"),
    [
        pytest.param(EngineFacts(), _host(flavour="tensorrt_rtx", compute_capability="7.5"), id="bare plan"),
        pytest.param(_facts(), EngineHost(), id="host unknown"),
        pytest.param(_facts(l4t="36.4.0"), _host(l4t=None), id="L4T unknown on host"),
        pytest.param(_facts(l4t=None), _host(l4t="36.4.0"), id="L4T not recorded"),
        pytest.param(_facts(dla_core=3), _host(dla_cores=None), id="DLA cores unknown"),
    ],
)
def test_a_fact_unknown_on_either_side_is_no_misfit(facts: EngineFacts, host: EngineHost) -> None:
    assert engine_misfits(facts, host) == []


def test_a_fatal_misfit_is_refused_saying_what_it_was_built_for_what_is_here_and_how_to_rebuild() -> None:
    with pytest.raises(HardwareError) as raised:
        refuse_misfit(_facts(), _host(tensorrt_version="10.4.0"), engine="model.engine", rebuild=REBUILD)
    message = str(raised.value)
    assert "model.engine cannot run on this host" in message
    assert "built for tensorrt_version 10.3.0" in message
    assert "this host has tensorrt_version 10.4.0" in message
    assert message.endswith(REBUILD)


def test_a_harmless_misfit_comes_back_as_a_warning() -> None:
    warnings = refuse_misfit(_facts(), _host(gpu_name="NVIDIA RTX A6000"), engine="model.engine", rebuild=REBUILD)
    assert warnings == [
        "model.engine runs here, but it was tuned for NVIDIA GeForce RTX 3090, not NVIDIA RTX A6000: it may run slower"
    ]


def test_a_misfit_records_both_sides() -> None:
    assert engine_misfits(_facts(dla_core=2), _host(dla_cores=2)) == [
        Misfit(
            "dla_core",
            "2",
            "2 DLA core(s)",
            True,
            "the engine targets DLA core 2, and this host has 2 DLA core(s)",
        )
    ]


def test_unknown_facts_say_on_which_side_they_are_unknown() -> None:
    facts = _facts(tensorrt_version=None, l4t="36.4.0", dla_core=None)
    host = _host(gpu_name=None, l4t=None, dla_cores=None)
    assert unknown_facts(facts, host) == [
        "tensorrt_version: not recorded in the engine",
        "gpu_name: not known for this host",
        "l4t: not known for this host",
        "dla_core: recorded neither in the engine nor known for this host",
    ]


def test_a_fully_known_pair_has_no_unknown_facts() -> None:
    facts = _facts(l4t="36.4.0", dla_core=0)
    assert unknown_facts(facts, _host(l4t="36.4.0", dla_cores=2)) == []
