"""``modelrt.load`` and the ``Model`` it returns."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from modelrt.context import current_environment, default_manager
from modelrt.devices import Device
from modelrt.errors import (
    HardwareError,
    InputError,
    IntegrityError,
    ModelClosedError,
    ModelRTError,
    NoUsableBackendError,
    PackageError,
    SecurityError,
    StorageError,
)
from modelrt.inflight import CallGuard
from modelrt.load_request import CORE_EXTRAS, pickle_allowed, plan_for, run_options, verification_required
from modelrt.plan import AUTO, BuiltBackends, Candidate, CandidateStatus, LoadPlan, build_backends, probe_role

if TYPE_CHECKING:
    import numpy as np

    from modelrt.backend import Session
    from modelrt.host_environment import Environment
    from modelrt.options import RunOptions
    from modelrt.packages import ModelPackage
    from modelrt.plugin_manager import PluginManager
    from modelrt.results import Prediction
    from modelrt.specs import Availability
    from modelrt.timing import StageTimer
    from modelrt.video.stream import FrameStream

#: ``CORE_EXTRAS``, ``pickle_allowed`` and ``verification_required`` live in ``load_request``; they stay
#: importable from here, where backends have always read them.
__all__ = ["CORE_EXTRAS", "Model", "load", "pickle_allowed", "verification_required"]

logger = logging.getLogger("modelrt.model")

#: Errors that say the files themselves cannot be trusted: never retried on another backend.
_FATAL_LOAD_ERRORS = (IntegrityError, SecurityError)


class Model:
    """A loaded model: ``predict`` images, read ``plan`` to see what runs where, ``close`` when done."""

    def __init__(self, package: ModelPackage, plan: LoadPlan, architecture: Any, sessions: Mapping[str, Session]):
        self.package = package
        self.plan = plan
        self._architecture = architecture
        self._sessions = dict(sessions)
        # Predictions in flight: close() waits for them, so no session is released under a running call.
        self._guard = CallGuard()

    @property
    def name(self) -> str:
        return self.package.manifest.name

    @property
    def labels(self) -> tuple[str, ...]:
        return self.package.manifest.labels

    @property
    def sessions(self) -> Mapping[str, Session]:
        """The loaded session of each role (its ``provider`` and ``device`` say where it really runs)."""
        return dict(self._sessions)

    @property
    def backend(self) -> str:
        """The backend chosen, e.g. ``onnxruntime`` (not what was asked: ``plan.requested_backend`` is);
        roles on different backends give their names joined by ``+``; per role, ``plan.chosen()``."""
        return self.plan.backend or ""

    @property
    def device(self) -> str:
        """The device chosen, e.g. ``cuda:0`` or ``cpu`` (not what was asked: ``plan.requested_device``
        is); roles on different devices give theirs joined by ``+``; per role, ``plan.chosen()``."""
        return self.plan.device or ""

    def predict(
        self, images: Any, *, color: str = "bgr", timer: StageTimer | None = None, **overrides: Any
    ) -> Prediction | list[Prediction]:
        """Predict on one image (returns one result) or a list of images (returns a list).

        Images may be HxWx3 uint8 arrays (BGR as OpenCV gives them, or ``color="rgb"`` for RGB arrays;
        floats in [0, 1] too), PIL images, paths or encoded bytes, which carry their own channel order
        (``modelrt.images`` lists what is accepted). ``overrides`` replace the package's post-processing
        defaults for this call (``confidence``, ``iou``, ``max_detections``, ``classes``, ...). ``timer``
        collects seconds per stage (decode, pre, run, post). An empty list returns an empty list without
        running the network.

        Safe to call from several threads at once. A call that starts after ``close()`` raises
        ``ModelClosedError``; one already running when ``close()`` is called completes normally.
        """
        from modelrt.images import load_images

        with self._guard.call(self._closed_error):
            if timer is not None:
                with timer.stage("decode"):
                    batch, single = load_images(images, color)
            else:
                batch, single = load_images(images, color)
            results = self._architecture.predict(batch, timer, **overrides)
        return results[0] if single else results

    __call__ = predict

    def predict_iter(
        self, images: Iterable[Any], *, batch: int = 1, color: str = "bgr", **overrides: Any
    ) -> Iterator[Prediction]:
        """Predict on a stream of images (any iterable, e.g. a generator over a directory), yielding one
        result per image in input order.

        Memory stays bounded however long the stream: images are taken from ``images`` ``batch`` at a
        time, decoded, predicted together and their results yielded before the next ones are taken, so
        at most ``batch`` decoded images are held, and nothing is taken before the first result is asked
        for. ``color`` and ``overrides`` mean what they mean for ``predict``. An image that cannot be used
        raises ``InputError`` naming its position in the stream and ends it; the results before it have
        been yielded. One image instead of an iterable, or a ``batch`` below 1, is refused at once.
        """
        if isinstance(images, str | bytes | bytearray | memoryview | os.PathLike) or hasattr(images, "ndim"):
            raise InputError(
                f"predict_iter takes an iterable of images, not one {type(images).__name__}; "
                "for one image use predict(image), or wrap it in a list"
            )
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise InputError(f"batch={batch!r} must be a whole number of images, at least 1")
        return self._predict_stream(iter(images), batch, color, overrides)

    def _predict_stream(
        self, images: Iterator[Any], batch: int, color: str, overrides: Mapping[str, Any]
    ) -> Iterator[Prediction]:
        from modelrt.images import load_image

        position = 0
        while chunk := list(itertools.islice(images, batch)):
            decoded = []
            for offset, image in enumerate(chunk):
                try:
                    decoded.append(load_image(image, color))
                except InputError as error:
                    raise InputError(f"image {position + offset} of the stream: {error}") from None
            del chunk
            results = self.predict(decoded, color="rgb", **overrides)  # decoded: RGB whatever came in
            assert isinstance(results, list)  # a list in, a list out
            del decoded
            position += len(results)
            yield from results

    def stream(
        self,
        source: Any,
        *,
        batch: int = 1,
        every: int = 1,
        max_fps: float | None = None,
        policy: str = "auto",
        timeout: float = 10.0,
        reconnect: int = 0,
        stills_fps: float = 30.0,
        **overrides: Any,
    ) -> FrameStream:
        """Predict over the frames of a video file, camera index, stream URL, image directory or glob
        pattern (or a ``modelrt.video.FrameSource``), yielding ``(info, frame, prediction)`` lazily.

        Frames are decoded in a background thread into a small bounded buffer, and up to ``batch`` are
        predicted per network call. ``policy`` says what happens when the model is slower than the source:
        ``"every"`` predicts every frame (the default for files), ``"latest"`` drops the oldest waiting
        frames (the default for cameras and URLs, so results follow the live scene); ``stats.dropped``
        counts them. ``every=K`` predicts one frame in K, ``max_fps`` at most that many per second of
        source time. ``timeout`` seconds without a frame raise ``StreamStalledError``; a live source that
        breaks is re-opened up to ``reconnect`` times, then ends the stream. ``overrides`` mean what they
        mean for ``predict``. Use it in a ``with`` block (or call ``close()``) to stop early.
        """
        from modelrt.video.stream import open_stream

        return open_stream(
            self,
            source,
            batch=batch,
            every=every,
            max_fps=max_fps,
            policy=policy,
            timeout=timeout,
            reconnect=reconnect,
            stills_fps=stills_fps,
            overrides=overrides,
        )

    def grey_image(self) -> np.ndarray:
        """A mid-grey RGB image of the network's input size: a neutral input for warm-ups and benchmarks."""
        import numpy as np

        height, width = self.package.manifest.input.size
        return np.full((height, width, 3), 114, dtype=np.uint8)

    def warmup(self, runs: int) -> None:
        """Run ``runs`` predictions on a grey image so first-call costs are paid at load time."""
        if runs <= 0:
            return
        image = self.grey_image()
        for _ in range(runs):
            self._architecture.predict([image], None)

    def _closed_error(self) -> ModelClosedError:
        return ModelClosedError(f"model {self.name!r} is closed; load it again with modelrt.load(...)")

    def close(self) -> None:
        """Wait for predictions in flight, then release all sessions; later ``predict`` calls raise
        ``ModelClosedError``."""
        if not self._guard.close():
            return
        for session in self._sessions.values():
            session.close()

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        chosen = ", ".join(f"{role}: {c.backend} on {c.device}" for role, c in self.plan.chosen().items())
        state = "closed" if self._guard.closed else chosen
        return f"<Model {self.name!r} ({self.package.manifest.architecture}) {state}>"


