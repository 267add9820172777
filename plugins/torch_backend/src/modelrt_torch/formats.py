"""Reading each artifact format into a callable network with described inputs and outputs.

Every format is read from ``Artifact.read_bytes()``, the artifact's content read once and checked against
the manifest's sha256, and handed to torch as a file object: the bytes verified are the bytes loaded, even
if the file is replaced on disk meanwhile. Every format is read onto the CPU first and then moved, so a file
that cannot be read (``PackageError``) is told apart from a device that cannot take it (``HardwareError``).

- ``exported-program``: ``torch.export.load``, after ``archive_audit.py`` checked the archive: torch
  unpickles some of its entries with ``weights_only=False`` (tensor subclasses, custom objects, example
  inputs that are not plain tensors, the layout of torch 2.7 and older), so those need
  ``allow_pickle=True``; it evaluates shape expressions and guards as Python, so those must be the
  arithmetic torch writes; and an entry it does not know (AOTInductor libraries) is refused. Moved to
  the device with ``torch.export.passes.move_to_device_pass`` (``Module.to`` would miss device constants
  baked into the graph). Inputs and outputs are described from the graph: names, symbolic shapes,
  dtypes; outputs returned as a dict keep their keys as names. An exported program was traced in the
  mode it was exported in (torch refuses ``eval()`` on it): exporters call ``eval()`` before tracing.
- ``torchscript``: ``torch.jit.load``, put in ``eval()`` mode. Its ``data.pkl`` and ``constants.pkl`` go
  through TorchScript's own unpickler, which resolves a pickle's globals only to tensor rebuilders and
  TorchScript types compiled from the archive's ``code/``, never to Python callables (``os.system`` in a
  crafted ``data.pkl`` is "Unknown type name"), so no pickle consent is asked; the TorchScript code
  itself runs, as the code of the model. torch 2.13 deprecates TorchScript, so the load carries a note
  for the LoadPlan. Shapes are unknown before running; the return type must be a tensor or a tuple of
  tensors (outputs ``output0``, ``output1``...).
- ``torch-pickle``: a whole pickled ``nn.Module``. Unpickling runs code from the file, so it is read only
  when the caller passed ``allow_pickle=True`` for this load, whatever the environment says (torch's
  ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` does not apply: ``weights_only`` is always passed explicitly). Its
  outputs are described as one tensor unless ``forward`` is annotated to return a tuple; its runs are
  serialised, since its code may keep state between calls.
"""

from __future__ import annotations

import inspect
import io
import typing
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import attrs

from modelrt.backend import TensorInfo
from modelrt.errors import HardwareError, PackageError, SecurityError
from modelrt_torch.archive_audit import audit_exported_program
from modelrt_torch.torch_errors import load_error

if TYPE_CHECKING:
    from modelrt.backend import Artifact

__all__ = ["FORMATS", "LoadedNetwork", "load_network", "refuse_pickle_without_consent"]

FORMATS = ("exported-program", "torchscript", "torch-pickle")


@attrs.frozen
class LoadedNetwork:
    """A network ready to call, its inputs and outputs, and what the LoadPlan should know about it."""

    module: Any
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    notes: tuple[str, ...] = ()
    serialised: bool = False


def refuse_pickle_without_consent(artifact: Artifact, allow_pickle: bool) -> None:
    """``SecurityError`` for a pickled module unless this load was given ``allow_pickle=True``."""
    if artifact.format == "torch-pickle" and not allow_pickle:
        raise SecurityError(
            f"{artifact.file.name} is a pickled torch module: loading it runs whatever code the file holds, so "
            "it could take over this process. It is loaded only with allow_pickle=True passed to this load, for "
            "a file you trust (no environment variable enables it); better, export the model with torch.export."
        )


def load_network(torch: ModuleType, artifact: Artifact, device: Any, allow_pickle: bool) -> LoadedNetwork:
    """Read ``artifact`` onto the torch ``device``; ``PackageError`` for an unreadable file."""
    refuse_pickle_without_consent(artifact, allow_pickle)
    loaders: dict[str, Callable[[ModuleType, Artifact, bytes, Any], LoadedNetwork]] = {
        "exported-program": _exported_program,
        "torchscript": _torchscript,
        "torch-pickle": _pickled_module,
    }
    loader = loaders.get(artifact.format)
    if loader is None:
        raise PackageError(
            f"the torch backend runs {', '.join(FORMATS)} artifacts, not {artifact.format!r} ({artifact.file})"
        )
    data = artifact.read_bytes()
    if artifact.format == "exported-program":
        audit_exported_program(torch, data, artifact.file, allow_pickle)
    return loader(torch, artifact, data, device)


