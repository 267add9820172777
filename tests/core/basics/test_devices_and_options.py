"""Device strings and RunOptions: parsed strictly, with errors that list what is accepted."""

from __future__ import annotations

import pytest

from modelrt.devices import Device
from modelrt.errors import InputError
from modelrt.options import RunOptions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cpu", Device("cpu")),
        ("cuda", Device("cuda", 0)),
        ("cuda:1", Device("cuda", 1)),
        ("MPS", Device("mps")),
        ("dla:1", Device("dla", 1)),
        (" coreml ", Device("coreml")),
    ],
)
def test_device_strings_parse(text: str, expected: Device) -> None:
    assert Device.parse(text) == expected


@pytest.mark.parametrize("text", ["gpu", "cuda:x", "cpu:0", "cuda:-1", "", "tpu:0"])
def test_bad_device_string_is_an_input_error_that_is_also_a_value_error(text: str) -> None:
    with pytest.raises(InputError, match="cpu, cuda" if text not in ("cpu:0",) else "takes no index"):
        Device.parse(text)
    with pytest.raises(ValueError):
        Device.parse(text)


def test_device_prints_as_it_is_written() -> None:
    assert str(Device.parse("cuda:2")) == "cuda:2"
    assert str(Device.parse("cpu")) == "cpu"


def test_threads_default_to_the_cpus_this_process_may_use() -> None:
    import os

    assert RunOptions().resolved_threads() == len(os.sched_getaffinity(0))
    assert RunOptions(threads=3).resolved_threads() == 3


@pytest.mark.parametrize("kwargs", [{"threads": 0}, {"threads": -2}, {"precision": "fp8"}, {"warmup": -1}])
def test_bad_run_options_are_input_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        RunOptions(**kwargs)  # type: ignore[arg-type]


def test_cache_key_changes_with_every_option() -> None:
    base = RunOptions()
    variants = [
        RunOptions(threads=1),
        RunOptions(precision="fp16"),
        RunOptions(warmup=2),
        RunOptions(extras={"onnxruntime": {"graph_optimization": "basic"}}),
    ]
    keys = {base.cache_key(), *(variant.cache_key() for variant in variants)}
    assert len(keys) == 1 + len(variants)


def test_backend_extras_are_namespaced() -> None:
    options = RunOptions(extras={"onnxruntime": {"graph_optimization": "basic"}})
    assert options.for_backend("onnxruntime") == {"graph_optimization": "basic"}
    assert options.for_backend("torch") == {}
