""".pt2 archives altered the way an attacker would: entries rewritten, added or repeated, configs edited.

Each starts from a real ``torch.export.save`` archive of a tiny network and changes only what the attack
needs, so torch would otherwise load it as usual. Entry names are relative to the archive's top folder.
"""

from __future__ import annotations

import io
import json
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch._export.serde.schema import SCHEMA_VERSION
from torch._export.serde.serialize import serialize

from .conftest import AffineAndSum, Planted

WEIGHTS_CONFIG = "data/weights/model_weights_config.json"
CONSTANTS_CONFIG = "data/constants/model_constants_config.json"
PROGRAM = "models/model.json"
EXAMPLE_INPUTS = "data/sample_inputs/model.pt"


class Scaled(nn.Module):
    """``{"y": x * scale}`` with ``scale`` = [1, 2, 3], a weight the archive stores as raw bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"y": x * self.scale}


def exported(module: nn.Module) -> bytes:
    program = torch.export.export(
        module, (torch.zeros(2, 3),), dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1)}}
    )
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


def entries(archive: bytes) -> tuple[str, dict[str, bytes]]:
    """The archive's top folder and its entries, in order, by name below that folder."""
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        names = opened.namelist()
        root = names[0].split("/", 1)[0]
        return root, {name.split("/", 1)[1]: opened.read(name) for name in names}


def rewritten(
    archive: bytes,
    changes: Mapping[str, bytes],
    *,
    repeated: Mapping[str, bytes] | None = None,
    top_level: Mapping[str, bytes] | None = None,
) -> bytes:
    """``archive`` with ``changes`` replacing or adding entries, ``repeated`` written a second time under the same
    name, and ``top_level`` entries outside the archive's folder."""
    root, content = entries(archive)
    content.update(changes)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as written:
        for name, data in content.items():
            written.writestr(f"{root}/{name}", data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": the point of repeating it
            for name, data in (repeated or {}).items():
                written.writestr(f"{root}/{name}", data)
        for name, data in (top_level or {}).items():
            written.writestr(name, data)
    return out.getvalue()


def edited_json(archive: bytes, name: str, edit: Any) -> bytes:
    """``archive`` with its JSON entry ``name`` passed through ``edit`` (which changes it in place)."""
    document = json.loads(entries(archive)[1][name])
    edit(document)
    return rewritten(archive, {name: json.dumps(document).encode()})


def saved(value: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def with_pickled_weight(payload: object) -> bytes:
    """The ``Scaled`` program with its weight stored as ``torch.save(payload)`` and marked ``use_pickle``."""

    def pickled(config: dict[str, Any]) -> None:
        config["config"]["scale"]["use_pickle"] = True

    archive = edited_json(exported(Scaled()), WEIGHTS_CONFIG, pickled)
    return rewritten(archive, {"data/weights/weight_0": saved(payload)})


def with_object_constant(marker: Path, file: str) -> bytes:
    """The affine program with a constant ``file`` whose content plants ``marker`` when torch reads it."""

    def listed(config: dict[str, Any]) -> None:
        entry = {"path_name": file, "is_param": False, "use_pickle": True, "tensor_meta": None}
        config["config"]["planted"] = entry

    archive = edited_json(exported(AffineAndSum()), CONSTANTS_CONFIG, listed)
    payload = saved(Planted(marker)) if file.startswith("tensor_") else pickle.dumps(Planted(marker))
    return rewritten(archive, {f"data/constants/{file}": payload})


def with_first_shape_expression(archive: bytes, replace: Any) -> bytes:
    """``archive`` with its first ``expr_str`` replaced by ``replace(original)``."""

    def replaced(document: Any) -> None:
        pending = [document]
        while pending:
            value = pending.pop()
            if isinstance(value, dict) and "expr_str" in value:
                value["expr_str"] = replace(value["expr_str"])
                return
            pending.extend(value.values() if isinstance(value, dict) else value if isinstance(value, list) else [])

    return edited_json(archive, PROGRAM, replaced)


def old_layout(marker: Path) -> dict[str, bytes]:
    """The entries of the layout torch 2.7 and older wrote, with constants that plant ``marker`` when unpickled."""
    program = serialize(torch.export.export(AffineAndSum(), (torch.zeros(2, 3),)))
    return {
        "version": ".".join(map(str, SCHEMA_VERSION)).encode(),
        "serialized_exported_program.json": program.exported_program,
        "serialized_state_dict.pt": program.state_dict,
        "serialized_constants.pt": saved(Planted(marker)),
        "serialized_example_inputs.pt": program.example_inputs,
    }


def zip_of(files: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as written:
        for name, data in files.items():
            written.writestr(name, data)
    return out.getvalue()
