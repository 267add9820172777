"""Where the Hub is and where its files are cached, read from the environment when each load starts.

huggingface-hub reads ``HF_ENDPOINT`` and ``HF_HUB_CACHE`` once, when it is first imported; reading them
here for every load lets a long-lived process (a server, a test session) follow a change, and keeps
their rules in one place: ``HF_HUB_CACHE``, else ``HUGGINGFACE_HUB_CACHE``, else ``$HF_HOME/hub``, else
``$XDG_CACHE_HOME/huggingface/hub``, else ``~/.cache/huggingface/hub`` (huggingface-hub's order).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEFAULT_ENDPOINT", "hf_cache_dir", "hf_endpoint", "repo_folder_name"]

DEFAULT_ENDPOINT = "https://huggingface.co"


def hf_endpoint() -> str:
    """The Hub's base URL: ``HF_ENDPOINT`` (a mirror, or a test's emulator), else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hf_cache_dir() -> Path:
    """The huggingface-hub cache directory this process would use now."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            return Path(os.path.expandvars(os.environ[variable])).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.path.expandvars(os.environ["HF_HOME"])).expanduser() / "hub"
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(cache_home).expanduser() / "huggingface" / "hub"


def repo_folder_name(repo_id: str) -> str:
    """The folder of a model repository in the cache, as huggingface-hub names it (``models--org--name``)."""
    return "--".join(("models", *repo_id.split("/")))
