"""TensorRT backend for modelrt. Importing this package imports no TensorRT and no CUDA library."""

__version__ = "0.2.0"
