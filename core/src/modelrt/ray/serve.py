"""A model served over HTTP by Ray Serve, with dynamic batching; ``modelrt serve MODEL`` runs it.

Routes (under the route prefix, ``/`` by default):

- ``POST /`` with an image: the request body itself (``curl --data-binary @photo.jpg``) or a file
  field of a multipart form (``curl -F image=@photo.jpg``). The answer is the JSON record
  ``modelrt predict --json`` writes for that image in its ``results``, byte for byte: ``image`` is the
  upload's file name, or ``-`` for a bare body (as ``modelrt predict MODEL - < photo.jpg`` names it).
- ``GET /health``: ``{"status": "ok"}`` with the model, where it runs, and how many batches of each
  size it has run (``batch_sizes``), which is how to tune ``max_batch_size`` and the wait timeout.

An image that cannot be used (not an image, truncated, too large) is a 400, an over-long body a 413,
and other methods a 405: each with ``{"error": "..."}`` saying why, never a traceback. Images are
decoded in the request, before batching, so one bad upload fails alone; requests that arrive within
``batch_wait_timeout_s`` of each other share one network call of up to ``max_batch_size`` images.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from modelrt.cli_output import result_data, to_json
from modelrt.errors import InputError
from modelrt.ray import import_ray, worker_reference
from modelrt.ray.resources import actor_threads

if TYPE_CHECKING:
    import numpy as np
    from starlette.requests import Request
    from starlette.responses import Response

serve = import_ray("serve")

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "ModelServer", "run_server", "server_app", "start_server"]

logger = logging.getLogger("modelrt.ray.serve")

#: Largest request body accepted: far above any photo, well below what would strain a replica.
DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
#: The name of the Serve application ``run_server`` starts, unless told otherwise.
DEFAULT_APP_NAME = "modelrt"
#: The name a bare request body goes by, as ``-`` names stdin for ``modelrt predict``.
BODY_NAME = "-"


class _Refusal(Exception):
    """A request answered with a 4xx and a message, never with a traceback."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ModelServer:
    """The deployment's class: one loaded model per replica, predicting batches of requests.

    ``load_options`` are ``modelrt.load``'s (``threads`` defaults to the replica's CPU share);
    ``overrides`` (``confidence``, ``iou``, ``max_detections``, ``classes``) apply to every request.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        load_options: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        max_batch_size: int = 8,
        batch_wait_timeout_s: float = 0.01,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    ) -> None:
        from modelrt.model import load

        options = dict(load_options or {})
        if options.get("threads") is None:
            options["threads"] = actor_threads()
        self._model = load(model, **options)
        self._overrides = dict(overrides or {})
        self._max_upload_bytes = max_upload_bytes
        self._batch_sizes: collections.Counter[int] = collections.Counter()
        # Serve keeps the batch queue on the decorated function, one per process: a replica is one
        # process, so this sets the sizes of this replica's batches.
        self._predict_batch.set_max_batch_size(max_batch_size)
        self._predict_batch.set_batch_wait_timeout_s(batch_wait_timeout_s)

    async def __call__(self, request: Request) -> Response:
        from starlette.responses import Response

        try:
            if request.method == "GET" and request.url.path.rstrip("/").endswith("/health"):
                return _json(200, self._health())
            if request.method != "POST":
                raise _Refusal(405, f"{request.method} is not served here; POST an image, or GET /health")
            name, data = await self._upload(request)
            pixels = await asyncio.to_thread(_decode, data)
            record = await self._predict_batch(pixels)
        except _Refusal as refusal:
            return _json(refusal.status, {"error": str(refusal)})
        except Exception as error:  # answered as a 500 with its message; the traceback goes to the log
            logger.exception("prediction failed")
            return _json(500, {"error": f"prediction failed: {error}"})
        return Response(to_json({"image": name, **record}, indent=None), media_type="application/json")

    def check_health(self) -> None:
        """Serve's periodic health check: a replica whose model cannot predict any more is restarted."""
        self._model.predict([], color="rgb")  # an empty list runs nothing; a closed model raises

    def _health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "model": self._model.name,
            "backend": self._model.backend,
            "device": self._model.device,
            "batch_sizes": {str(size): count for size, count in sorted(self._batch_sizes.items())},
        }

    async def _upload(self, request: Request) -> tuple[str, bytes]:
        """The image's name and bytes: a multipart form's first file, or the body itself."""
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_upload_bytes:
            raise _Refusal(413, f"the request has {int(length)} bytes; at most {self._max_upload_bytes} are accepted")
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            return await _form_upload(request)
        body = await request.body()
        if len(body) > self._max_upload_bytes:
            raise _Refusal(413, f"the request has {len(body)} bytes; at most {self._max_upload_bytes} are accepted")
        if not body:
            raise _Refusal(400, "the request has no image; send one as the body or as a multipart file field")
        return request.query_params.get("name", BODY_NAME), body

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.01)
    async def _predict_batch(self, images: list[np.ndarray]) -> list[dict[str, Any]]:
        """One network call for the requests that arrived together (sizes set in ``__init__``)."""
        self._batch_sizes[len(images)] += 1
        # predict blocks for the length of a network call: off the event loop, so requests keep coming.
        results = await asyncio.to_thread(self._model.predict, images, color="rgb", **self._overrides)
        assert isinstance(results, list)  # a list in, a list out
        return [result_data(result) for result in results]


