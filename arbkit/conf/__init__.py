"""The packaged defaults: hydra's config tree (``config.yaml`` and its groups), gates, cost profiles, validation stages.

They ship inside the package and are found with :mod:`importlib.resources`, so an installed
arbkit (editable or not) reads the same files; hydra reads them as ``pkg://arbkit.conf``.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

HYDRA_CONFIG_PATH = "pkg://arbkit.conf"


def conf_path(*parts: str) -> Path:
    """A file or directory of the packaged config tree, e.g. ``conf_path("gates")``.

    arbkit installs as plain files (never zipped), so the resource is a real path.
    """
    return Path(str(files(__name__).joinpath(*parts)))
