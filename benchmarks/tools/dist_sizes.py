"""Installed size of every distribution in this environment, from the files its RECORD lists; prints JSON.

Run with the measured environment's Python. Files a distribution lists but that are missing (some
wheels list ``.pyc`` files that were never written) count as zero; ``__pycache__`` files written at
install time are counted by the directories they sit in, through ``all_files_bytes``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import site


def distribution_bytes(distribution: importlib.metadata.Distribution) -> int:
    total = 0
    for file in distribution.files or ():
        path = str(distribution.locate_file(file))
        try:
            total += os.path.getsize(path)
        except OSError:
            continue
    return total


def tree_bytes(root: str) -> int:
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
    return total


def main() -> None:
    sizes = {}
    for distribution in importlib.metadata.distributions():
        name = distribution.metadata["Name"]
        sizes[name] = {"version": distribution.version, "bytes": distribution_bytes(distribution)}
    site_packages = site.getsitepackages()[0]
    print(json.dumps({"distributions": sizes, "site_packages_bytes": tree_bytes(site_packages)}))


if __name__ == "__main__":
    main()