async def _form_upload(request: Request) -> tuple[str, bytes]:
    from starlette.exceptions import HTTPException

    try:
        form = await request.form()
    except HTTPException as error:  # starlette's answer to a malformed form
        raise _Refusal(400, f"the multipart form cannot be read: {error.detail}") from None
    except AssertionError:  # starlette asserts that python-multipart is installed
        raise _Refusal(
            415, "multipart uploads need python-multipart on the server; send the image as the request body"
        ) from None
    for value in form.values():
        if not isinstance(value, str):  # an UploadFile
            return value.filename or BODY_NAME, await value.read()
    raise _Refusal(400, "the form has no file field; upload the image as a file, e.g. curl -F image=@photo.jpg")


def _decode(data: bytes) -> np.ndarray:
    from modelrt.images import load_image

    try:
        return load_image(data)
    except InputError as error:
        raise _Refusal(400, f"the upload is not a usable image: {error}") from None


def _json(status: int, data: Any) -> Response:
    from starlette.responses import Response

    return Response(to_json(data, indent=None), status_code=status, media_type="application/json")


def server_app(
    model: str | os.PathLike[str],
    *,
    max_batch_size: int = 8,
    batch_wait_timeout_s: float = 0.01,
    replicas: int = 1,
    num_cpus: float = 1,
    num_gpus: float = 0,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    overrides: Mapping[str, Any] | None = None,
    **load_options: Any,
) -> Any:
    """The Serve application for ``model``: ``replicas`` replicas of ``num_cpus`` CPUs and ``num_gpus``
    GPUs, each batching up to ``max_batch_size`` requests that arrive within ``batch_wait_timeout_s``.

    ``serve.run(server_app(...))`` deploys it on a running Ray; ``load_options`` go to ``modelrt.load``.
    """
    if max_batch_size < 1 or batch_wait_timeout_s < 0:
        raise InputError(
            f"max_batch_size={max_batch_size} and batch_wait_timeout_s={batch_wait_timeout_s}: "
            "need a batch of at least 1 and a wait of 0 seconds or more"
        )
    deployment = serve.deployment(ModelServer).options(
        name="ModelServer",
        num_replicas=replicas,
        # A replica must accept at least a full batch at once, or batches never fill.
        max_ongoing_requests=max(2 * max_batch_size, 8),
        ray_actor_options={"num_cpus": num_cpus, "num_gpus": num_gpus},
    )
    return deployment.bind(
        worker_reference(model), load_options, overrides, max_batch_size, batch_wait_timeout_s, max_upload_bytes
    )


def start_server(
    model: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    route_prefix: str = "/",
    name: str = DEFAULT_APP_NAME,
    **app_options: Any,
) -> str:
    """Deploy ``model`` on Serve at ``http://host:port/route_prefix`` and return that URL once it answers.

    Uses the Ray session this process has, or starts or joins one as ``ray.init()`` does (a local
    cluster, or the one ``RAY_ADDRESS`` names). ``app_options`` are ``server_app``'s.
    """
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(include_dashboard=False)
    serve.start(http_options={"host": host, "port": port})
    serve.run(server_app(model, **app_options), name=name, route_prefix=route_prefix)
    return f"http://{host}:{port}{route_prefix}"


def run_server(
    model: str | os.PathLike[str], *, on_ready: Callable[[str], None] | None = None, **server_options: Any
) -> None:
    """``start_server``, call ``on_ready(url)``, then serve until interrupted (Ctrl-C); Serve is shut
    down on the way out. What ``modelrt serve`` runs."""
    url = start_server(model, **server_options)
    if on_ready is not None:
        on_ready(url)
    try:
        while True:
            time.sleep(3600)
    finally:
        serve.shutdown()