def _read(torch: ModuleType, artifact: Artifact, read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception as error:  # torch reports corrupt archives as RuntimeError, BadZipFile, KeyError...
        raise load_error(error, artifact.file, artifact.format, str(torch.__version__)) from error


def _moved(artifact: Artifact, device: Any, move: Callable[[], Any]) -> Any:
    try:
        return move()
    except Exception as error:  # torch says "not compiled with CUDA", "MPS backend is supported on...", OOM
        raise HardwareError(
            f"torch could not move {artifact.file.name} to {device}: {type(error).__name__}: {error}"
        ) from error


# ------------------------------------------------------------------------------------- exported programs


def _exported_program(torch: ModuleType, artifact: Artifact, data: bytes, device: Any) -> LoadedNetwork:
    program = _read(torch, artifact, lambda: torch.export.load(io.BytesIO(data)))
    if device.type != "cpu":
        from torch.export.passes import move_to_device_pass

        program = _moved(artifact, device, lambda: move_to_device_pass(program, device))
    user_inputs = set(program.graph_signature.user_inputs)
    inputs = []
    outputs: list[Any] = []
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in user_inputs:
            inputs.append(_tensor_info(node.name, node.meta.get("val")))
        elif node.op == "output":
            outputs = list(node.args[0])
    names = output_names(program.call_spec.out_spec, len(outputs))
    described = tuple(
        _tensor_info(name, getattr(node, "meta", {}).get("val")) for name, node in zip(names, outputs, strict=True)
    )
    return LoadedNetwork(program.module(), tuple(inputs), described)


def output_names(spec: Any, count: int) -> list[str]:
    """A dict output keeps its keys as names; anything else is ``output0``, ``output1``..."""
    context = getattr(spec, "context", None)
    if getattr(spec, "type", None) is dict and isinstance(context, list | tuple) and len(context) == count:
        return [str(key) for key in context]
    return [f"output{index}" for index in range(count)]


def _tensor_info(name: str, value: Any) -> TensorInfo:
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    dims = tuple(dim if isinstance(dim, int) else str(dim) for dim in shape) if shape is not None else ()
    return TensorInfo(name, dims, str(dtype).removeprefix("torch.") if dtype is not None else "unknown")


# ------------------------------------------------------------------------------------- TorchScript


def _torchscript(torch: ModuleType, artifact: Artifact, data: bytes, device: Any) -> LoadedNetwork:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        loaded = _read(torch, artifact, lambda: torch.jit.load(io.BytesIO(data), map_location="cpu"))
    module = _moved(artifact, device, lambda: loaded.to(device)).eval()
    schema = module.forward.schema
    inputs = tuple(TensorInfo(argument.name, (), "unknown") for argument in schema.arguments[1:])
    count = _tensor_outputs(schema.returns, artifact)
    outputs = tuple(TensorInfo(f"output{index}", (), "unknown") for index in range(count))
    said = next((str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)), None)
    status = (
        f"deprecated in torch {torch.__version__} ({said})" if said else "a legacy format, deprecated in torch 2.13"
    )
    note = (
        f"TorchScript is {status}; export the model with torch.export to a .pt2 exported program, this "
        "backend's preferred format"
    )
    return LoadedNetwork(module, inputs, outputs, notes=(note,))


def _tensor_outputs(returns: Any, artifact: Artifact) -> int:
    """How many tensors a TorchScript ``forward`` returns (a tensor, or a tuple of tensors)."""
    kind = returns[0].type.kind() if len(returns) == 1 else None
    if kind == "TensorType":
        return 1
    if kind == "TupleType" and all(element.kind() == "TensorType" for element in returns[0].type.elements()):
        return len(returns[0].type.elements())
    returned = ", ".join(str(item.type) for item in returns)
    raise PackageError(
        f"{artifact.file.name}: its forward returns {returned}; the torch backend runs TorchScript that returns "
        "a tensor or a tuple of tensors. Export the model with torch.export (.pt2) instead."
    )


# ------------------------------------------------------------------------------------- pickled modules


def _pickled_module(torch: ModuleType, artifact: Artifact, data: bytes, device: Any) -> LoadedNetwork:
    # weights_only=False is this load's explicit, per-call opt-in; never left to torch's default or env.
    loaded = _read(torch, artifact, lambda: torch.load(io.BytesIO(data), map_location="cpu", weights_only=False))
    if not isinstance(loaded, torch.nn.Module):
        raise PackageError(
            f"{artifact.file.name} holds a {type(loaded).__name__}, not a whole torch module (a state_dict or a "
            "training checkpoint needs the code of its network); export the network with torch.export (.pt2)"
        )
    module = _moved(artifact, device, lambda: loaded.to(device)).eval()
    parameters = inspect.signature(module.forward).parameters.values()
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    inputs = tuple(TensorInfo(p.name, (), "unknown") for p in parameters if p.kind in positional)
    outputs = tuple(TensorInfo(f"output{index}", (), "unknown") for index in range(_annotated_outputs(module)))
    return LoadedNetwork(module, inputs or (TensorInfo("input", (), "unknown"),), outputs, serialised=True)


def _annotated_outputs(module: Any) -> int:
    """Outputs a ``forward`` annotated ``-> tuple[Tensor, Tensor]`` declares; 1 without such an annotation."""
    try:
        returned = typing.get_type_hints(module.forward).get("return")
    except Exception:  # annotations naming what the unpickled module's globals lack
        return 1
    arguments = typing.get_args(returned) if typing.get_origin(returned) is tuple else ()
    return len(arguments) if arguments and Ellipsis not in arguments else 1
