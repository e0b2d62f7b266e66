"""The memory-saving forms of the pipeline's steps give exactly what the plain forms gave."""

import platform

import numpy as np
import pytest

from ecg_backend.signals.memory import _malloc_trim, release_freed_memory
from ecg_backend.signals.recording_input import check_extra_leads
from ecg_backend.signals.scoring import _shifted_rms
from ecg_backend.signals.stages import _joined


def test_sig_shifted_rms_in_blocks_equals_rolled_full_arrays():
    rng = np.random.default_rng(3)
    morph, templates, k = rng.normal(size=(2500, 56)), rng.normal(size=(2500, 56)), 3
    core = slice(k, 56 - k)
    rolled = np.min(
        [
            np.sqrt(np.mean((np.roll(morph, s, axis=1)[:, core] - templates[:, core]) ** 2, axis=1))
            for s in range(-k, k + 1)
        ],
        axis=0,
    )
    assert np.array_equal(_shifted_rms(morph, templates, k, block=1000), rolled)  # 3 blocks, the last short


def test_sig_joined_keeps_the_kept_rows_of_each_chunk_in_order():
    parts = [
        np.arange(6).reshape(3, 2),
        np.arange(6, 10).reshape(2, 2),
        np.zeros((0, 2)),
        np.arange(10, 12).reshape(1, 2),
    ]
    keep = np.array([True, False, True, False, True, True])
    assert _joined(parts, keep, 2).tolist() == [[0, 1], [4, 5], [8, 9], [10, 11]]
    assert _joined([], np.zeros(0, bool), 2).shape == (0, 2)


def test_sig_flat_extra_lead_found_past_missing_and_infinite_samples():
    n = 1000
    flat = np.full(n, 0.3, np.float32)
    flat[::7], flat[::11] = np.nan, np.inf
    with pytest.raises(ValueError, match="flat"):
        check_extra_leads(flat, n)
    lead = flat.copy()
    lead[500] = 0.4
    assert check_extra_leads(lead, n).shape == (n, 1)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's; elsewhere it is a no-op")
def test_sig_release_freed_memory_reaches_glibc():
    assert _malloc_trim() is not None
    blocks = [np.ones(200_000) for _ in range(50)]  # 80 MB of mid-sized arrays, freed
    del blocks
    assert isinstance(release_freed_memory(), bool)
