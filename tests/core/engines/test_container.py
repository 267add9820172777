"""modelrt's engine container keeps a plan with its build facts, and refuses every kind of damage."""

from __future__ import annotations

import hashlib
import json
import struct

import pytest

from modelrt.engines.container import HEADER_VERSION, MAGIC, read_engine, write_container
from modelrt.engines.facts import EngineFacts
from modelrt.errors import IntegrityError, PackageError

from .engine_files import PLAN, full_facts

#: Offsets of the fixed header's fields (see the format table in ``modelrt.engines.container``).
VERSION_AT, FLAGS_AT, HEADER_LENGTH_AT, PREFIX_SIZE = 8, 10, 12, 88


def _container(plan: bytes = PLAN, facts: EngineFacts | None = None) -> bytearray:
    return bytearray(write_container(plan, facts if facts is not None else full_facts()))


def _with_header(document: object) -> bytes:
    """A container whose header is ``document``, with lengths and checksums that match it."""
    header = json.dumps(document).encode("utf-8")
    digests = hashlib.sha256(PLAN).digest() + hashlib.sha256(header).digest()
    return struct.pack("<8sHHIQ", MAGIC, HEADER_VERSION, 0, len(header), len(PLAN)) + digests + header + PLAN


def test_a_container_gives_back_the_plan_its_facts_and_the_plans_sha256() -> None:
    engine = read_engine(write_container(PLAN, full_facts()), name="model.engine")
    assert engine.kind == "modelrt"
    assert engine.facts == full_facts()
    assert bytes(engine.plan) == PLAN
    assert engine.plan_sha256 == hashlib.sha256(PLAN).hexdigest()
    assert engine.metadata == {}


def test_the_container_starts_with_its_magic_and_ends_with_the_plan() -> None:
    data = write_container(PLAN, full_facts())
    assert data.startswith(MAGIC)
    assert data.endswith(PLAN)


def test_the_header_names_the_writer() -> None:
    data = write_container(PLAN, EngineFacts())
    (header_length,) = struct.unpack_from("<I", data, HEADER_LENGTH_AT)
    header = json.loads(data[PREFIX_SIZE : PREFIX_SIZE + header_length])
    assert header["written_by"].startswith("modelrt-core ")


def test_the_plan_is_a_view_into_the_bytes_read_not_a_copy() -> None:
    data = bytearray(write_container(PLAN, full_facts()))
    engine = read_engine(memoryview(data), name="model.engine")
    data[-1] ^= 0xFF
    assert engine.plan[-1] == data[-1]


def test_unknown_header_keys_and_facts_from_a_newer_writer_are_ignored() -> None:
    document = {"facts": {"flavour": "tensorrt", "future_fact": 1}, "written_by": "modelrt-core 9.0", "extra": []}
    engine = read_engine(_with_header(document), name="model.engine")
    assert engine.facts == EngineFacts(flavour="tensorrt")


def test_a_flipped_plan_byte_is_damage() -> None:
    data = _container()
    data[-5] ^= 0x01
    with pytest.raises(IntegrityError, match=r"damaged.*plan does not match"):
        read_engine(data, name="model.engine")


def test_a_flipped_header_byte_is_damage() -> None:
    data = _container()
    data[PREFIX_SIZE + 3] ^= 0x01
    with pytest.raises(IntegrityError, match=r"damaged.*header does not match"):
        read_engine(data, name="model.engine")


def test_a_truncated_container_is_damage() -> None:
    data = _container()
    with pytest.raises(IntegrityError, match=r"model.engine is a damaged .*truncated"):
        read_engine(data[:-1], name="model.engine")


def test_a_container_cut_inside_its_fixed_header_is_damage() -> None:
    with pytest.raises(IntegrityError, match=r"damaged.*inside the 88-byte fixed header"):
        read_engine(_container()[:40], name="model.engine")


def test_extra_bytes_after_the_plan_are_damage() -> None:
    with pytest.raises(IntegrityError, match=r"damaged.*extra bytes"):
        read_engine(_container() + b"\x00", name="model.engine")


def test_a_wrong_magic_is_not_read_as_a_container() -> None:
    data = _container()
    data[0:8] = b"NOTANENG"
    with pytest.raises(PackageError, match=r"not a TensorRT engine: the first bytes are b'NOTANENG'"):
        read_engine(data, name="model.engine")


def test_a_newer_header_version_asks_to_upgrade_modelrt_core() -> None:
    data = _container()
    struct.pack_into("<H", data, VERSION_AT, HEADER_VERSION + 1)
    with pytest.raises(PackageError, match=r"newer format.*upgrade modelrt-core") as raised:
        read_engine(data, name="model.engine")
    assert not isinstance(raised.value, IntegrityError)


def test_unknown_flags_are_refused_as_a_newer_format() -> None:
    data = _container()
    struct.pack_into("<H", data, FLAGS_AT, 1)
    with pytest.raises(PackageError, match=r"newer format.*flags 0x1"):
        read_engine(data, name="model.engine")


def test_header_version_zero_is_damage() -> None:
    data = _container()
    struct.pack_into("<H", data, VERSION_AT, 0)
    with pytest.raises(IntegrityError, match=r"header version is 0"):
        read_engine(data, name="model.engine")


def test_a_container_whose_plan_is_not_a_tensorrt_plan_is_refused() -> None:
    document: dict[str, object] = {"facts": {}}
    data = bytearray(_with_header(document))
    data[-len(PLAN) : -len(PLAN) + 4] = b"nope"
    header_length = len(json.dumps(document))
    data[24:56] = hashlib.sha256(data[PREFIX_SIZE + header_length :]).digest()
    with pytest.raises(PackageError, match=r"holds no TensorRT plan"):
        read_engine(data, name="model.engine")


def test_a_header_that_is_not_json_names_the_file() -> None:
    header = b"not json"
    prefix = struct.pack("<8sHHIQ", MAGIC, 1, 0, len(header), len(PLAN))
    data = prefix + hashlib.sha256(PLAN).digest() + hashlib.sha256(header).digest() + header + PLAN
    with pytest.raises(PackageError, match=r"model.engine: the engine container's header cannot be read"):
        read_engine(data, name="model.engine")


def test_a_header_without_facts_is_refused() -> None:
    with pytest.raises(PackageError, match='no "facts" object'):
        read_engine(_with_header({"written_by": "x"}), name="model.engine")


@pytest.mark.parametrize(
    "facts",
    [
        {"version_compatible": "no"},
        {"dla_core": "0"},
        {"dla_core": True},
        {"flavour": 3},
        {"profiles": 5},
        {"tensors": [{"name": "images"}]},
    ],
)
def test_facts_of_the_wrong_type_are_refused_naming_the_file(facts: dict[str, object]) -> None:
    with pytest.raises(PackageError, match=r"model.engine: the engine container's header cannot be read"):
        read_engine(_with_header({"facts": facts}), name="model.engine")


def test_writing_a_container_refuses_bytes_that_are_not_a_plan() -> None:
    with pytest.raises(PackageError, match=r"not a serialised TensorRT plan"):
        write_container(b"garbage", EngineFacts())


def test_an_empty_file_is_not_an_engine() -> None:
    with pytest.raises(PackageError, match=r"not a TensorRT engine: the file is empty"):
        read_engine(b"", name="model.engine")
