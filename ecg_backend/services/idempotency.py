"""``Idempotency-Key`` on storing requests: a retried request creates its row once and is answered again.

The row (an Analysis from /predict, a Job from a recording upload) stores the client's key, unique per
owner, and a fingerprint of what was asked. A retry with the same key and fingerprint gets the first row
back; the same key with another request is a 422; two concurrent requests with one key race on the
unique constraint and the loser is answered with the winner's row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np
from sqlalchemy.exc import IntegrityError

from ecg_backend.errors import InputError

HEADER = "Idempotency-Key"
Created = TypeVar("Created")


def fingerprint(options: list, values: np.ndarray, dtype: str = "<f8") -> str:
    """sha256 hex of a request's options (JSON-able) and its parsed values (shape and numbers).

    Parsed values, not raw bytes, so a retry matches even when the client encodes it differently
    (another multipart boundary, other whitespace, JSON instead of CSV).
    """
    array = np.ascontiguousarray(values, dtype=dtype)
    return fingerprint_blocks(options, array.shape, [array], dtype)


def fingerprint_blocks(options: list, shape: tuple, blocks: Iterable[np.ndarray], dtype: str = "<f8") -> str:
    """`fingerprint` of the array of ``shape`` whose rows come as ``blocks`` in order, without building it
    (a 24-h two-lead upload is 250 MB as float32)."""
    digest = hashlib.sha256(json.dumps(options).encode("utf-8"))
    digest.update(repr(tuple(shape)).encode("ascii"))
    for block in blocks:  # each hashed in place, as C-ordered bytes of ``dtype``
        digest.update(np.ascontiguousarray(block, dtype=dtype).reshape(-1).view(np.uint8))
    return digest.hexdigest()


def create_once(
    key: str, request_hash: str, find: Callable, create: Callable[[], Created], id_field: str
) -> tuple[Created | None, object | None]:
    """``(create(), None)`` for a new key, or ``(None, earlier row)`` for a retry of the same request.

    ``find()`` returns the owner's row holding ``key`` (or None); ``create()`` stores a new row with
    ``key`` and ``request_hash`` and raises IntegrityError when a concurrent request took the key first.
    A row with another ``request_hash`` is a 422 naming it in ``details[id_field]``.
    """
    earlier = find()
    if earlier is None:
        try:
            return create(), None
        except IntegrityError:  # a concurrent request with the same key committed first
            earlier = find()
            if earlier is None:
                raise
    if earlier.request_hash != request_hash:
        raise InputError(
            f"the {HEADER} {key!r} was already used for a different request; send a new key with each new request",
            code="idempotency_key_reused",
            details={"header": HEADER, id_field: earlier.id},
        )
    return None, earlier
