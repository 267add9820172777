"""Side-by-side benchmarks of modelrt (run with ``python -m benchmarks --help``).

Every claim is a ratio measured in one interleaved run on the same model, image and thread count, after
checking that every variant returns the same detections, so nobody wins by doing less work.
"""
