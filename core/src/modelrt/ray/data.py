"""Batch inference on Ray Data: ``Dataset.map_batches(ModelPredictor, ...)`` loads the model once per actor.

The image column may hold encoded images (``ray.data.read_binary_files`` gives them as ``bytes``), file
paths readable by every worker, or decoded arrays (``ray.data.read_images`` gives ``image``, RGB, so
``color`` defaults to ``"rgb"`` here rather than to OpenCV's BGR). Each batch is predicted in one
network call and comes back as an Arrow table: the batch's other columns unchanged (``path``, ids,
...), then the result columns of ``modelrt.ray.columns``. The image column itself is dropped unless
``keep_images=True``, so decoded pixels are not carried into the output.

A model's intra-op threads default to the CPUs Ray gave its actor (``num_cpus``), never the whole
node: ``concurrency=4, num_cpus=2`` on an 8-core node runs four models of two threads each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelrt.errors import InputError
from modelrt.ray import import_ray, worker_reference
from modelrt.ray.columns import prediction_columns
from modelrt.ray.resources import actor_threads

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from ray.data import Dataset

__all__ = ["ModelPredictor", "predict_dataset"]


class ModelPredictor:
    """A callable class for ``Dataset.map_batches``: one model per actor, one Arrow table per batch.

    ``model`` is anything ``modelrt.load`` takes (a package directory or model file every worker can
    read, or ``hf://org/repo``, fetched by each node into its own cache). ``device``, ``backend``,
    ``precision``, ``threads``, ``offline``, ``revision``, ``verify`` and ``allow_pickle`` are
    ``modelrt.load``'s; ``threads=None`` means the actor's CPU share. ``overrides`` (``confidence``,
    ``iou``, ``max_detections``, ``classes``) apply to every prediction.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        image_column: str = "image",
        color: str = "rgb",
        keep_images: bool = False,
        device: str = "auto",
        backend: str = "auto",
        precision: str = "auto",
        threads: int | None = None,
        offline: bool | None = None,
        revision: str | None = None,
        verify: bool = True,
        allow_pickle: bool = False,
        **overrides: Any,
    ) -> None:
        from modelrt.model import load

        import_ray("data")  # pyarrow and Ray Data: fail here, once, rather than at the first batch
        self.image_column = image_column
        self.color = color
        self.keep_images = keep_images
        self.overrides = overrides
        self.model = load(
            model,
            device=device,
            backend=backend,
            precision=precision,
            threads=threads if threads is not None else actor_threads(),
            offline=offline,
            revision=revision,
            verify=verify,
            allow_pickle=allow_pickle,
        )

    def __call__(self, batch: Mapping[str, np.ndarray]) -> pa.Table:
        """Predict every image of ``batch`` (a ``batch_format="numpy"`` batch) in one network call."""
        import pyarrow as pa

        if self.image_column not in batch:
            raise InputError(
                f"the batch has no column {self.image_column!r} (its columns: {', '.join(map(repr, batch))}); "
                "pass the column holding the images as image_column=..."
            )
        # Ray gives equally sized images as one [B, H, W, C] array, ragged ones and bytes as an object
        # array, paths as numpy str_ (a str): a list of any of them is what predict takes.
        images = list(batch[self.image_column])
        results = self.model.predict(images, color=self.color, **self.overrides)
        assert isinstance(results, list)  # a list in, a list out
        columns: dict[str, Any] = {
            name: _arrow_column(values)
            for name, values in batch.items()
            if name != self.image_column or self.keep_images
        }
        columns.update(prediction_columns(results))
        return pa.table(columns)


def predict_dataset(
    dataset: Dataset,
    model: str | os.PathLike[str],
    *,
    concurrency: int | tuple[int, int] = 1,
    num_cpus: float = 1,
    num_gpus: float = 0,
    batch_size: int = 16,
    **predictor_options: Any,
) -> Dataset:
    """``dataset`` with one prediction per row, by ``concurrency`` actors (a fixed count, or
    ``(min, max)`` to autoscale) of ``num_cpus`` CPUs and ``num_gpus`` GPUs each, ``batch_size`` images
    per network call. ``predictor_options`` go to ``ModelPredictor`` (``image_column``, ``device``, ...).

    With ``num_gpus`` set and ``device`` left at ``"auto"``, each actor runs on the GPU Ray gave it
    (Ray sets ``CUDA_VISIBLE_DEVICES`` per actor, so that GPU is ``cuda:0`` inside it). Leave CPUs for
    the tasks that read and decode the files: actors holding every CPU of the cluster (two actors of
    one CPU on a 2-CPU machine) leave the read tasks waiting for ever. A relative model path is made
    absolute here, since workers do not share the driver's working directory.
    """
    data = import_ray("data")
    # ``compute`` rather than ``concurrency``: the latter is deprecated since Ray 2.51.
    low, high = concurrency if isinstance(concurrency, tuple) else (concurrency, concurrency)
    return dataset.map_batches(
        ModelPredictor,
        fn_constructor_args=(worker_reference(model),),
        fn_constructor_kwargs=predictor_options,
        batch_format="numpy",
        batch_size=batch_size,
        compute=data.ActorPoolStrategy(min_size=low, max_size=high),
        num_cpus=num_cpus,
        num_gpus=num_gpus,
    )


def _arrow_column(values: np.ndarray) -> pa.Array:
    """A column carried through unchanged: scalars as Arrow arrays, per-row arrays as Ray's tensors."""
    import pyarrow as pa

    if values.ndim == 1 and not _holds_arrays(values):
        return pa.array(values if values.dtype != object else values.tolist())
    from ray.data.extensions import ArrowTensorArray

    return ArrowTensorArray.from_numpy(values)


def _holds_arrays(values: np.ndarray) -> bool:
    import numpy as np

    return values.dtype == object and any(isinstance(value, np.ndarray) for value in values)
