"""torch's intra-op thread count: one setting for the whole process, so set once and never fought over.

``torch.set_num_threads`` sizes the OpenMP pool every torch CPU operator in the process shares. Setting
it on each load would let the last model loaded change the speed of every model already running, so the
first CPU load sets it to its ``RunOptions.threads`` (default: the CPUs this process may use, affinity
and cgroup quota included, often fewer than torch's own default in a container) and later loads keep it;
a later load asking for another count gets a note in its LoadPlan saying so.

onnxruntime keeps its own pool per session, sized by the same ``threads``, so models of both backends in
one process do not share or resize each other's pools. Called one after the other they take turns;
each pool's threads spin a moment after their work before sleeping (OpenMP's wait policy for torch,
``extras={"onnxruntime": {"allow_spinning": False}}`` turns it off for onnxruntime). Run at the same
moment from different threads, they oversubscribe the cores: give each model fewer ``threads`` then.
The inter-op pool is left alone: torch allows setting it only once, before any parallel work, and these
networks are chains.

The pool does not survive ``fork``. GNU OpenMP (torch's Linux wheels) keeps its worker threads in process
state that ``fork`` copies without the threads, so a forked child's first multi-threaded operator waits
forever for workers that do not exist, whether it runs a model the parent loaded or one it loads itself.
With one thread torch never enters the pool, so the first torch work modelrt does in a forked process sets
torch to one thread (once, with a warning and a LoadPlan note). ``spawn`` workers, and ``forkserver``
workers whose server did not load this backend, keep their ``threads``.
"""

from __future__ import annotations

import logging
import threading
from types import ModuleType

from modelrt_torch.forks import fork_generation

__all__ = ["ProcessThreads", "process_threads"]

logger = logging.getLogger("modelrt.torch")

FORKED_NOTE = (
    "this process is a fork of one that had loaded modelrt's torch backend, and torch's CPU thread pool does not "
    "survive fork (its first multi-threaded operator would wait forever), so torch runs on one thread here; for "
    "more, start worker processes with the 'spawn' or 'forkserver' start method and load models in them"
)


class ProcessThreads:
    """Remembers the thread count the first CPU load set, for the life of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count: int | None = None
        self._generation = fork_generation()
        self._forked = False

    def apply(self, torch: ModuleType, requested: int) -> str | None:
        """Set torch's threads on the first call; later, a note when ``requested`` differs (else None)."""
        forked = self.fork_safe(torch)
        if forked is not None:
            return forked
        with self._lock:
            if self.count is None:
                if torch.get_num_threads() != requested:
                    torch.set_num_threads(requested)
                self.count = requested
                return None
            if requested == self.count:
                return None
            note = (
                FORKED_NOTE
                if self._forked
                else (
                    f"torch's intra-op thread count is one setting for the whole process and was set to {self.count} "
                    f"by the first torch model loaded on the CPU; this load asked for {requested} and runs with "
                    f"{self.count}, so that models already loaded keep their speed"
                )
            )
            logger.warning(note)
            return note

    def fork_safe(self, torch: ModuleType) -> str | None:
        """In a forked process, before its first torch work: one thread, and the note why (else None)."""
        if self._generation == fork_generation():
            return None
        with self._lock:
            if self._generation == fork_generation():
                return None
            torch.set_num_threads(1)
            self.count = 1
            self._generation = fork_generation()
            self._forked = True
        logger.warning(FORKED_NOTE)
        return FORKED_NOTE


#: The one instance for this process.
process_threads = ProcessThreads()
