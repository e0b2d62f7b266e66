"""Beat classes without labels: N (dominant conduction), S (supraventricular ectopic), V (ventricular
ectopic), Q (artefact or unclassifiable).

The rules read the beat table only (columns of `scoring.combine` plus the noise columns), so a review can
re-run them on a stored reading:

- Q: a beat whose surroundings look like noise (the quality windows within `stages.NOISE_SPAN_S` of its R
  have little QRS spikiness, below ``q_spikiness``; or, if ``q_swing`` is set, an artefact's swing: off by
  default, because a large ventricular beat swings its window as much) and whose shape is unlike the
  dominant beat; a beat the R-R pattern cannot place (a detection closer than ``q_min_rr_s`` to the previous
  beat: a T wave or an artefact found as a beat) with a strange shape too; and, only when ``q_max_rr_ratio``
  is set (off by default), an isolated strange beat earlier than that fraction of the local R-R (a strange
  neighbour means a salvo of ventricular beats, never Q).
- Q, faint beats: a beat the score calls V whose primary-lead shape is not strange (distance at most
  ``q_min_distance``) in a window where the QRS barely stands out (spikiness below ``q_faint_spikiness``):
  its timing and width made the score, the shape says noise or a P / T wave found as a beat. Likewise a beat
  the score calls V with high-frequency noise around it (``noise_hf``, `scoring.beat_hf_noise`: the raw
  signal above 25 Hz before and after the QRS over the QRS amplitude, relative to the recording's typical
  beat) above ``q_hf_noise``: its shape cannot be told from the noise on it.
- Q, rejected windows: a beat whose R peak lies in a window the primary lead's quality check rejects (column
  ``unusable``: only an extra lead showed it, `beats.second_lead_beats`).
- V: score above the operating point (`scoring`: far from the dominant shape, wide, often premature), except a
  beat near the dominant shape in the extra leads (distance below ``v_min_extra_distance``) and not far from
  it in the primary lead (below ``v_alone_distance``): a ventricular beat changes the QRS in every lead, so a
  shape strange in one lead only is noise or a change of that lead's conduction, not V (then S or N).
- S: a shape near the dominant beat's (morph distance below ``s_max_distance``, not V) and one of:
  premature against the local rhythm (R-R ratio below ``s_max_rr_ratio``) and not followed by a much shorter
  interval (ectopic atrial beats reset the sinus node); a little less early (R-R ratio below
  ``s_pause_rr_ratio``) but followed by a pause (the next R-R at least ``s_min_pause`` times this one); or a
  beat of a supraventricular run (`supraventricular_runs`): a sudden rate jump (R-R below ``s_max_rr_ratio``
  of both the previous R-R and the median of the preceding ``s_reference_beats`` normal intervals) and the
  beats after it until the rate falls back to ``s_max_rr_ratio`` of that reference, which the run itself does
  not move (a centred local median adapts to a run of tachycardia within a few beats). Every S needs a regular
  rhythm where it starts (`irregularity` at most ``s_max_irregularity``: in atrial fibrillation "early" means
  nothing, and EC57 does not count beats in atrial fibrillation as SVEB).
- N: everything else.
- V, family consensus (`family_consensus`, once the families are known): in a morphology family whose N / S / V
  beats are at least ``v_family_share`` V, the N and S members scored above ``v_family_min_ratio`` x the
  operating point become V: they have the ventricular shape, and only their timing or the model's error kept
  them under the threshold (multiform ventricular ectopy, where each shape is a family of its own).
- Q, noise in a normal family (`family_noise`, after the family consensus): a beat labelled V in a noisy window
  (`noisy_window`: the primary lead's high-frequency noise ``noise_hf`` above ``q_window_hf`` or spikiness below
  ``q_faint_spikiness``) whose morphology family is almost
  all normal (V share of its N / S / V beats below ``q_family_share``): the families compare the QRS and ST-T of
  every usable lead, so its shape is the normal one and its distance from the dominant beat is the noise's.
- S, aberrant conduction (`aberrant_conduction`, after the family consensus): a beat labelled V that is a
  supraventricular premature beat conducted with a bundle-branch delay. Its shape is only moderately far from
  the dominant beat's in every lead (distance below ``a_max_distance`` in the primary and the extra leads; a
  ventricular beat is far in all of them), it is premature against the sinus cycle (R-R below
  ``s_max_rr_ratio`` of the median of the last ``a_sinus_beats`` N-to-N intervals) and its pause is incomplete:
  R-R before + R-R after below ``a_max_compensation`` x 2 sinus cycles (an atrial beat resets the sinus node; a
  ventricular beat leaves it alone, so the two intervals add up to two cycles, the full compensatory pause).
  Only in a regular sinus rhythm (`irregularity` of the N-to-N intervals at most ``s_max_irregularity``: in
  atrial fibrillation there is no sinus cycle), and only before a conducted beat (N, S or another such beat),
  the one that ends the pause.

Thresholds were chosen on the even-indexed MIT-BIH development records and checked on the odd ones (see
docs/research/recordings.md); none is tuned to a record.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd

LABELS = ("N", "S", "V", "Q")
IRREGULAR_BEATS = 24
MIN_REFERENCE_BEATS = 4  # normal R-R intervals needed before a run can start


@dataclass(frozen=True)
class ClassRules:
    """Thresholds of the label-free beat classes (see the module docstring)."""

    q_spikiness: float = 5.0
    q_swing: float = float("inf")
    q_min_distance: float = 2.0
    q_min_rr_s: float = 0.18
    q_max_rr_ratio: float = 0.0  # off: see docs/research/recordings.md (failed on the check half)
    q_faint_spikiness: float = 10.0
    q_hf_noise: float = 8.0
    q_window_hf: float = 3.0
    q_family_share: float = 0.1
    v_min_extra_distance: float = 2.0
    v_alone_distance: float = 3.0
    s_max_rr_ratio: float = 0.85
    s_max_distance: float = 3.0
    s_min_next_ratio: float = 0.9
    s_max_irregularity: float = 0.15
    s_irregular_beats: int = IRREGULAR_BEATS
    s_pause_rr_ratio: float = 0.9
    s_min_pause: float = 1.2
    s_reference_beats: int = 32
    v_family_share: float = 0.8
    v_family_min_ratio: float = 0.5
    a_max_distance: float = 4.0
    a_max_compensation: float = 0.85
    a_sinus_beats: int = 8


def noisy_beats(table: pd.DataFrame, rules: ClassRules = ClassRules()) -> np.ndarray:
    """Beats the Q rule calls artefact or unclassifiable."""
    spiky = table["noise_spikiness"].to_numpy()
    swing = table["noise_swing"].to_numpy()
    dist = table["morph_distance"].to_numpy()
    rr = table["rr_s"].to_numpy()
    noisy = (spiky < rules.q_spikiness) | (swing > rules.q_swing)
    ratio = table["rr_ratio"].to_numpy()
    strange = dist > rules.q_min_distance
    # a strange beat next to another strange beat belongs to a salvo (ventricular tachycardia), not an artefact
    isolated = ~(np.append(False, strange[:-1]) | np.append(strange[1:], False))
    with np.errstate(invalid="ignore"):
        too_close = (rr < rules.q_min_rr_s) | ((ratio < rules.q_max_rr_ratio) & isolated)
    return (noisy | too_close) & strange


def _primary_distance(table: pd.DataFrame) -> np.ndarray:
    """The primary lead's morph distance (the blended one for a single-lead table)."""
    column = "morph_distance_primary" if "morph_distance_primary" in table else "morph_distance"
    return table[column].to_numpy(dtype=np.float64)


