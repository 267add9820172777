"""A model's life in a long-running service: forked workers and reloads.

- ONNX Runtime sessions keep working in a child forked after the load (multiprocessing's ``fork``
  start method, as gunicorn's and Celery's prefork workers use): the child's predictions equal the
  parent's. Checked in a fresh process, with a timeout, so a hang fails instead of blocking CI. (The
  torch backend's answer to the same question is in ``tests/torch_backend``.)
- Resident memory over repeated load/close cycles: ``test_memory.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

FORKED_PREDICT = textwrap.dedent(
    """
    import json, multiprocessing, sys
    import numpy as np
    import modelrt

    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    model = modelrt.load(sys.argv[1], device="cpu", threads=2)
    parent = model.predict(image).probabilities.tolist()

    def child(queue):
        queue.put(model.predict(image).probabilities.tolist())

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    worker = context.Process(target=child, args=(queue,))
    worker.start()
    result = queue.get(timeout=60)
    worker.join(60)
    print(json.dumps({"parent": parent, "child": result, "exitcode": worker.exitcode}))
    """
)


def test_a_worker_forked_after_the_load_predicts_what_the_parent_does(classifier_package: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", FORKED_PREDICT, str(classifier_package)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    measured = json.loads(completed.stdout)
    assert measured["exitcode"] == 0
    assert measured["child"] == measured["parent"]