def load(
    model: str | os.PathLike[str],
    *,
    device: str | Device = AUTO,
    backend: str = AUTO,
    precision: str = "auto",
    threads: int | None = None,
    offline: bool | None = None,
    allow_pickle: bool = False,
    verify: bool = True,
    warmup: int = 0,
    extras: Mapping[str, Mapping[str, Any]] | None = None,
    manager: PluginManager | None = None,
    environment: Environment | None = None,
    revision: str | None = None,
    subfolder: str | None = None,
) -> Model:
    """Load a model package, a bare ``.onnx`` file or any reference a source plugin understands.

    ``device``/``backend`` ``"auto"`` pick the best usable candidate and fall back to the next when a
    load fails (recorded in ``model.plan``); an explicit choice that cannot be honoured is an error that
    says why and what to install, never a silent fallback. ``warmup`` runs that many predictions on a
    grey image at load time, so a server pays first-call costs before its first request; the default 0
    gives the shortest time to a first prediction (a warm-up run costs as much as a first call).

    Every file a backend reads is checked against the package's sha256 first, and an artifact without
    one is a ``PackageError``; ``verify=False`` skips the checksums for this load only (files must still
    lie inside the package).

    ``revision`` (a branch, tag, commit or ``refs/pr/N``) and ``subfolder`` choose where in a Hub
    repository (``hf://org/repo``) the model is; the reference may carry them too
    (``hf://org/repo@v1/sub/folder``), except a revision containing ``/``. Offline (``offline=True``,
    ``HF_HUB_OFFLINE=1`` or ``MODELRT_OFFLINE=1``) a Hub model must already be cached: otherwise a
    ``NotCachedError`` gives the ``modelrt pull`` command that fetches it.
    """
    manager = manager or default_manager()
    options = run_options(threads, precision, warmup, extras, allow_pickle, verify)
    package, plan, arch_class = plan_for(
        model,
        device=device,
        backend=backend,
        options=options,
        offline=offline,
        allow_pickle=allow_pickle,
        manager=manager,
        revision=revision,
        subfolder=subfolder,
    )
    env = environment or current_environment(manager)
    backends = build_backends(plan, manager)
    sessions: dict[str, Session] = {}
    try:
        for role in package.manifest.roles:
            plan, sessions[role] = _load_role(plan, role, package, env, backends, options)
        architecture = arch_class(package, sessions)
    except BaseException:
        for session in sessions.values():
            session.close()
        raise
    loaded = Model(package, plan, architecture, sessions)
    logger.info("loaded %s\n%s", loaded.name, plan)
    try:
        loaded.warmup(options.warmup)
    except BaseException:
        loaded.close()
        raise
    return loaded


