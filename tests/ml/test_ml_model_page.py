"""The written model card's opening (intended use, limits, figures) on the /model page."""

from ecg_backend.dashboard import model_card

CARD = """# Model card

## Intended use

A reading aid, **not** a diagnosis: see `/model`.
Second line of the paragraph.

## Limits

* One patient (chf07),
  labelled automatically.
* <script>alert(1)</script> stays text.

| where | figure |
|---|---|
| MIT-BIH | 99.7 % |

## Data

Not part of the opening.
"""


def test_card_opening_stops_before_the_data_section():
    sections = model_card.card_opening(CARD)
    assert [title for title, _ in sections] == ["Intended use", "Limits"]
    paragraph = sections[0][1][0]
    assert paragraph.kind == "p"
    assert str(paragraph.items[0]) == (
        "A reading aid, <strong>not</strong> a diagnosis: see <code>/model</code>. Second line of the paragraph."
    )
    bullets, table = sections[1][1]
    assert bullets.kind == "ul" and str(bullets.items[0]) == "One patient (chf07), labelled automatically."
    assert str(bullets.items[1]) == "&lt;script&gt;alert(1)&lt;/script&gt; stays text."
    assert table.kind == "table" and [[str(c) for c in row] for row in table.items] == [
        ["where", "figure"],
        ["MIT-BIH", "99.7 %"],
    ]


def test_the_shipped_card_opens_with_intended_use_limits_and_figures():
    titles = [title for title, _ in model_card.shipped_card_opening()]
    assert titles[0] == "Intended use"
    assert any("what that means for your patients" in t for t in titles)
    assert "Figures at a glance" in titles
    assert "Data" not in titles and "Method" not in titles


def test_model_page_shows_the_opening_first(client, auth, clinician_a):
    auth.login(clinician_a)
    html = client.get("/model").get_data(as_text=True)
    for text in (
        "Intended use",
        "chf07",
        "BIDMC Congestive",
        "Labelled automatically",
        "Figures at a glance",
        "Long recordings (MIT-BIH)",
        "not a diagnosis",
    ):
        assert text in html, text
    assert html.index("Intended use") < html.index("Figures at a glance") < html.index("The loaded model")
    assert "<script>alert" not in html