def _faint_window(table: pd.DataFrame, rules: ClassRules) -> np.ndarray:
    """Beats in a window where the QRS barely stands out of the noise (spikiness below ``q_faint_spikiness``)."""
    with np.errstate(invalid="ignore"):
        return table["noise_spikiness"].to_numpy(dtype=np.float64) < rules.q_faint_spikiness


def faint_beats(table: pd.DataFrame, rules: ClassRules = ClassRules()) -> np.ndarray:
    """Beats whose primary-lead shape is not strange (distance <= ``q_min_distance``) in a `_faint_window`:
    scored V, they are a noise deflection or a P / T wave found as a beat (its timing and width made the
    score), so Q."""
    with np.errstate(invalid="ignore"):
        return _faint_window(table, rules) & (_primary_distance(table) <= rules.q_min_distance)


def hf_noisy_beats(table: pd.DataFrame, rules: ClassRules = ClassRules()) -> np.ndarray:
    """Beats whose high-frequency noise over QRS amplitude (``noise_hf``) exceeds ``q_hf_noise`` times the
    recording's typical beat's (a reading without the column: none)."""
    if "noise_hf" not in table:
        return np.zeros(len(table), dtype=bool)
    with np.errstate(invalid="ignore"):
        return table["noise_hf"].to_numpy(dtype=np.float64) > rules.q_hf_noise


