"""ONNX Runtime backend for modelrt. Importing this package imports no onnxruntime."""

__version__ = "0.2.0"
