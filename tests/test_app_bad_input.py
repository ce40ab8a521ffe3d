"""Realistic mistakes in the Streamlit app, driven by AppTest on copies of the shipped demo checkpoints: each must
get a clear message saying what to do, the rest of the page still working, never the generic last resort."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import han

from .conftest import ROOT
from .test_app import YELP_MODELS, first_example, run

YELP = ROOT / "assets" / "yelp"
OTHER = "Another checkpoint folder..."


def copy_set(tmp_path: Path, *variants: str, source: Path = YELP) -> Path:
    """A set of copies of shipped checkpoints (each in a folder of its name), to damage without harm."""
    folder = tmp_path / "set"
    for variant in variants:
        shutil.copytree(source / variant, folder / variant)
    return folder


def messages(at) -> list[str]:
    return [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]


def no_last_resort(at) -> None:
    """The generic message of ui.guard is for the unforeseen: a realistic mistake must not reach it."""
    assert not at.exception and not [e for e in at.error if "Something went wrong" in e.value], messages(at)


@pytest.mark.parametrize(
    "content, says",
    [
        ('{"n": 1000, "word": {"aopc"', "not valid JSON"),  # a copy cut short
        ("[]", "expected a JSON object"),
        ("{}", "no 'n' in it"),  # from another han version, or hand-edited
    ],
)
def test_faithfulness_file_unreadable_is_said_for_that_model_and_the_others_still_shown(tmp_path, content, says):
    folder = copy_set(tmp_path, "att", "ave")
    (folder / "ave" / "faithfulness.json").write_text(content)
    at = run("faithfulness", set_choice=OTHER, custom_folder=str(folder))
    no_last_resort(at)
    assert [h.value for h in at.header] == ["HN-AVE", "HN-ATT"]
    assert len(at.error) == 1 and says in at.error[0].value and "--overwrite" in at.error[0].value
    assert str(folder / "ave" / "faithfulness.json") in at.error[0].value
    assert len(at.get("plotly_chart")) == 3  # HN-ATT's figures: word AOPC, sentence AOPC, polarity


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_metrics_file_missing_leaves_the_model_usable_and_says_so(tmp_path, damage):
    folder = copy_set(tmp_path, "att", "ave")
    metrics = folder / "ave" / "metrics.json"
    metrics.unlink() if damage == "missing" else metrics.write_text('{"test_accuracy": 0.5')
    at = run("home", set_choice=OTHER, custom_folder=str(folder))
    no_last_resort(at)
    assert "nan%" not in [m.value for m in at.metric] and "not recorded" in [m.value for m in at.metric]
    assert any(str(metrics) in w.value for w in at.warning)
    at = run("compare", set_choice=OTHER, custom_folder=str(folder))
    no_last_resort(at)
    table = at.dataframe[0].value
    assert table.set_index("model").loc["HN-ATT", "ours (test, %)"] > 0  # HN-ATT's still there
    assert table.set_index("model")["ours (test, %)"].isna()["HN-AVE"]
    assert any("HN-AVE: no test results recorded" in i.value for i in at.info)
    assert sum("test confusion" in str(c.proto.spec) for c in at.get("plotly_chart")) == 1  # HN-ATT's


DAMAGES = {  # one checkpoint of a set damaged: what its message must say
    "corrupt weights": (lambda c: (c / "model.safetensors").write_bytes(b"not safetensors"), "model.safetensors"),
    "truncated config": (lambda c: (c / "config.json").write_text('{"format": "han-'), "not valid JSON"),
    "no vocabulary": (lambda c: (c / "vocab.txt").unlink(), "missing vocab.txt; copy the whole checkpoint folder"),
    "another vocabulary": (  # a word more than the weights have rows for: every page would trip on it later
        lambda c: (c / "vocab.txt").write_text((c / "vocab.txt").read_text(encoding="utf-8") + "zzqx\n"),
        "are not of one checkpoint",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
@pytest.mark.parametrize("page", ["home", "document", "words", "compare", "faithfulness"])
def test_one_damaged_checkpoint_is_named_and_the_rest_of_the_set_still_works(tmp_path, damage, page):
    folder = copy_set(tmp_path, "att", "max")
    make, says = DAMAGES[damage]
    make(folder / "max")
    at = run(page, set_choice=OTHER, custom_folder=str(folder))
    no_last_resort(at)
    assert len(at.error) == 1 and says in at.error[0].value and str(folder / "max") in at.error[0].value
    assert "Left out of the set" in at.error[0].value
    shown = {
        "home": lambda: [h.value for h in at.subheader] == ["HN-ATT"],
        "document": lambda: at.metric[0].label == "HN-ATT predicts",
        "words": lambda: len(at.get("plotly_chart")) == 2,
        "compare": lambda: list(at.dataframe[0].value["ours (test, %)"].notna()) == [False, False, True],
        "faithfulness": lambda: [h.value for h in at.header] == ["HN-ATT"],
    }
    assert shown[page](), page


def test_a_file_instead_of_a_folder_says_which_folder_to_give():
    at = run("home", set_choice=OTHER, custom_folder=str(YELP / "att" / "config.json"))
    no_last_resort(at)
    assert at.error and "is a file: give the checkpoint folder that holds it" in at.error[0].value
    assert str(YELP / "att") + ")" in at.error[0].value


def test_two_checkpoints_of_one_setting_are_told_apart_by_their_folder(tmp_path):
    folder = tmp_path / "seeds"
    for seed in ("seed-1", "seed-2"):  # e.g. two seeds of HN-ATT, trained into folders of their own
        shutil.copytree(YELP / "att", folder / seed)
    at = run("home", set_choice=OTHER, custom_folder=str(folder))
    assert [h.value for h in at.subheader] == ["HN-ATT (seed-1)", "HN-ATT (seed-2)"]
    at = run("document", set_choice=OTHER, custom_folder=str(folder))
    assert at.sidebar.radio(key="variant").options == ["HN-ATT (seed-1)", "HN-ATT (seed-2)"]
    at = run("compare", set_choice=OTHER, custom_folder=str(folder))
    no_last_resort(at)
    assert list(at.dataframe[0].value["model"])[2:] == ["HN-ATT (seed-1)", "HN-ATT (seed-2)"]
    at = run("faithfulness", set_choice=OTHER, custom_folder=str(folder))
    assert [h.value for h in at.header] == ["HN-ATT (seed-1)", "HN-ATT (seed-2)"]


def test_compare_refuses_checkpoints_of_different_data_and_says_which(tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(YELP / "att", folder / "yelp-att")
    shutil.copytree(ROOT / "assets" / "imdb" / "att", folder / "imdb-att")
    at = run("compare", set_choice=OTHER, custom_folder=str(folder))
    no_last_resort(at)
    assert at.error and "not trained on the same data" in at.error[0].value
    assert "HN-ATT (yelp-att): classes 1/2/3/4/5" in at.error[0].value and "aclImdb_v1.tar.gz" in at.error[0].value
    assert not at.dataframe  # no table that would put the Yelp model under the paper's IMDB figure
    at = run("document", set_choice=OTHER, custom_folder=str(folder))  # each on its own: still fine
    assert not at.error and at.metric


@pytest.mark.parametrize("typed", ["/no/such/yelp_10k.csv.gz", " ; "])
def test_a_data_location_not_found_is_said_not_silently_ignored(typed):
    at = run("document", data_override=typed)
    assert "Test document" not in at.radio(key="doc_source").options
    assert at.error and "not found. Check the path" in at.error[0].value
    assert (typed.strip(" ;") or "no file name") in at.error[0].value
    assert at.metric  # the example review is still explained
    at.text_input(key="data_override").input("").run()
    assert not at.error and "Test document" in at.radio(key="doc_source").options


@pytest.mark.parametrize("page, key", [("document", "head"), ("words", "stats_head")])
def test_a_head_chosen_for_one_model_is_not_carried_to_another_models_heads(page, key):
    at = run(page, variant="att-2h-c0.1")
    at.sidebar.radio(key=key).set_value(1).run()  # "head 2" of the two-head HN-ATT
    assert at.sidebar.radio(key=key).value == 1
    at.sidebar.radio(key="variant").set_value("cahan-bi-sum").run()  # its passes: context before, after
    no_last_resort(at)
    assert at.sidebar.radio(key=key).value is None  # the mean, not "context after" unasked
    at.sidebar.radio(key="variant").set_value("att").run()  # one head: no picker
    at.sidebar.radio(key="variant").set_value("cahan-bi-sum").run()
    at.sidebar.radio(key=key).set_value(0).run()
    at.sidebar.radio(key="variant").set_value("att").run()
    at.sidebar.radio(key="variant").set_value("cahan-bi-sum").run()
    assert at.sidebar.radio(key=key).value == 0  # the same model's choice is still remembered


@pytest.mark.parametrize(
    "typed, says",
    [
        ("good food", "read by the model as 2 tokens (good food): enter one of them"),
        ("Don't", "read by the model as 2 tokens (do n't)"),
        ("good,", "read by the model as 2 tokens (good ,)"),
        ("zzzzqx", "is not in the model's vocabulary"),
    ],
)
def test_word_attention_says_why_an_entry_has_no_statistics(typed, says):
    at = run("words", word_a=typed, word_b="")
    no_last_resort(at)
    assert any(says in w.value for w in at.warning), messages(at)
    at.text_input(key="word_a").input("good").run()
    assert not at.warning and len(at.get("plotly_chart")) == 2


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 cut short"])
def test_unreadable_word_statistics_say_how_to_make_them_again(tmp_path, content):
    folder = copy_set(tmp_path, "att")
    (folder / "att" / "word_stats.npz").write_bytes(content)
    at = run("words", set_choice=OTHER, custom_folder=str(folder))
    no_last_resort(at)
    shown = " ".join(messages(at))
    assert "not a readable word-statistics file" in shown and "Recompute them from a data set above" in shown
    assert at.text_input(key="recompute_paths").value  # the recompute form is there to do it


def test_recompute_paths_follow_the_model_not_the_set_before():
    at = run("words")
    assert "yelp_10k" in str(at.text_input(key="recompute_paths").value)
    at.sidebar.selectbox(key="set_choice").set_value("IMDB reviews (1-10)").run()
    no_last_resort(at)
    assert "aclImdb" in str(at.text_input(key="recompute_paths").value)  # not the Yelp files, which it would refuse


def test_a_folder_of_sets_names_the_sets_to_give():
    at = run("home", set_choice=OTHER, custom_folder=str(ROOT / "assets"))  # one level too high
    no_last_resort(at)
    assert at.error and "its sub-folders imdb, yelp hold checkpoints: give one of them" in at.error[0].value


def test_an_empty_upload_says_which_file_and_what_to_do():
    at = run("document")
    at.radio(key="doc_source").set_value("Upload .txt").run()
    at.file_uploader[0].set_value(("notes.txt", b"", "text/plain")).run()
    no_last_resort(at)
    assert at.error and "notes.txt is empty: upload a text file with a review in it" in at.error[0].value


@pytest.mark.parametrize("typed", ["", "~/yelp/yelp_10k.csv.gz; ~/yelp/yelp_open_5k.csv.gz"])
def test_recompute_finds_the_data_from_anywhere(tmp_path, monkeypatch, typed):
    """Streamlit started from another folder, the field cleared (the recorded data) or with ~ in the paths."""
    from .conftest import DATA

    monkeypatch.chdir(tmp_path)  # recorded paths (../shared/data/...) are relative to the project, not here
    monkeypatch.setenv("HOME", str(DATA))
    at = run("words")
    at.text_input(key="recompute_paths").input(typed)
    at.number_input(key="recompute_sample").set_value(20)
    at.button[0].click().run()
    no_last_resort(at)
    assert not at.error and any("20 documents" in s.value for s in at.success), messages(at)


@pytest.mark.parametrize("typed", ['"{yelp}"', "'{yelp}'  ", "assets/yelp", " ~/yelp "])
def test_checkpoint_folder_as_pasted_quoted_relative_or_with_tilde(tmp_path, monkeypatch, typed):
    monkeypatch.chdir(tmp_path)  # streamlit started from another folder: assets/yelp is the project's
    monkeypatch.setenv("HOME", str(ROOT / "assets"))
    at = run("home", set_choice=OTHER, custom_folder=typed.format(yelp=YELP))
    no_last_resort(at)
    assert not at.error and len(at.subheader) == len(YELP_MODELS), messages(at)


def test_data_location_pasted_with_quotes():
    from .conftest import DATA

    typed = " ; ".join(f'"{DATA / "yelp" / name}"' for name in ("yelp_10k.csv.gz", "yelp_open_5k.csv.gz"))
    at = run("document", data_override=typed)
    assert not at.error and "Test document" in at.radio(key="doc_source").options


HAND_EDITS = {  # config.json edited by hand: what the message must say (every page)
    "model not an object": (lambda c: c.update(model="att"), "'model' must be an object of settings"),
    "unknown variant": (lambda c: c["model"].update(variant="lstm"), "names model variant 'lstm'"),
}


@pytest.mark.parametrize("edit", list(HAND_EDITS))
@pytest.mark.parametrize("page", ["home", "document", "words", "compare", "faithfulness"])
def test_a_hand_edited_config_is_named_with_its_fault(tmp_path, edit, page):
    folder = copy_set(tmp_path, "att")
    change, says = HAND_EDITS[edit]
    config = json.loads((folder / "att" / "config.json").read_text())
    change(config)
    (folder / "att" / "config.json").write_text(json.dumps(config))
    at = run(page, set_choice=OTHER, custom_folder=str(folder / "att"))
    no_last_resort(at)
    assert at.error and says in at.error[0].value and str(folder / "att" / "config.json") in at.error[0].value


@pytest.mark.parametrize("edit", ["labels as numbers", "a source without its path"])
def test_a_hand_edited_config_the_model_still_loads_from_is_shown(tmp_path, edit):
    folder = copy_set(tmp_path, "att")
    config = json.loads((folder / "att" / "config.json").read_text())
    if edit == "labels as numbers":
        config["labels"] = [1, 2, 3, 4, 5]
    else:
        del config["data"]["sources"][1]["path"]
    (folder / "att" / "config.json").write_text(json.dumps(config))
    for page in ("home", "document"):
        at = run(page, set_choice=OTHER, custom_folder=str(folder))
        no_last_resort(at)
        assert not at.error, (page, messages(at))
        if page == "home":  # the card shows the edited values as they are, the rest as recorded
            assert [h.value for h in at.subheader] == ["HN-ATT"]
            card = "".join(m.value for m in at.markdown)
            assert "**Classes:** 1, 2, 3, 4, 5  \n" in card
            data = "yelp_10k.csv.gz, yelp_open_5k.csv.gz" if edit == "labels as numbers" else "yelp_10k.csv.gz, ?"
            assert f"**Data:** {data}  \n" in card  # a source without its path: unknown, the other by name
            recorded = json.loads((folder / "att" / "metrics.json").read_text())["test_accuracy"]
            assert at.metric[0].label == "Test accuracy" and at.metric[0].value == f"{recorded:.1%}"
        else:  # the prediction is that of the unedited model, one of the edited config's labels
            expected = han.load(YELP / "att").predict(first_example())[0]["label"]
            assert at.metric[0].label == "HN-ATT predicts" and at.metric[0].value == expected
            assert expected in [str(label) for label in config["labels"]]
