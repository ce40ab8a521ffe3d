"""Loose ends of the bad-input sweep (tests/test_app_bad_input.py): a checkpoint that fails to load on Compare, the
disagreements toggle across sets, Word attention's special tokens, CAHAN's context on one sentence, model names on
the Document page, the app's own advice for data that is not the checkpoint's, and a review of numbers only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from han.checkpoint.files import discover

from .conftest import DATA, ROOT
from .test_app import REVIEW, run
from .test_app_bad_input import OTHER, copy_set, messages, no_last_resort

YELP_OPEN = DATA / "yelp" / "yelp_open_5k.csv.gz"  # one of the Yelp models' two training files: not their data


def break_model_size(checkpoint: Path) -> None:
    """config.json's word GRU size no longer that of the weights: the files pass the set's checks (which read no
    tensor), loading fails. (A vocab_size changed the same way is caught by those checks, against vocab.txt.)"""
    config = json.loads((checkpoint / "config.json").read_text())
    config["model"]["word_hidden"] = 51
    (checkpoint / "config.json").write_text(json.dumps(config))


def test_compare_names_a_checkpoint_that_fails_to_load_and_compares_the_others(tmp_path):
    folder = copy_set(tmp_path, "att", "ave", "max")
    break_model_size(folder / "max")
    at = run("compare", set_choice=OTHER, custom_folder=str(folder))
    no_last_resort(at)
    assert len(at.error) == 1, messages(at)
    said = at.error[0].value
    assert "HN-MAX" in said and str(folder / "max") in said and "copy the whole checkpoint folder again" in said
    assert [h.value.split(":")[0] for h in at.subheader if ":" in h.value] == ["HN-AVE", "HN-ATT"]  # side by side
    ours = at.dataframe[0].value.set_index("model")["ours (test, %)"]
    assert ours.notna().to_dict() == {"HN-AVE": True, "HN-MAX": False, "HN-ATT": True}


def test_the_disagreements_toggle_is_off_again_in_another_set(tmp_path):
    first, second = copy_set(tmp_path / "a", "att", "ave"), copy_set(tmp_path / "b", "att", "max")
    at = run("compare", set_choice=OTHER, custom_folder=str(first))
    at.toggle(key="find_disagreements").set_value(True).run()
    assert len(at.dataframe) == 2  # the accuracy table, then the disagreements asked for
    at.sidebar.text_input(key="custom_folder").input(str(second)).run()
    no_last_resort(at)
    assert at.toggle(key="find_disagreements").value is False
    assert len(at.dataframe) == 1  # no run of every model over the new set's test split, unasked


def test_word_attention_says_unk_pools_every_unknown_word_and_never_shows_pad():
    at = run("words", word_a="<unk>", word_b="good")
    no_last_resort(at)
    assert any("every word outside the model's vocabulary, pooled" in i.value for i in at.info), messages(at)
    assert len(at.get("plotly_chart")) == 2
    at.text_input(key="word_a").input("<PAD>").run()
    no_last_resort(at)
    assert any('"<pad>" is the padding' in w.value for w in at.warning), messages(at)
    assert "<pad>" not in at.dataframe[0].value.columns and "good" in at.dataframe[0].value.columns
    at.text_input(key="word_b").input("").run()
    assert not at.get("plotly_chart") and not at.dataframe


def test_cahan_context_effect_of_one_sentence_says_there_is_no_context():
    at = run("document", variant="cahan-bi-sum", doc_source="Paste text", doc_text="The pasta was perfect.")
    no_last_resort(at)
    label = at.expander[0].label
    assert "one sentence" in label and "0.000" not in label, label
    assert any("no other sentences" in c.value for c in at.caption)
    at.text_area(key="doc_text").input(REVIEW)
    at.button[0].click().run()
    assert at.expander[0].label.startswith("Context effect: mean total variation")


def test_document_names_the_model_with_its_folder_where_two_share_a_name(tmp_path):
    folder = tmp_path / "seeds"
    for seed in ("seed-1", "seed-2"):  # two seeds of HN-ATT, each in a folder of its own
        shutil.copytree(ROOT / "assets" / "yelp" / "att", folder / seed)
    at = run("document", set_choice=OTHER, custom_folder=str(folder))
    models = at.sidebar.radio(key="variant")
    assert models.index is not None and at.metric[0].label == f"{models.options[models.index]} predicts"
    assert "(seed-" in at.metric[0].label
    other = next(key for key in discover(folder, []) if key != models.value)  # the other seed's
    models.set_value(other).run()
    assert at.metric[0].label == f"{models.options[models.index]} predicts" and "(seed-" in at.metric[0].label


def not_its_data(at) -> str:
    no_last_resort(at)
    said = " ".join(messages(at))
    assert "is not the data this checkpoint was trained on" in said, said
    assert "han evaluate" not in said and "--max-docs" not in said  # the CLI's words, not the app's
    return said


def test_data_not_the_checkpoints_says_what_to_do_in_the_app():
    at = run("document", data_override=str(YELP_OPEN))
    at.radio(key="doc_source").set_value("Test document").run()
    assert "'Data files for test documents' in the sidebar" in not_its_data(at)
    at.text_input(key="data_override").input("").run()  # as said: cleared, the recorded data
    assert not at.error and at.metric
    at = run("words", recompute_paths=str(YELP_OPEN), recompute_sample=20)
    at.button[0].click().run()
    assert "'Data file(s)' above" in not_its_data(at)


def test_the_cli_still_gives_its_own_advice_for_data_not_the_checkpoints():
    from han.data.dataset import read_like
    from han.errors import HanError

    config = json.loads((ROOT / "assets" / "yelp" / "att" / "config.json").read_text())
    with pytest.raises(HanError, match="`han evaluate` without --split scores any data"):
        read_like(config, [YELP_OPEN], splits=("test",))


@pytest.mark.parametrize("text", ["12345", "12345 678 90.5", "1/5 - 3/10 !!!"])
def test_a_review_of_numbers_only_is_not_asked_whether_it_is_another_language(text):
    at = run("document", doc_source="Paste text", doc_text=text)
    no_last_resort(at)
    warned = [w.value for w in at.warning]
    assert not any("another language" in w for w in warned), warned
    assert any("no words with letters" in w for w in warned), warned
    assert at.metric  # still explained, with the caveat


def test_numbers_do_not_count_towards_the_other_language_caveat():
    import han

    model = han.load(ROOT / "assets" / "yelp" / "att")
    # an English review with more numbers (all unknown) than words: its words are known, nothing to warn of
    assert model.explain("Great pasta: 555 1234 9999 87654 31337.")["warnings"] == []
    german = model.explain("Das Essen war kalt und der Kellner unfreundlich, 2 von 10.")["warnings"]
    assert len(german) == 1 and "another language" in german[0]
