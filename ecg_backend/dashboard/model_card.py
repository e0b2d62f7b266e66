"""Arrange the detector's model card into page sections: the written card's opening (intended use,
limits, figures, from docs/MODEL_CARD.md) and the bundle's ``model.json``.

``model.json`` is produced by training and evaluation and grows over time, so nothing here assumes a key
exists: known keys go into named sections in a fixed order, anything else lands in "Other details".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

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
    return (
        isinstance(value, Mapping)
        and len(value) >= 2
        and all(
            isinstance(row, Mapping) and row and not any(isinstance(v, (Mapping, list)) for v in row.values())
            for row in value.values()
        )
    )


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
    words = [
        w.upper()
        if w.lower()
        in {"roc", "auc", "pr", "f1", "cnn", "lstm", "mse", "sha256", "oof", "tpr", "fpr", "ppv", "npv", "id", "ece"}
        else w
        for w in text.split(" ")
    ]
    joined = " ".join(words)
    return joined[:1].upper() + joined[1:]


# ---------------------------------------------------------------- the written card's opening
# docs/MODEL_CARD.md starts with what a clinician needs first (intended use, what the model learned
# from, the figures); the page shows those sections, up to the first section of training details.
CARD_PATH = Path(__file__).resolve().parents[2] / "docs" / "MODEL_CARD.md"
OPENING_ENDS_AT = "Data"


@dataclass(frozen=True)
class CardBlock:
    """One block of a card section: ``kind`` "p" (``items`` = [text]), "ul" (one text per item) or "table"
    (``items`` = rows of cells, the first row the header). Texts are safe HTML (escaped, then bold,
    italics and code marked up)."""

    kind: str
    items: list


def inline(text: str) -> Markup:
    """Escape ``text``, then turn Markdown's **bold**, *italics* and `code` into tags."""
    html = str(escape(text))
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    html = re.sub(r"\*(\S(?:.*?\S)?)\*", r"<em>\1</em>", html)
    return Markup(html)  # nosec B704: built from escaped text plus our own tags


def _blocks(lines: list[str]) -> list[CardBlock]:
    blocks: list[CardBlock] = []
    for chunk in "\n".join(lines).split("\n\n"):
        rows = [row for row in chunk.splitlines() if row.strip()]
        if not rows or rows[0].startswith("```"):
            continue
        if rows[0].startswith("|"):
            cells = [
                [inline(c.strip()) for c in row.strip().strip("|").split("|")]
                for row in rows
                if not set(row.replace("|", "").strip()) <= {"-", ":", " "}
            ]
            blocks.append(CardBlock("table", cells))
        elif rows[0].startswith(("* ", "- ")):
            items: list[str] = []
            for row in rows:
                if row.startswith(("* ", "- ")):
                    items.append(row[2:].strip())
                elif items:
                    items[-1] += " " + row.strip()
            blocks.append(CardBlock("ul", [inline(item) for item in items]))
        else:
            blocks.append(CardBlock("p", [inline(" ".join(row.strip() for row in rows))]))
    return blocks


def card_opening(text: str) -> list[tuple[str, list[CardBlock]]]:
    """The sections of a Markdown card before the one titled ``OPENING_ENDS_AT``: [(title, blocks)]."""
    sections: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            if title == OPENING_ENDS_AT:
                break
            sections.append((title, []))
        elif sections:
            sections[-1][1].append(line)
    return [(title, _blocks(lines)) for title, lines in sections]


@lru_cache(maxsize=1)
def shipped_card_opening() -> list[tuple[str, list[CardBlock]]]:
    """The opening of docs/MODEL_CARD.md, read once per process ([] when the file is not deployed)."""
    try:
        return card_opening(CARD_PATH.read_text(encoding="utf-8"))
    except OSError:
        return []
