"""Uploaded files streamed to disk for the input layer: a recording is never held whole in memory."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ecg_backend.signals.input_fields import parse_text

MAX_FILENAME = 255


@contextmanager
def saved_uploads(uploads, folder: str) -> Iterator[dict[str, Path]]:
    """Save each uploaded file (werkzeug ``FileStorage``, already spooled to disk by the form parser) into a
    fresh folder inside ``folder`` by streaming copies; yield ``{the client's file name: path}``.

    The folder and its files are removed when the block ends, whatever happens in it.
    """
    os.makedirs(folder, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="incoming-", dir=folder)
    try:
        files: dict[str, Path] = {}
        for i, upload in enumerate(uploads):
            name = parse_text(upload.filename or "upload", "the file name", MAX_FILENAME) or "upload"
            path = Path(tmp) / f"upload-{i}"
            upload.save(path)
            files[name] = path
        yield files
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
