"""The class the spec's factory names: the one place the runtime (here, the onnx package) is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelrt import Availability, HardwareError, PackageError

if TYPE_CHECKING:
    from modelrt import Artifact, Device, Environment, RunOptions
    from modelrt_example_numpy.session import NumpyReferenceSession


class NumpyReferenceBackend:
    """Runs ONNX graphs made of the operators in ``ops.OPERATORS`` with numpy, on the CPU."""

    def availability(self, env: Environment, device: Device) -> Availability:
        if device.kind != "cpu":
            return Availability(False, f"numpy-reference runs on the CPU only, not on {device}", "use device='cpu'")
        try:
            import onnx
        except ImportError:
            return Availability(
                False, "the onnx package, which reads the graph, is not installed", 'pip install "onnx>=1.14"'
            )
        return Availability(True, f"pure-numpy interpreter; graphs read with onnx {onnx.__version__}")

    def load(self, artifact: Artifact, device: Device, options: RunOptions) -> NumpyReferenceSession:
        from modelrt_example_numpy.graph import read_graph
        from modelrt_example_numpy.session import NumpyReferenceSession

        if artifact.format != "onnx":
            raise PackageError(f"{artifact.file} is a {artifact.format!r} artifact; numpy-reference runs 'onnx' only")
        if device.kind != "cpu":
            raise HardwareError(f"numpy-reference runs on the CPU only, not on {device}; use device='cpu'")
        if options.precision not in ("auto", "fp32"):
            raise HardwareError(
                f"numpy-reference computes in the model's own precision and cannot honour precision="
                f"{options.precision!r}; ask for precision='auto'"
            )
        return NumpyReferenceSession(read_graph(artifact.file), device)
