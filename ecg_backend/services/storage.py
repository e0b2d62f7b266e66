"""Where recordings are stored: one root (``ECG_STORAGE_DIR``) shared by web processes and job workers.

    <root>/jobs/<token>.ecgsig            an upload waiting for its job (the job's input)
    <root>/recordings/<token>/signal.ecgsig   the same file once its job has stored an analysis
    <root>/recordings/<token>/...         the reading and anything else kept with the recording

The file an upload writes is the file the job reads and the pages draw from: it is written once and moved
(a rename on the same volume) when the job succeeds. Analyses keep paths relative to the root, so workers
on other machines mount the same volume, at any path, and set ``ECG_STORAGE_DIR`` to it.
"""

from __future__ import annotations

import os
import shutil
import uuid

import numpy as np
from flask import current_app

from ecg_backend.errors import InputError
from ecg_backend.signals import store
from ecg_backend.signals.leads import ParsedRecording

STORAGE_ENV = "ECG_STORAGE_DIR"
SIGNAL_FILE = "signal" + store.SUFFIX


def storage_root() -> str:
    """The storage root: config/environment ``ECG_STORAGE_DIR``, else ``<instance>/storage``."""
    return current_app.config.get(STORAGE_ENV) or os.path.join(current_app.instance_path, "storage")


def job_input_dir() -> str:
    """Where uploads wait for their job."""
    return os.path.join(storage_root(), "jobs")


def absolute(relative: str) -> str:
    """A path under the root from its stored relative form (never outside the root)."""
    root = os.path.realpath(storage_root())
    path = os.path.realpath(os.path.join(root, relative))
    if os.path.commonpath([root, path]) != root:
        raise ValueError(f"{relative!r} is not under the storage root")
    return path


def recording_leads(parsed: ParsedRecording) -> tuple[list[np.ndarray], list[store.LeadInfo]]:
    """The columns a recording stores (the chosen lead first, then the other leads in upload order) and their
    names, units and gains (the record's own, where the upload had them: ``parsed.lead_info``)."""
    columns = [parsed.signal]
    if parsed.extra_leads is not None:
        columns += [parsed.extra_leads[:, i] for i in range(parsed.extra_leads.shape[1])]
    names = [parsed.lead] + list(parsed.extra_names)[: len(columns) - 1]
    return columns, [store.LeadInfo(name=name, **parsed.lead_info.get(name, {})) for name in names]


def save_job_input(parsed: ParsedRecording) -> str:
    """Store an upload's leads (and reference annotations) as a job input; returns the file's path."""
    folder = job_input_dir()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, uuid.uuid4().hex + store.SUFFIX)
    columns, leads = recording_leads(parsed)
    store.write_signal(path, columns, parsed.fs, leads, annotations=parsed.annotations)
    return path


def open_job_input(path: str) -> store.StoredSignal:
    """The job's stored input; a clear error when it is gone (an upload to send again)."""
    try:
        return store.open_signal(path)
    except (OSError, ValueError):
        raise InputError("the uploaded recording is no longer available; upload it again") from None


def keep_job_input(path: str) -> str:
    """Move a job's input to a recording folder of its own; returns the folder, relative to the root."""
    token = os.path.basename(path)[: -len(store.SUFFIX)]
    relative = os.path.join("recordings", token)
    folder = absolute(relative)
    os.makedirs(folder, exist_ok=True)
    os.replace(path, os.path.join(folder, SIGNAL_FILE))
    return relative


def recording_folder(analysis) -> str | None:
    """The absolute folder of a recording analysis's stored files (None for one stored before them)."""
    relative = (analysis.input or {}).get("storage")
    return absolute(relative) if relative else None


def open_recording_signal(analysis) -> store.StoredSignal:
    """The stored signal of a recording analysis, or a 404 naming why there is none."""
    folder = recording_folder(analysis)
    try:
        if folder is None:
            raise FileNotFoundError
        return store.open_signal(os.path.join(folder, SIGNAL_FILE))
    except (OSError, ValueError):
        raise InputError(
            f"analysis {analysis.id} has no stored signal (it was analysed before signals were "
            "kept, or is not a recording); upload the recording again",
            status=404,
            code="no_stored_signal",
        ) from None


def remove_folder(relative: str | None) -> None:
    """Delete a recording's stored files (nothing when there are none)."""
    if relative:
        shutil.rmtree(absolute(relative), ignore_errors=True)
