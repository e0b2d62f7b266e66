"""The pipeline's checked input: a recording's primary lead, its extra leads and its rate (`Recording`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecg_backend.signals.leads import MAX_FS, MIN_FS
from ecg_backend.signals.quality import WINDOW_S


@dataclass
class Recording:
    """A checked recording: the primary lead (float64), the extra leads ((n, k) float32 or None), the rate."""

    signal: np.ndarray
    fs: float
    extra: np.ndarray | None = None

    @property
    def window(self) -> int:
        """Samples per quality window."""
        return max(int(round(WINDOW_S * self.fs)), 1)

    @property
    def n_extra(self) -> int:
        return 0 if self.extra is None else self.extra.shape[1]


def prepare_recording(signal, fs: float, extra_leads=None) -> Recording:
    """Check the rate, the primary lead and the extra leads (`check_extra_leads`).

    Raises:
        ValueError: fs out of range, a signal that is not 1-D / shorter than 2 seconds, or a bad extra lead.
    """
    fs = float(fs)
    if not (MIN_FS <= fs <= MAX_FS):
        raise ValueError(f"sampling rate {fs:g} Hz is outside 100-1000 Hz")
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(f"expected one lead (1-D signal), got shape {signal.shape}")
    if len(signal) < 2 * fs:
        raise ValueError("the recording is shorter than 2 seconds")
    return Recording(signal=signal, fs=fs, extra=check_extra_leads(extra_leads, len(signal)))


def _as_lead_matrix(extra_leads, n_samples: int) -> np.ndarray:
    if isinstance(extra_leads, (list, tuple)):
        leads = [np.asarray(x, dtype=np.float32) for x in extra_leads]
        for i, x in enumerate(leads):
            if x.ndim != 1:
                raise ValueError(f"extra lead {i} must be 1-D, got shape {x.shape}")
        if not leads:
            return np.zeros((n_samples, 0), np.float32)
        bad = next((i for i, x in enumerate(leads) if len(x) != n_samples), None)
        if bad is not None:
            raise ValueError(f"extra lead {bad} has {len(leads[bad])} samples; the primary lead has {n_samples}")
        return np.stack(leads, axis=1)
    extra = np.asarray(extra_leads, dtype=np.float32)
    if extra.ndim == 1:
        extra = extra[:, None]
    if extra.ndim != 2:
        raise ValueError(f"extra_leads must be (n_samples, k) or a list of 1-D leads, got shape {extra.shape}")
    if extra.shape[0] != n_samples:
        raise ValueError(
            f"extra_leads has {extra.shape[0]} samples per lead; the primary lead has {n_samples} "
            "(pass an array shaped (n_samples, k))"
        )
    return extra


def check_extra_leads(extra_leads, n_samples: int) -> np.ndarray | None:
    """``extra_leads`` as a float32 (n_samples, k) array (None stays None; k may be 0).

    Accepts a 1-D array (one extra lead), a 2-D array (n_samples, k) or a list of 1-D arrays. NaN/inf
    mark missing samples, as in the primary lead.

    Raises:
        ValueError: a lead that is not 1-D, whose length differs from the primary lead's, that holds no
            finite sample or that is flat (one value throughout).
    """
    if extra_leads is None:
        return None
    extra = _as_lead_matrix(extra_leads, n_samples)
    for i in range(extra.shape[1]):
        col = extra[:, i]
        finite = np.isfinite(col)
        if not finite.any():
            raise ValueError(f"extra lead {i} holds no finite sample")
        # min/max over the finite samples without copying them (a 24-h lead is ~120 MB)
        if float(np.max(col, where=finite, initial=-np.inf)) == float(np.min(col, where=finite, initial=np.inf)):
            raise ValueError(f"extra lead {i} is flat (one value throughout)")
    return extra
