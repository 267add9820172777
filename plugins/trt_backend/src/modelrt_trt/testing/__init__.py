"""Fake ``tensorrt`` and ``cuda.bindings`` modules for tests on machines without a GPU.

They run the plugin's real code paths (binding seam, builder, sessions, buffers, checks) against modules
that behave like TensorRT and cuda-python do, including their failure modes (``None`` returns with a log
line, CUDA error codes), and compute known outputs from a tiny JSON "plan" (``plan_format``). Third-party
code that drives the TensorRT backend can test with them too.
"""
