"""The Data set page (views/5_Data_set.py) and `han analyse`, on the shipped Yelp set and its real test split."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

import han
from han.data.dataset import checkpoint_split, read_like
from han.interpret import analysis

from .conftest import ROOT, YELP_10K

PAGE = ROOT / "views" / "5_Data_set.py"
ATT = ROOT / "assets" / "yelp" / "att"


def run_page(**state) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=600)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    """The slice's figures: its size, and each model's accuracy in % ("n/a" without gold labels)."""
    figures = {"Documents": at.metric[0].value}
    if len(at.dataframe) > 1:  # the accuracy table, then the documents' table
        for model, value in zip(at.dataframe[0].value["model"], at.dataframe[0].value["accuracy"], strict=True):
            figures[f"{model} accuracy"] = "n/a" if pd.isna(value) else f"{value:.1f}%"
    return figures


def documents_table(at: AppTest) -> pd.DataFrame:
    return at.dataframe[-1].value


@pytest.fixture(scope="module")
def att_truth() -> pd.DataFrame:
    """HN-ATT's predictions on the test split, by Classifier.predict_examples (not through the page's code)."""
    model = han.load(ATT)
    examples = checkpoint_split(model.config, read_like(model.config, splits=("test",), directory=ATT), "test", ATT)
    texts = [e.plain_text(sentence_separator="\n") for e in examples]
    return pd.DataFrame(
        {"gold": [e.label for e in examples], "predicted": model.predict_examples(examples), "text": texts}
    )


def test_slice_figures_equal_a_pandas_filter_of_the_same_predictions(att_truth):
    at = run_page(dataset_model="att")
    assert metrics(at)["Documents"] == f"{len(att_truth):,}"
    at.multiselect(key="f_gold").set_value(["1", "2"])
    at.radio(key="f_outcome").set_value("wrong").run()
    assert not at.exception
    expected = att_truth[att_truth.gold.isin(["1", "2"]) & (att_truth.predicted != att_truth.gold)]
    assert metrics(at)["Documents"] == f"{len(expected):,}"
    assert metrics(at)["HN-ATT accuracy"] == "0.0%"  # wrong ones only
    shown = documents_table(at)
    assert list(shown.index) == list(expected.index) and list(shown["HN-ATT"]) == list(expected.predicted)
    at.radio(key="f_outcome").set_value("all")
    at.text_input(key="f_contains").input("Service").run()  # any case
    expected = att_truth[att_truth.gold.isin(["1", "2"]) & att_truth.text.str.lower().str.contains("service")]
    right = (expected.predicted == expected.gold).mean()
    assert metrics(at)["Documents"] == f"{len(expected):,}" and metrics(at)["HN-ATT accuracy"] == f"{100 * right:.1f}%"
    confusion = at.get("plotly_chart")[-1].proto.spec  # the confusion matrix of the slice, rows gold
    table = pd.crosstab(expected.gold, expected.predicted).reindex(index=list("12345"), columns=list("12345"))
    assert str(table.fillna(0).astype(int).values.tolist()).replace(" ", "") in confusion.replace(" ", "")


def test_a_selection_on_the_map_filters_the_table_and_the_figures():
    at = run_page(dataset_model="att")
    at.session_state["dataset_map"] = {"selection": {"points": [{"customdata": d} for d in (7, 3, 42)]}}
    at.run()
    assert not at.exception
    assert list(documents_table(at).index) == [3, 7, 42] and metrics(at)["Documents"] == "3"


def test_the_csv_download_holds_the_filtered_rows(att_truth):
    at = run_page(dataset_model="att")
    at.multiselect(key="f_gold").set_value(["5"])
    at.radio(key="f_outcome").set_value("correct").run()
    shown = documents_table(at)
    expected = att_truth[(att_truth.gold == "5") & (att_truth.predicted == "5")]
    assert list(shown.index) == list(expected.index)
    url = next(b.proto.url for b in at.get("download_button") if "slice" in b.proto.label)
    assert url.rsplit("/", 1)[1] == _calculate_file_id(shown.to_csv().encode(), "text/csv", "han-slice.csv") + ".csv"


def test_a_row_opens_the_document_page_on_that_document(att_truth):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    at.switch_page("views/5_Data_set.py").run()
    assert not at.exception and at.title[0].value == "Data set"
    at.radio(key="f_outcome").set_value("wrong").run()
    shown = documents_table(at)
    doc = int(shown.index[4])  # the fifth row of the slice
    at.session_state["dataset_table"] = {"selection": {"rows": [4], "columns": [], "cells": []}}
    at.run()
    at.button[0].click().run()  # "Open document ... in the Document page"
    assert not at.exception and at.title[0].value == "Document"
    assert at.number_input(key="doc_test").value == doc
    assert any(m.value == f"Gold rating: **{att_truth.gold[doc]}**" for m in at.markdown)
    body = "".join(h.proto.body for h in at.get("html"))
    words = [w for w in att_truth.text[doc].split() if w.isalpha() and len(w) > 5][:3]
    assert words and all(w in body for w in words)


def test_a_file_without_labels_an_empty_filter_and_another_models_classes(tmp_path):
    at = run_page(dataset_model="att", dataset_source="A file of reviews")
    assert any("Upload a file" in i.value for i in at.info)
    reviews = b"text\nThe pasta was perfect and the staff lovely.\nCold soup, rude waiter, never again.\nFine.\n"
    at.sidebar.file_uploader[0].set_value(("mine.csv", reviews, "text/csv")).run()
    assert not at.exception and not at.error
    assert any("no gold labels" in i.value for i in at.info)
    assert metrics(at) == {"Documents": "3"} and len(at.dataframe) == 1  # no accuracy table
    at.text_input(key="f_contains").input("zzqx-not-there").run()
    assert not at.exception and any("No document matches" in w.value for w in at.warning)
    other = b"text,label\nGreat film.,9\nAwful film.,1\n"  # IMDB's 1-10 ratings: 9 is no Yelp class
    at.sidebar.file_uploader[0].set_value(("imdb.csv", other, "text/csv")).run()
    assert not at.exception and any("not among the checkpoint's labels" in e.value for e in at.error)


def test_han_analyse_writes_what_the_page_reads_and_refuses_bad_output(tmp_path):
    out = tmp_path / "a.npz"
    command = [sys.executable, "-m", "han", "analyse", "--checkpoint", str(ATT), "--data", str(YELP_10K)]
    options = ["--max-docs", "30", "--loo", "5", "--out", str(out), "--quiet"]
    done = subprocess.run([*command, *options], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = analysis.load(out)
    assert len(result.index) == 30 and result.meta["loo_documents"] == 5 and (result.loo_position[5:] == -1).all()
    assert result.coordinates.shape == (30, 2) and np.isfinite(result.coordinates).all()
    model = han.load(ATT)
    examples = analysis.read_file(YELP_10K, max_docs=30)
    assert [model.labels[i] for i in result.predicted] == model.predict_examples(examples)
    for bad, says in (
        (["--max-docs", "5", "--out", str(out)], "exists; give --overwrite"),
        (["--max-docs", "5", "--out", str(tmp_path / "a.txt")], "ending in .npz"),
        (["--split", "test", "--out", str(tmp_path / "b.npz")], "not the data this checkpoint was trained on"),
        (["--max-docs", "5"], "give --out"),
    ):
        done = subprocess.run([*command, *bad], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, (bad, done.stderr)


@pytest.mark.parametrize("folder", ["att", "ave", "max", "att-faithful", "att-2h", "cahan"])
def test_shipped_analysis_files_are_of_their_weights_and_give_their_recorded_accuracy(folder):
    import json

    from han.checkpoint.files import weights_digest

    path = ROOT / "assets" / "yelp" / folder
    result = analysis.load(path / "analysis-test.npz")
    assert result.meta["model_sha256"] == weights_digest(path) and len(result.index) == 1500
    accuracy = (result.predicted == [result.labels.index(g) for g in result.gold]).mean()
    assert accuracy == pytest.approx(json.loads((path / "metrics.json").read_text())["test_accuracy"], abs=1e-9)
    assert result.meta["loo_documents"] == (300 if folder == "cahan" else 1500)  # scripts/train_demo.sh


def test_a_large_slice_is_sampled_for_the_map_and_said_so():
    from han.app import dataset as ds

    rows = pd.DataFrame({"review": ["r"] * (ds.MAP_LIMIT + 500)})
    drawn, sampled = ds.map_rows(rows)
    assert sampled and len(drawn) == ds.MAP_LIMIT and drawn.index.is_monotonic_increasing
    assert drawn.index.equals(ds.map_rows(rows)[0].index)  # seeded: the same sample each run
    assert ds.map_rows(rows.iloc[: ds.MAP_LIMIT])[1] is False
