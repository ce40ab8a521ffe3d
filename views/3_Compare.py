"""Compare: the same document through every model of a set (HN-AVE, HN-MAX, HN-ATT, then the successors:
CAHAN, several heads), and their test accuracy, confusions and disagreements side by side."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from han import paper
from han.app import charts, ui
from han.errors import HanError
from han.nn.variants import PAPER_VARIANTS

st.set_page_config(page_title="Compare - HAN explorer", layout="wide")


PER_ROW = 3  # models per row: the paper's three in the first, the successors under them


def grid(n: int) -> list:
    """n columns in rows of at most PER_ROW, all rows as wide (a set of one or two keeps its width)."""
    width = min(n, PER_ROW)
    return [column for _ in range(0, n, width) for column in st.columns(width)]


def side_by_side(models: dict, text: str, gold: str | None, raw: bool) -> None:
    items, names = list(models.items()), ui.shown_names(models)
    for column, (variant, path) in zip(grid(len(items)), items, strict=False):
        model = ui.load_model(path)
        explanation = ui.explanation(model, text)
        with column:
            verdict = "" if gold is None else (" (correct)" if explanation["label"] == gold else f" (gold {gold})")
            st.subheader(f"{names[variant]}: {explanation['label']}{verdict}")
            st.plotly_chart(charts.probability_chart(explanation, gold, height=220), key=f"p_{variant}")
            ui.show_document(explanation, raw=raw)


def paper_dataset_columns(model) -> list[str]:
    formats = {s.get("format", "") for s in model.config.get("data", {}).get("sources", [])}
    if "aclImdb" in formats:
        return ["IMDB review"]
    return ["Yelp 2013", "Yelp 2014", "Yelp 2015"]


def test_accuracy(model) -> float | None:
    """Test accuracy in %, None when metrics.json is missing or unreadable (the model loads without it)."""
    accuracy = model.metrics.get("test_accuracy")
    return None if accuracy is None else round(100 * accuracy, 1)


def unrecorded(model) -> str:
    return (
        f"no test results recorded ({model.path / 'metrics.json'} is missing or unreadable): copy it with the "
        "checkpoint to see them here (`python -m han evaluate --split test` scores the model on its data)"
    )


def accuracy_table(models: dict) -> None:
    st.subheader("Test accuracy beside the paper's Table 2")
    loaded, names = {v: ui.load_model(p) for v, p in models.items()}, ui.shown_names(models)
    columns = paper_dataset_columns(next(iter(loaded.values())))
    rows = []
    for variant, name in PAPER_VARIANTS.items():  # the paper's three, a row each (a set may lack some)
        model = loaded.get(variant)
        row = {
            "model": name if model is None else names[variant],
            "ours (test, %)": None if model is None else test_accuracy(model),
        }
        for dataset in columns:
            row[f"paper: {dataset}"] = paper.reference(name, dataset)
        row["paper row cross-checked"] = name in paper.CROSS_CHECKED
        rows.append(row)
    for key, model in loaded.items():  # successors (CAHAN, several heads): no Table 2 row
        if key not in PAPER_VARIANTS:
            rows.append({"model": names[key], "ours (test, %)": test_accuracy(model)})
    st.dataframe(rows, hide_index=True)
    st.caption(
        "The paper's figures are for its own, much larger data sets (Yelp 2013-2015: 335k-1.1M "
        "reviews; IMDB: 348k reviews, 10 classes) and are shown for orientation, not as a like-for-like "
        "comparison."
    )
    items = list(loaded.items())
    for chart, (key, model) in zip(grid(len(items)), items, strict=False):
        with chart:
            if "test_confusion_matrix" not in model.metrics:
                st.info(f"{names[key]}: {unrecorded(model)}")
                continue
            st.plotly_chart(
                charts.confusion_chart(
                    model.metrics["test_confusion_matrix"], model.labels, f"{names[key]}: test confusion"
                ),
                key=f"cm_{key}",
            )


@st.cache_data(show_spinner="Running every model over the test split...", max_entries=2)
def disagreements(model_paths: tuple[str, ...], data_paths: tuple[str, ...], names: tuple[str, ...]) -> list[dict]:
    """Test documents on which the models' predictions differ."""
    documents = ui.test_split(model_paths[0], data_paths)
    models = [ui.load_model(Path(p)) for p in model_paths]
    predictions = [m.predict_examples(documents) for m in models]
    rows = []
    for index, (example, labels) in enumerate(zip(documents, zip(*predictions, strict=True), strict=True)):
        if len(set(labels)) > 1:
            text = example.plain_text()
            rows.append(
                {
                    "test document": index,
                    "gold": example.label,
                    **dict(zip(names, labels, strict=True)),  # shown names: two HN-ATT, two columns
                    "beginning": text[:140].replace("\n", " "),
                }
            )
    return rows