def one_lead_beats(table: pd.DataFrame, rules: ClassRules = ClassRules()) -> np.ndarray:
    """Beats near the dominant shape in the extra leads (distance below ``v_min_extra_distance``) and not far
    from it in the primary lead (below ``v_alone_distance``): a ventricular beat changes the QRS in every
    lead, so these are not V (NaN: no usable extra lead, no veto)."""
    if "morph_distance_extra" not in table:
        return np.zeros(len(table), dtype=bool)
    with np.errstate(invalid="ignore"):
        return (table["morph_distance_extra"].to_numpy(dtype=np.float64) < rules.v_min_extra_distance) & (
            _primary_distance(table) < rules.v_alone_distance
        )


def noisy_window(table: pd.DataFrame, rules: ClassRules = ClassRules()) -> np.ndarray:
    """Beats in a noisy primary-lead window: high-frequency noise (``noise_hf``) above ``q_window_hf`` times the
    recording's typical beat's, or QRS spikiness below ``q_faint_spikiness`` (the QRS barely stands out)."""
    noisy = _faint_window(table, rules)
    if "noise_hf" in table:
        with np.errstate(invalid="ignore"):
            noisy |= table["noise_hf"].to_numpy(dtype=np.float64) > rules.q_window_hf
    return noisy


def irregularity(rr: np.ndarray, beats: int = IRREGULAR_BEATS) -> np.ndarray:
    """Per beat: the median of |R-R change| / R-R over the ``beats`` beats before it (high in atrial
    fibrillation, where "premature" says nothing; NaN R-R are skipped). Only the rhythm before the beat counts:
    a premature beat or a run is judged against the rhythm it interrupts, and its own jumps do not make that
    rhythm look irregular."""
    rr = np.asarray(rr, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        change = np.abs(np.diff(rr, prepend=np.nan)) / rr
    return pd.Series(change).shift(1).rolling(beats, min_periods=4).median().to_numpy()


def supraventricular_runs(
    rr: np.ndarray, onset: np.ndarray, normal: np.ndarray, single: np.ndarray, rules: ClassRules = ClassRules()
) -> np.ndarray:
    """Beats of runs of supraventricular rhythm faster than the patient's own.

    A run starts at a beat allowed by ``onset`` (normal shape, regular rhythm) whose R-R is below
    ``s_max_rr_ratio`` of the previous R-R and of the reference: the median of the last ``s_reference_beats``
    R-R of normal beats (not in a run, not ``single`` premature beats, normal shape). It goes on while the
    beats keep a normal shape and an R-R below ``s_max_rr_ratio`` of the reference taken at its start, and ends
    at the first beat that falls back (or an unknown R-R). A single premature beat is a run of one.
    """
    limit = rules.s_max_rr_ratio
    previous = np.append(np.nan, rr[:-1])
    with np.errstate(invalid="ignore"):
        candidate = (onset & (rr < limit * previous)).tolist()
    usable = (normal & ~single & np.isfinite(rr)).tolist()
    shaped = normal.tolist()
    intervals = rr.tolist()
    out = np.zeros(len(rr), dtype=bool)
    recent = deque(maxlen=rules.s_reference_beats)
    bound = 0.0  # R-R below which the current run goes on; 0: no run
    for i, x in enumerate(intervals):
        if bound and shaped[i] and x < bound:
            out[i] = True
            continue
        bound = 0.0
        if candidate[i] and len(recent) >= MIN_REFERENCE_BEATS:
            reference = statistics.median(recent)
            if x < limit * reference:
                out[i], bound = True, limit * reference
                continue
        if usable[i]:
            recent.append(x)
    return out


def premature_beats(
    table: pd.DataFrame, rules: ClassRules = ClassRules(), ventricular: np.ndarray | None = None
) -> np.ndarray:
    """Normal-shaped beats early against the rhythm (the S rule; see the module docstring): early against the
    local median and not followed by a much shorter interval, less early but followed by a pause, or in a
    supraventricular run; in a rhythm regular enough for "early" to mean something. ``ventricular``: beats
    already labelled V (never S, and they end a run)."""
    ratio = table["rr_ratio"].to_numpy()
    rr = table["rr_s"].to_numpy(dtype=np.float64)
    next_rr = np.append(rr[1:], np.nan)
    normal = table["morph_distance"].to_numpy() < rules.s_max_distance
    if ventricular is not None:
        normal &= ~np.asarray(ventricular, dtype=bool)
    with np.errstate(invalid="ignore"):
        regular = ~(irregularity(rr, rules.s_irregular_beats) > rules.s_max_irregularity)
        early = (ratio < rules.s_max_rr_ratio) & ~(next_rr < rules.s_min_next_ratio * rr)  # NaN does not veto
        paused = (ratio < rules.s_pause_rr_ratio) & (next_rr >= rules.s_min_pause * rr)
    single = (early | paused) & regular & normal
    return single | supraventricular_runs(rr, regular & normal, normal, single, rules)


def classify_beats(table: pd.DataFrame, operating_point: float, rules: ClassRules = ClassRules()) -> np.ndarray:
    """N / S / V / Q per beat (object array of one-letter strings)."""
    labels = np.full(len(table), "N", dtype=object)
    if len(table) == 0:
        return labels
    ventricular = (table["score"].to_numpy() > operating_point) & ~one_lead_beats(table, rules)
    labels[premature_beats(table, rules, ventricular)] = "S"  # normal-shaped beats only (s_max_distance)
    labels[ventricular] = "V"
    unreadable = faint_beats(table, rules) | hf_noisy_beats(table, rules)
    labels[noisy_beats(table, rules) | (ventricular & unreadable)] = "Q"
    if "unusable" in table:  # a beat in a window the quality check rejects (only another lead showed it)
        labels[table["unusable"].to_numpy(dtype=bool)] = "Q"
    return labels


def family_v_share(labels: np.ndarray, family: np.ndarray) -> np.ndarray:
    """Per beat: the share of V among the N / S / V beats of its family (NaN for a family of Q beats only)."""
    labels, family = np.asarray(labels, dtype=object), np.asarray(family, dtype=np.int64)
    if len(family) == 0:
        return np.zeros(0)
    size = family.max() + 1
    counted = np.bincount(family[np.isin(labels, ["N", "S", "V"])], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.bincount(family[labels == "V"], minlength=size) / counted)[family]


def family_consensus(
    labels: np.ndarray, family: np.ndarray, score_ratio: np.ndarray, rules: ClassRules = ClassRules()
) -> np.ndarray:
    """Labels after the family consensus rule (module docstring): a new array."""
    labels = np.asarray(labels, dtype=object).copy()
    if len(labels) == 0:
        return labels
    with np.errstate(invalid="ignore"):
        ventricular_family = family_v_share(labels, family) >= rules.v_family_share
    labels[ventricular_family & np.isin(labels, ["N", "S"]) & (score_ratio > rules.v_family_min_ratio)] = "V"
    return labels


def family_noise(
    table: pd.DataFrame, labels: np.ndarray, family: np.ndarray, rules: ClassRules = ClassRules()
) -> np.ndarray:
    """Labels after the noise-in-a-normal-family rule (module docstring): V beats in a `noisy_window` whose
    family's N / S / V beats are less than ``q_family_share`` V become Q. A new array."""
    labels = np.asarray(labels, dtype=object).copy()
    if len(labels) == 0:
        return labels
    with np.errstate(invalid="ignore"):
        normal_family = family_v_share(labels, family) < rules.q_family_share
    labels[(labels == "V") & normal_family & noisy_window(table, rules)] = "Q"
    return labels


def sinus_rhythm(rr: np.ndarray, labels: np.ndarray, cycle_beats: int, irregular_beats: int = IRREGULAR_BEATS):
    """Per beat, from the sinus (N-to-N) intervals before it: the sinus cycle (median of the last
    ``cycle_beats``) and the rhythm's irregularity (median |change| / interval over the last ``irregular_beats``;
    `irregularity` of the sinus intervals alone, so ectopic beats and their pauses do not make a regular sinus
    rhythm look irregular). NaN before enough intervals (4)."""
    rr = np.asarray(rr, dtype=np.float64)
    labels = np.asarray(labels, dtype=object)
    sinus = np.flatnonzero((labels == "N") & (np.append("", labels[:-1]) == "N") & np.isfinite(rr))
    cycle, irregular = np.full(len(rr), np.nan), np.full(len(rr), np.nan)
    if len(sinus) == 0:
        return cycle, irregular
    x = pd.Series(rr[sinus])
    change = (x.diff().abs() / x).rolling(irregular_beats, min_periods=MIN_REFERENCE_BEATS).median().to_numpy()
    median = x.rolling(cycle_beats, min_periods=MIN_REFERENCE_BEATS).median().to_numpy()
    last = np.searchsorted(sinus, np.arange(len(rr)), side="left") - 1  # the last sinus interval before a beat
    known = last >= 0
    cycle[known], irregular[known] = median[last[known]], change[last[known]]
    return cycle, irregular


def aberrant_beats(table: pd.DataFrame, labels: np.ndarray, rules: ClassRules = ClassRules()) -> np.ndarray:
    """Beats labelled V that are supraventricular beats conducted with aberration (module docstring): premature
    against the sinus cycle, an incomplete compensatory pause, a shape only moderately far from the dominant one
    in every lead, a regular sinus rhythm, and followed by a conducted beat (N or S, or another such beat)."""
    labels = np.asarray(labels, dtype=object)
    out = np.zeros(len(labels), dtype=bool)
    if len(labels) < 2:
        return out
    rr = table["rr_s"].to_numpy(dtype=np.float64)
    next_rr = np.append(rr[1:], np.nan)
    cycle, irregular = sinus_rhythm(rr, labels, rules.a_sinus_beats, rules.s_irregular_beats)
    shape = _primary_distance(table)
    if "morph_distance_extra" in table:
        shape = np.fmax(shape, table["morph_distance_extra"].to_numpy(dtype=np.float64))
    with np.errstate(invalid="ignore"):
        candidate = (
            (labels == "V")
            & (irregular <= rules.s_max_irregularity)
            & (shape < rules.a_max_distance)
            & (rr < rules.s_max_rr_ratio * cycle)
            & (rr + next_rr < 2.0 * rules.a_max_compensation * cycle)
        )
    conducted = np.isin(labels, ["N", "S"])
    for i in np.flatnonzero(candidate)[::-1]:  # from the end: a beat followed by an aberrant beat qualifies too
        out[i] = i + 1 < len(labels) and (conducted[i + 1] or out[i + 1])
    return out


def aberrant_conduction(table: pd.DataFrame, labels: np.ndarray, rules: ClassRules = ClassRules()) -> np.ndarray:
    """Labels after the aberrant conduction rule (`aberrant_beats` become S): a new array."""
    labels = np.asarray(labels, dtype=object).copy()
    labels[aberrant_beats(table, labels, rules)] = "S"
    return labels


def beat_counts(labels) -> dict:
    """{"N", "S", "V", "Q"} -> count."""
    labels = np.asarray(labels, dtype=object)
    return {label: int((labels == label).sum()) for label in LABELS}
