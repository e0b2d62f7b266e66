"""Rhythm events and the hour-by-hour table of a labelled beat sequence.

Events (one row each: ``type``, ``start_s``, ``end_s``, ``n_beats``, ``rate_bpm``; start/end are the first
and last R peak, or for a pause the two beats around it):

- ``couplet`` / ``triplet`` / ``run``: 2, 3, and >= 4 consecutive V beats (the rate over the run's R-R);
- ``bigeminy`` / ``trigeminy``: >= ``min_cycles`` cycles in a row of (N, V) / (N, N, V);
- ``pause``: an R-R of at least ``pause_s`` (intervals across unusable signal or flutter are not R-R);
- ``bradycardia`` / ``tachycardia``: the mean rate over ``rate_beats`` consecutive beats below
  ``brady_bpm`` / above ``tachy_bpm``; overlapping windows merge into one event;
- ``ventricular_flutter``: the episodes the quality stage found (no beats inside).

Q beats belong to no event: they break a sequence of V beats and a rate window rather than join it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

EVENT_COLUMNS = ["type", "start_s", "end_s", "n_beats", "rate_bpm"]
HOURLY_COLUMNS = ["hour", "start_s", "beats", "min_rate_bpm", "mean_rate_bpm", "max_rate_bpm", "S", "V", "Q", "pauses"]


@dataclass(frozen=True)
class EventRules:
    """Event thresholds (defaults as in the product's reading conventions)."""

    min_cycles: int = 3
    pause_s: float = 2.0
    brady_bpm: float = 40.0
    tachy_bpm: float = 120.0
    rate_beats: int = 8
    max_rr_s: float = 3.0  # a pause longer than this is still a pause; rate windows ignore it


def valid_intervals(time_s: np.ndarray, gaps: list) -> np.ndarray:
    """Per beat, whether the interval from the previous beat is an R-R interval: it crosses none of ``gaps``
    (dicts with ``start_s`` / ``end_s``: unusable segments, flutter episodes). The first beat has none."""
    ok = np.ones(len(time_s), dtype=bool)
    if len(time_s):
        ok[0] = False
    for g in gaps:
        a = np.searchsorted(time_s, g["start_s"])
        b = np.searchsorted(time_s, g["end_s"])
        ok[a : min(b + 1, len(ok))] = False
    return ok


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def _rate(t: np.ndarray, a: int, b: int) -> float:
    return round(60.0 * (b - 1 - a) / (t[b - 1] - t[a]), 1) if b - 1 > a and t[b - 1] > t[a] else float("nan")


def _ventricular_events(labels: np.ndarray, t: np.ndarray, ok: np.ndarray) -> list[dict]:
    v = labels == "V"
    out = []
    for a, b in _runs(v):
        cut = [a] + [i for i in range(a + 1, b) if not ok[i]] + [b]  # a gap splits a run
        for s, e in zip(cut[:-1], cut[1:]):
            n = e - s
            kind = {1: None, 2: "couplet", 3: "triplet"}.get(n, "run")
            if kind:
                out.append({"type": kind, "start_s": t[s], "end_s": t[e - 1], "n_beats": n, "rate_bpm": _rate(t, s, e)})
    return out


def _pattern_events(
    labels: np.ndarray, t: np.ndarray, ok: np.ndarray, period: int, kind: str, min_cycles: int
) -> list[dict]:
    """Cycles of (period - 1) N beats then one V, repeated: bigeminy (period 2), trigeminy (period 3)."""
    n = len(labels)
    if n < period * min_cycles:
        return []
    is_v, is_n = labels == "V", labels == "N"
    # cycle ending at beat i: beat i is V, the period-1 before it are N, and no gap inside it
    ends = is_v.copy()
    for j in range(1, period):
        ends[j:] &= is_n[:-j]
        ends[:j] = False
    for j in range(period):
        ends[j:] &= ok[: n - j] if j else ok
    cycle_ends = np.flatnonzero(ends)
    out, start = [], 0
    while start < len(cycle_ends):
        stop = start
        while stop + 1 < len(cycle_ends) and cycle_ends[stop + 1] - cycle_ends[stop] == period:
            stop += 1
        cycles = stop - start + 1
        if cycles >= min_cycles:
            a, b = cycle_ends[start] - period + 1, cycle_ends[stop] + 1
            out.append(
                {"type": kind, "start_s": t[a], "end_s": t[b - 1], "n_beats": int(b - a), "rate_bpm": _rate(t, a, b)}
            )
        start = stop + 1
    return out


def _rate_events(labels: np.ndarray, t: np.ndarray, ok: np.ndarray, rules: EventRules) -> list[dict]:
    w = rules.rate_beats
    n = len(t)
    if n < w:
        return []
    # window of w beats starting at i: all its intervals valid and no Q beat
    bad = (~ok).astype(np.int64)
    bad[0] = 0
    bad_cum = np.concatenate([[0], np.cumsum(bad)])
    q_cum = np.concatenate([[0], np.cumsum(labels == "Q")])
    starts = np.arange(n - w + 1)
    clean = (bad_cum[starts + w] - bad_cum[starts + 1] == 0) & (q_cum[starts + w] - q_cum[starts] == 0)
    span = t[starts + w - 1] - t[starts]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(span > 0, 60.0 * (w - 1) / span, np.nan)
    out = []
    with np.errstate(invalid="ignore"):
        slow, fast = clean & (rate < rules.brady_bpm), clean & (rate > rules.tachy_bpm)
    for kind, hit in (("bradycardia", slow), ("tachycardia", fast)):
        for a, b in _runs(hit):  # windows a..b-1 overlap: beats a .. b-1+w-1
            last = b - 1 + w - 1
            out.append(
                {
                    "type": kind,
                    "start_s": t[a],
                    "end_s": t[last],
                    "n_beats": int(last - a + 1),
                    "rate_bpm": _rate(t, a, last + 1),
                }
            )
    return out


def find_events(labels, time_s, gaps: list, episodes: list, rules: EventRules = EventRules()) -> pd.DataFrame:
    """All rhythm events of a labelled beat sequence, in time order (see the module docstring).

    Args:
        labels: per beat "N" / "S" / "V" / "Q".
        time_s: per beat, R-peak time in seconds (sorted).
        gaps: unusable segments and flutter episodes (``start_s`` / ``end_s``): no interval crosses them.
        episodes: ventricular-flutter episodes (``start_s``, ``end_s``).
    """
    labels = np.asarray(labels, dtype=object)
    t = np.asarray(time_s, dtype=np.float64)
    ok = valid_intervals(t, gaps)
    rows = _ventricular_events(labels, t, ok)
    rows += _pattern_events(labels, t, ok, 2, "bigeminy", rules.min_cycles)
    rows += _pattern_events(labels, t, ok, 3, "trigeminy", rules.min_cycles)
    rr = np.diff(t, prepend=np.nan)
    for i in np.flatnonzero(ok & (rr >= rules.pause_s)):
        rows.append(
            {"type": "pause", "start_s": t[i - 1], "end_s": t[i], "n_beats": 2, "rate_bpm": round(60.0 / rr[i], 1)}
        )
    rows += _rate_events(labels, t, ok, rules)
    rows += [
        {
            "type": "ventricular_flutter",
            "start_s": e["start_s"],
            "end_s": e["end_s"],
            "n_beats": 0,
            "rate_bpm": float("nan"),
        }
        for e in episodes
    ]
    table = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    if len(table):
        table[["start_s", "end_s"]] = table[["start_s", "end_s"]].astype(float).round(3)
        table = table.sort_values(["start_s", "type"], kind="stable").reset_index(drop=True)
    return table.astype({"n_beats": np.int64, "rate_bpm": float})


def hourly_table(labels, time_s, gaps: list, duration_s: float, events: pd.DataFrame) -> pd.DataFrame:
    """One row per started hour: beats, min / mean / max rate (of the minute rates: beats per minute over
    each minute's valid R-R), S, V and Q beats, pauses."""
    labels = np.asarray(labels, dtype=object)
    t = np.asarray(time_s, dtype=np.float64)
    ok = valid_intervals(t, gaps)
    rr = np.diff(t, prepend=np.nan)
    good = ok & (rr < EventRules.max_rr_s) & (labels != "Q")
    minute = (t // 60).astype(np.int64)
    per_min = pd.DataFrame({"minute": minute[good], "rr": rr[good]}).groupby("minute")["rr"].mean()
    minute_rate = 60.0 / per_min
    hours = int(np.ceil(duration_s / 3600.0)) if duration_s > 0 else 0
    hour_of = (t // 3600).astype(np.int64)
    pauses = events.loc[events["type"] == "pause", "end_s"].to_numpy() if len(events) else np.zeros(0)
    rows = []
    for h in range(hours):
        rates = minute_rate[(minute_rate.index // 60) == h]
        own = labels[hour_of == h]
        rows.append(
            {
                "hour": h,
                "start_s": 3600.0 * h,
                "beats": int(len(own)),
                "min_rate_bpm": round(float(rates.min()), 1) if len(rates) else float("nan"),
                "mean_rate_bpm": round(float(rates.mean()), 1) if len(rates) else float("nan"),
                "max_rate_bpm": round(float(rates.max()), 1) if len(rates) else float("nan"),
                "S": int((own == "S").sum()),
                "V": int((own == "V").sum()),
                "Q": int((own == "Q").sum()),
                "pauses": int(((pauses // 3600) == h).sum()),
            }
        )
    return pd.DataFrame(rows, columns=HOURLY_COLUMNS)