def _load_role(
    plan: LoadPlan,
    role: str,
    package: ModelPackage,
    env: Environment,
    backends: BuiltBackends,
    options: RunOptions,
) -> tuple[LoadPlan, Session]:
    """Try the role's candidates in rank order; the first that loads is chosen, failures are recorded.

    A session may carry ``notes`` (strings, optional): what its backend wants the plan to say about
    this load, such as a deprecated format or a setting it could not apply. They join the plan's notes.
    """
    entries = {entry.path: entry for entry in package.entries(role)}
    errors: list[ModelRTError] = []
    loaded: list[Session] = []

    def attempt(candidate: Candidate, availability: Availability) -> Candidate:
        try:
            artifact = package.open_artifact(entries[candidate.artifact], verify=verification_required(options))
            session = backends.instances[candidate.backend].load(artifact, Device.parse(candidate.device), options)
        except _FATAL_LOAD_ERRORS:
            raise
        except ModelRTError as error:
            errors.append(error)
            return _failed(candidate, role, str(error))
        except Exception as error:  # a backend bug is recorded and the next candidate is tried
            return _failed(candidate, role, f"unexpected {type(error).__name__}: {error}")
        loaded.append(session)
        reason = f"{availability.reason}; runs on {session.provider}" if availability.reason else session.provider
        return candidate.with_status(CandidateStatus.CHOSEN, reason)

    plan = probe_role(plan, role, env, backends, attempt)
    if not loaded:
        raise _load_failure(plan, role, errors)
    return plan.with_notes(_session_notes(role, loaded[0])), loaded[0]


def _failed(candidate: Candidate, role: str, reason: str) -> Candidate:
    logger.warning("%s on %s failed to load %s: %s", candidate.backend, candidate.device, role, reason)
    return candidate.with_status(CandidateStatus.FAILED, reason)


def _session_notes(role: str, session: Session) -> tuple[str, ...]:
    notes = getattr(session, "notes", ())
    return tuple(f"role {role!r}: {note}" for note in notes if isinstance(note, str))


def _load_failure(plan: LoadPlan, role: str, errors: list[ModelRTError]) -> ModelRTError:
    """The most useful error once every candidate of a role failed.

    When every candidate that could be tried failed for the same kind of reason (the file is broken,
    the requested device is absent, the disk a download goes to is full), that error says more than
    "no usable backend"; otherwise the summary of all candidates, which carries the plan.
    """
    for kind in (PackageError, HardwareError, StorageError):
        if errors and all(isinstance(error, kind) for error in errors):
            return errors[0]
    return NoUsableBackendError(_no_usable_message(plan, role), plan)


def _no_usable_message(plan: LoadPlan, role: str) -> str:
    tried = [c for c in plan.candidates if c.role == role]
    reasons = "; ".join(f"{c.backend} on {c.device}: {c.reason}" for c in tried)
    fixes = list(dict.fromkeys(c.fix for c in tried if c.fix))
    fix_text = f" Fix: {' or '.join(fixes)}." if fixes else " Run `modelrt env` to see what to install."
    return f"no usable backend for {plan.model!r} (role {role!r}): {reasons}.{fix_text}"
