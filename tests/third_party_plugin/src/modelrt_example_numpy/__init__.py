"""Example modelrt backend plugin: a pure-numpy interpreter for a handful of ONNX operators."""

__version__ = "0.1.0"
