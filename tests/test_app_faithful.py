"""The app's views of attention trained to be faithful (issue 34): HN-ATT (evidence) on the Document page, with each
class's attention on view, and the Faithfulness page's comparison of what each model's heatmap carries."""

from __future__ import annotations

import json
import shutil

import han

from .conftest import ROOT
from .test_app import first_example, html_of, run


def test_document_shows_evidence_attention_and_what_its_heatmap_carries():
    """HN-ATT (evidence): its prediction is the model's, its heatmap the predicted class's weights, and the panel
    opens with the share of leave-one-out's effect from its faithfulness.json."""
    from han.app.carried import saved, sentence

    at = run("document")
    at.sidebar.radio[0].set_value("att-evidence").run()
    folder = ROOT / "assets" / "yelp" / "att-faithful"
    model = han.load(folder)
    expected = model.predict(first_example())[0]["label"]
    assert at.metric[0].label == "HN-ATT (evidence) predicts" and at.metric[0].value == expected
    shares = saved(folder)
    assert shares is not None and shares["n"] == 1000
    assert any(m.value == sentence(shares) for m in at.markdown)
    assert "the predicted class's attention weights (evidence attention)" in "".join(c.value for c in at.caption)
    # each class's evidence on view: the predicted class's by default, another class's on request
    radio = next(r for r in at.sidebar.radio if r.label == "Attention head")
    assert list(radio.options) == ["the predicted class", *(f"class {c}" for c in "12345")]
    before = html_of(at)
    other = "1" if expected != "1" else "5"
    radio.set_value(model.labels.index(other)).run()
    assert not at.exception and html_of(at) != before and at.metric[0].value == expected  # same decision


def test_faithfulness_page_compares_what_each_heatmap_carries(tmp_path):
    """The table at the top: each model's attention and leave-one-out comprehensiveness, from its own file; a file
    computed from other weights (copied over by hand) is left out of the table, not shown as that model's."""
    from han.app.carried import carried, sentence

    folder = tmp_path / "set"
    for variant in ("att", "max"):
        shutil.copytree(ROOT / "assets" / "yelp" / variant, folder / variant)
    at = run("faithfulness", set_choice="Another checkpoint folder...", custom_folder=str(folder))
    table = at.dataframe[0].value
    expected: dict[str, dict] = {}
    for variant, name in (("att", "HN-ATT"), ("max", "HN-MAX")):
        shares = carried(json.loads((folder / variant / "faithfulness.json").read_text()))
        assert shares is not None
        expected[name] = shares
    assert sorted(table["model"]) == ["HN-ATT", "HN-MAX"]
    for _, row in table.iterrows():
        shares = expected[row["model"]]
        assert row["attention"] == round(shares["attention"], 3)
        assert row["leave-one-out"] == round(shares["leave_one_out"], 3)
        assert row["share of HN-ATT's LOO"] == round(shares["attention"] / expected["HN-ATT"]["leave_one_out"], 2)
    assert 0.15 < expected["HN-ATT"]["share"] < 0.8  # the shipped HN-ATT: about half (RESULTS.md)
    assert "carries" in sentence(expected["HN-ATT"]) and f"{expected['HN-ATT']['n']:,} test reviews" in sentence(
        expected["HN-ATT"]
    )
    shutil.copy(folder / "att" / "faithfulness.json", folder / "max" / "faithfulness.json")
    at = run("faithfulness", set_choice="Another checkpoint folder...", custom_folder=str(folder))
    assert all("share of its LOO" not in d.value.columns for d in at.dataframe)  # one model left: no comparison