def disagreement_list(models: dict) -> None:
    st.subheader("Test documents on which the models disagree")
    reference = ui.load_model(next(iter(models.values())))
    if len(models) < 2:
        st.info("This set has a single model.")
        return
    if not ui.data_present(reference):
        st.info("The test data is not present on this machine: " + ", ".join(map(str, ui.data_paths(reference))))
        return
    chosen = [str(p) for p in models.values()]
    if st.session_state.get("find_disagreements_for") != chosen:  # another set: its models are not run over the
        st.session_state.pop("find_disagreements", None)  # test split unless asked for (it takes minutes)
    st.session_state["find_disagreements_for"] = chosen
    if st.toggle("Find them (runs every model over the test split)", key="find_disagreements"):
        rows = disagreements(
            tuple(str(p) for p in models.values()),
            tuple(str(p) for p in ui.data_paths(reference)),
            tuple(ui.shown_names(models).values()),
        )
        st.write(f"{len(rows)} documents; open one in the Document view by its number (source: Test document).")
        st.dataframe(rows, hide_index=True)


def trained_on(config: dict) -> tuple:
    """What must be the same for models to be compared: classes, data (its fingerprint) and split."""
    data, split = config.get("data", {}), config.get("split", {})
    files = tuple(Path(s.get("path", "?")).name for s in data.get("sources", []))
    return tuple(config.get("labels", [])), files, data.get("fingerprint", {}).get("sha256"), split.get("seed")


def check_one_data_set(models: dict) -> None:
    """Refuse a set mixing checkpoints of different data (or splits): side by side their test accuracies,
    confusions and disagreements would look comparable and are not (one's test documents, another's training)."""
    names, groups = ui.shown_names(models), dict[tuple, list[str]]()
    for key, path in models.items():
        groups.setdefault(trained_on(ui.checkpoint_record(path)[0]), []).append(names[key])
    if len(groups) > 1:
        described = "; ".join(
            f"{', '.join(shown)}: classes {'/'.join(map(str, labels))}, data {', '.join(files) or 'unknown'}"
            + ("" if seed is None else f", split seed {seed}")
            for (labels, files, _, seed), shown in groups.items()
        )
        raise HanError(
            f"These checkpoints were not trained on the same data and split, so their results cannot be compared "
            f"({described}). Choose a folder holding the checkpoints of one data set; the Document, Word attention "
            "and Faithfulness pages show each model on its own."
        )


def loadable(models: dict) -> dict:
    """The set's models that load. The set's checks read the files, not the weights (the Models page must paint
    without torch): one that passes them and still fails to load (config.json not matching vocab.txt or the
    weights) is named with what to do and left out, so that the others are still compared."""
    names, loaded = ui.shown_names(models), {}
    for key, path in models.items():
        try:
            ui.load_model(path)
        except HanError as e:
            st.error(f"{names[key]} ({path}) does not load, so it is left out of the comparison: {e}")
        else:
            loaded[key] = path
    if not loaded:
        raise HanError("None of the set's checkpoints loads: see above what to do.")
    return loaded


def page() -> None:
    st.title("The variants side by side")
    models = ui.choose_set()
    check_one_data_set(models)
    models = loadable(models)
    raw = ui.remembered(st.sidebar.toggle, "Raw word weights p_w", "raw", False)
    st.caption(
        "HN-AVE weighs every word and sentence equally; for HN-MAX a word's weight is the share of "
        "hidden dimensions in which it attains the maximum; HN-ATT shows its attention. Successors, where the "
        "set has them: several heads show their mean, CAHAN the mean of its passes (context before, after)."
    )
    reference = models.get("att", next(reversed(models.values())))  # HN-ATT's split and examples, as before
    text, gold = ui.document_input(ui.load_model(reference), "cmp")
    if text is not None:
        side_by_side(models, text, gold, raw)
    accuracy_table(models)
    disagreement_list(models)


ui.guard(page)
