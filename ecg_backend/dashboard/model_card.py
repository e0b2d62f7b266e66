"""Arrange the detector's model card (the bundle's ``model.json``) into page sections.

The card is produced by training and evaluation and grows over time, so nothing here assumes a key
exists: known keys go into named sections in a fixed order, anything else lands in "Other details".
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# (section title, card keys it shows). A key may sit at the top level or under "metrics".
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Architecture", ("architecture", "n_members")),
    ("Training data", ("data", "training")),
    ("TEST metrics", ("metrics", "test_metrics", "evaluation")),
    ("Ablation", ("ablation",)),
    ("Threshold and calibration", ("threshold", "calibration", "reliability", "scoring")),
)
# Bundle bookkeeping, not model facts; the ROC curve is drawn as a chart instead of listed.
_HIDDEN = {"format", "files", "roc_curve"}
_OVERVIEW = ("name", "untrained", "seed", "created_at", "trained_at")


def card_sections(card: Mapping[str, Any] | None) -> dict:
    """Split a card into ``overview`` (flat facts), ``sections`` [(title, {key: value})] and ``other``."""
    card = dict(card or {})
    metrics = card.get("metrics")
    if isinstance(metrics, Mapping) and "ablation" in metrics and "ablation" not in card:
        metrics = dict(metrics)
        card["ablation"] = metrics.pop("ablation")
        card["metrics"] = metrics
    used = set(_HIDDEN) | set(_OVERVIEW)
    sections = []
    for title, keys in SECTIONS:
        content = {key: card[key] for key in keys if key in card and card[key] not in (None, {}, [])}
        used.update(keys)
        if content:
            sections.append((title, content))
    overview = {key: card[key] for key in _OVERVIEW if key in card}
    other = {key: value for key, value in card.items() if key not in used}
    return {"overview": overview, "sections": sections, "other": other}


def is_table(value: Any) -> bool:
    """A non-empty list of dicts: drawn as a table with one column per key."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def is_keyed_table(value: Any) -> bool:
    """A mapping of two or more mappings of scalars (per-class metrics): one table row per key."""
    return (isinstance(value, Mapping) and len(value) >= 2 and all(
        isinstance(row, Mapping) and row and not any(isinstance(v, (Mapping, list)) for v in row.values())
        for row in value.values()))


def keyed_rows(value: Mapping) -> list[dict]:
    """``{"normal": {"f1": .9}}`` -> ``[{"": "normal", "f1": .9}]`` for a table with a leading key column."""
    return [{"": key, **row} for key, row in value.items()]


def table_columns(rows: list[Mapping]) -> list[str]:
    """Union of the rows' keys, in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    return columns


def fmt(value: Any) -> str:
    """Short human text for a scalar: 4 significant digits for floats, yes/no for booleans."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0
    if value is None:
        return "—"
    if isinstance(value, list):
        shown = ", ".join(fmt(v) for v in value[:8])
        return f"[{shown}{', …' if len(value) > 8 else ''}] ({len(value)} values)" if len(value) > 8 else f"[{shown}]"
    return str(value)


def label(key: Any) -> str:
    """``roc_auc`` -> ``ROC AUC``, ``n_members`` -> ``N members``."""
    text = str(key).replace("_", " ").strip()
    words = [w.upper() if w.lower() in {"roc", "auc", "pr", "f1", "cnn", "lstm", "mse", "sha256", "oof", "tpr",
                                          "fpr", "ppv", "npv", "id", "ece"} else w for w in text.split(" ")]
    joined = " ".join(words)
    return joined[:1].upper() + joined[1:]
