"""The label a modelrt Docker image writes about itself, read as a fact of the host the environment probe sees.

An image writes ``/etc/modelrt/image.json`` (``IMAGE_LABEL_FILE``, by ``docker/label.sh``), so that
``modelrt env`` run inside it names the image it runs in, and a bug report carries that without the
reporter knowing it. It is read through ``Host``, so a fake root can carry one.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from modelrt.host import Host

__all__ = ["IMAGE_LABEL_FILE", "ImageLabel", "read_image_label"]

#: The label file an image writes, root-relative.
IMAGE_LABEL_FILE = "etc/modelrt/image.json"


@attrs.frozen
class ImageLabel:
    """What an image says about itself: its name, the row it serves, modelrt's version, how it was built."""

    image: str
    row: str | None = None
    version: str | None = None
    revision: str | None = None
    created: str | None = None
    base: str | None = None


def read_image_label(host: Host) -> ImageLabel | None:
    """The label of the modelrt image this process runs in, or ``None`` outside one (or for a broken file).

    A label that cannot be read is ``None`` rather than an error: ``modelrt env`` must still report the rest.
    """
    text = host.read_text(IMAGE_LABEL_FILE)
    if text is None:
        return None
    try:
        data: Any = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("image"), str) or not data["image"]:
        return None
    fields = {
        field.name: str(data[field.name])[:200]
        for field in attrs.fields(ImageLabel)
        if isinstance(data.get(field.name), str) and data[field.name]
    }
    return ImageLabel(**fields)
