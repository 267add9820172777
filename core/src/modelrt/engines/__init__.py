"""TensorRT engine files without TensorRT: modelrt's engine container, foreign engine files, and the
check of an engine's build facts against a host.

Nothing is re-exported here, so ``import modelrt`` stays light; import the modules themselves:
``modelrt.engines.facts`` (what an engine was built for), ``modelrt.engines.container`` (reading any
engine file, writing modelrt's container), ``modelrt.engines.foreign`` (bare plans and Ultralytics
``.engine`` files), ``modelrt.engines.fit`` (whether an engine fits a host).
"""
