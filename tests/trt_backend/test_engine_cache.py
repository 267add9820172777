"""Engine cache keys: every fact that makes a plan differ makes a different entry, and loads find builds."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from modelrt import cache
from modelrt_trt.engine_cache import ENGINE_FILE, ENGINE_KIND, KEY_FILE, EngineKey, find_cached

KEY = EngineKey(
    onnx_sha256="ab" * 32,
    flavour="tensorrt",
    tensorrt_version="10.3.0",
    gpu_name="NVIDIA RTX A4000",
    compute_capability="8.6",
    precision="fp16",
    profile={"batch": [1, 4, 8], "shapes": {}},
)


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MODELRT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def store(key: EngineKey, data: bytes) -> None:
    import json

    with cache.open_entry(ENGINE_KIND, key.digest()) as entry:
        entry.write_bytes(ENGINE_FILE, data)
        entry.write_text(KEY_FILE, json.dumps(key.to_dict()))


def test_the_digest_is_stable_and_names_a_plain_cache_entry() -> None:
    assert KEY.digest() == attrs.evolve(KEY).digest()
    assert len(KEY.digest()) == 32 and KEY.digest().isalnum()


@pytest.mark.parametrize(
    "change",
    [
        {"onnx_sha256": "cd" * 32},
        {"flavour": "tensorrt_rtx"},
        {"tensorrt_version": "10.3.1"},
        {"gpu_name": "NVIDIA A100-SXM4-80GB"},
        {"compute_capability": "8.0"},
        {"precision": "fp32"},
        {"profile": {"batch": [1, 1, 1], "shapes": {}}},
        {"dla_core": 0},
        {"version_compatible": True},
        {"l4t": "36.4.0"},
    ],
)
def test_every_fact_of_the_key_changes_the_entry(change: dict[str, object]) -> None:
    assert attrs.evolve(KEY, **change).digest() != KEY.digest()


def test_the_timing_cache_is_shared_by_models_and_precisions_but_not_by_gpus() -> None:
    assert attrs.evolve(KEY, onnx_sha256="cd" * 32, precision="fp32").timing_digest() == KEY.timing_digest()
    assert attrs.evolve(KEY, compute_capability="8.0").timing_digest() != KEY.timing_digest()


def test_an_exact_key_finds_its_own_entry_only() -> None:
    store(KEY, b"ftrt-one")
    assert find_cached(KEY, exact_profile=True) == (KEY, b"ftrt-one")
    other_profile = attrs.evolve(KEY, profile={"batch": [1, 1, 1], "shapes": {}})
    assert find_cached(other_profile, exact_profile=True) is None


def test_a_load_naming_no_profile_takes_the_newest_engine_that_differs_only_in_profile() -> None:
    import os
    import time

    older = attrs.evolve(KEY, profile={"batch": [1, 1, 1], "shapes": {}})
    store(older, b"ftrt-older")
    store(KEY, b"ftrt-newer")
    past = time.time() - 3600
    os.utime(cache.cache_root() / ENGINE_KIND / older.digest() / "checksums.json", (past, past))
    default = attrs.evolve(KEY, profile={"batch": None, "shapes": {}})
    assert find_cached(default, exact_profile=False) == (KEY, b"ftrt-newer")


def test_an_engine_for_another_gpu_is_never_found() -> None:
    store(attrs.evolve(KEY, compute_capability="8.0", gpu_name="NVIDIA A100-SXM4-80GB"), b"ftrt-a100")
    assert find_cached(KEY, exact_profile=False) is None


def test_a_damaged_engine_is_an_integrity_error_not_a_plan() -> None:
    from modelrt.errors import IntegrityError

    store(KEY, b"ftrt-good")
    (cache.cache_root() / ENGINE_KIND / KEY.digest() / ENGINE_FILE).write_bytes(b"ftrt-evil")
    with pytest.raises(IntegrityError, match="modelrt cache clear"):
        find_cached(KEY, exact_profile=True)
