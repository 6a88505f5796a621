"""Files written whole or not at all.

A module of its own, importing nothing of the package: the card and search-index workers
(`python -m`) use it without importing Jinja (build_cache.py) at their start.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, content: bytes) -> None:
    """Write a file atomically (a temporary file beside it, then a rename), so that an
    interrupted build never leaves half a file for a reader or the next build."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    os.replace(tmp, path)
