"""How many intra-op threads a model gets inside a Ray actor: its CPU share, so actors fit the node.

Ray schedules an actor on ``num_cpus`` CPUs but does not stop a runtime from starting one thread per
core of the node; two actors with one CPU each on a 2-core node would then run four threads on two
cores. A model loaded in an actor therefore uses as many threads as the CPUs Ray assigned to it
(at least one: an actor given a fraction of a CPU, or none beside a GPU, still needs a thread).
"""

from __future__ import annotations

import math

from modelrt.ray import import_ray

__all__ = ["actor_threads"]


def actor_threads() -> int | None:
    """The CPUs Ray assigned to this worker, rounded down and at least 1; ``None`` outside a Ray worker
    (the driver, or no Ray session), where modelrt's default applies."""
    ray = import_ray()
    if not ray.is_initialized():
        return None
    context = ray.get_runtime_context()
    if context.worker.mode != ray.WORKER_MODE:
        return None
    cpus = context.get_assigned_resources().get("CPU", 0.0)
    return max(1, math.floor(cpus))
