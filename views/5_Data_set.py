"""Data set: every document of the checkpoints' test split (or of a file of reviews) in one table, with filters,
the slice's figures, a map of the documents by the vector each model classifies, and a row opened in Document."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from han.app import charts, ui
from han.app import dataset as ds

st.set_page_config(page_title="Data set - HAN explorer", layout="wide")
DOCUMENT_PAGE = Path(__file__).resolve().parent / "1_Document.py"
SOURCES = ["Test split", "A file of reviews"]


def documents_of(models: dict[str, Path], focus: str) -> ds.Documents | None:
    source = ui.remembered(st.sidebar.radio, "Documents", "dataset_source", SOURCES[0], SOURCES)
    if source == SOURCES[0]:
        ui.remembered(
            st.sidebar.text_input,
            "Data files for test documents",
            "data_override",
            "",
            placeholder="as recorded in the checkpoint",
            help="Where the checkpoint's data is on this machine, if not where it was trained; several files "
            "separated by ';'.",
        )
        return ds.split_documents(models[focus])
    upload = st.sidebar.file_uploader(
        "CSV, TSV, JSON lines (a text column, a label column if any) or .txt (a review a line)",
        type=["csv", "tsv", "jsonl", "json", "txt", "gz"],
        key="dataset_upload",
    )
    if upload is None:
        st.info("Upload a file of reviews in the sidebar: its documents are scored by every model of the set.")
        return None
    return ds.file_documents(upload.name, upload.getvalue())


def same_split(models: dict[str, Path], focus: str) -> dict[str, Path]:
    """The models whose test split is the focus model's (same data, same split); the others are named."""
    kept = {k: p for k, p in models.items() if split_record(p) == split_record(models[focus])}
    if len(kept) < len(models):
        others = ", ".join(ui.shown_names(models)[k] for k in models if k not in kept)
        st.info(f"Left out: {others}, trained on other data or another split than the model chosen for the map.")
    return kept


def split_record(path: Path) -> tuple:
    """What makes a test split: the data's fingerprint and the split recorded (method, seed, sizes)."""
    config = ui.checkpoint_record(path)[0]
    return config.get("data", {}).get("fingerprint"), config.get("split")


def filters_of(frame: pd.DataFrame, names: dict[str, str], focus: str) -> ds.Filters:
    labels = sorted(set(frame["gold"].dropna()) | set(frame[names[focus]].dropna()), key=ds._order)
    with st.expander("Filters", expanded=True):
        a, b, c, d = st.columns(4)
        gold = a.multiselect("Gold", labels, key="f_gold")
        predicted = b.multiselect(f"Predicted by {names[focus]}", labels, key="f_predicted")
        outcome = c.radio(f"{names[focus]} is", ["all", "correct", "wrong"], key="f_outcome", horizontal=True)
        confidence = d.slider(f"{names[focus]}'s confidence", 0.0, 1.0, (0.0, 1.0), 0.05, key="f_confidence")
        e, f, g = st.columns([2, 1, 1])
        contains = e.text_input("Contains", key="f_contains", placeholder="a word or phrase (any case)")
        disagree = f.checkbox("Models disagree", key="f_disagree", disabled="models disagree" not in frame)
        attention_loo = g.checkbox(
            "Attention ≠ leave-one-out",
            key="f_att_loo",
            disabled="attention = LOO" not in frame,
            help="Attention's and leave-one-out's top words differ (where `han analyse` ran leave-one-out).",
        )
    return ds.Filters(gold, names[focus], predicted, outcome, disagree, confidence, contains, attention_loo)


def slice_figures(rows: pd.DataFrame, names: dict[str, str], labelled: bool) -> None:
    """The slice's size and each model's accuracy on it: a metric and a small table (a row per model fits where
    a metric per model would be cut to "5…" beside the map)."""
    st.metric("Documents in the slice", f"{len(rows):,}")
    if not labelled:
        st.info("These documents have no gold labels: no accuracy or confusion matrix, only the models' predictions.")
        return
    scores = {name: ds.accuracy(rows, name) for name in names.values()}
    st.dataframe(
        pd.DataFrame(
            {
                "model": list(scores),
                "accuracy": [None if a is None else round(100 * a, 1) for a, _ in scores.values()],
                "documents scored": [n for _, n in scores.values()],
            }
        ),
        hide_index=True,
        column_config={"accuracy": st.column_config.NumberColumn("accuracy (%)", format="%.1f")},
    )


def document_map(rows: pd.DataFrame, own, name: str) -> list[int] | None:
    """The map of the slice; returns the rows selected on it (None: no selection)."""
    colour = ui.remembered(st.selectbox, "Colour the map by", "map_colour", ds.MAP_COLOURS[0], list(ds.MAP_COLOURS))
    drawn, sampled = ds.map_rows(rows)
    figure = ds.map_figure(drawn, own, name, colour)
    event = st.plotly_chart(figure, key="dataset_map", on_select="rerun", selection_mode=("box", "lasso"))
    st.caption(
        f"Each document at the first two principal components of the vector {name}'s classifier reads "
        "(the sentence level's output). Draw a box or lasso to keep those documents in the table; double-click "
        "to clear."
        + (f" A seeded sample of {ds.MAP_LIMIT:,} of the {len(rows):,} documents is drawn." if sampled else "")
    )
    return ds.selected(event, figure)


def open_row(frame: pd.DataFrame, shown: pd.DataFrame, documents: ds.Documents, focus: str) -> None:
    event = st.dataframe(
        shown,
        key="dataset_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={"review": st.column_config.TextColumn(width="large")},
    )
    rows = event.selection.rows if event else []
    if not rows:
        st.caption("Select a row (its first column) to open the document in the Document page.")
        return
    doc = int(shown.index[rows[0]])
    if st.button(f"Open document {doc} in the Document page", type="primary"):
        state: dict[str, object] = {"variant": focus}
        if documents.split:
            state |= {"doc_source": "Test document", "doc_test": doc}
        else:  # a file's review: the Document page reads it as pasted text
            state |= {"doc_source": "Paste text", "doc_text": ds._text(documents.examples[doc])}
        for key, value in state.items():
            st.session_state[key] = st.session_state[f"saved:{key}"] = value
        st.switch_page(DOCUMENT_PAGE)


def page() -> None:
    st.title("Data set")
    models = ui.choose_set()
    names = ui.shown_names(models)
    keys = list(models)
    default = "att" if "att" in keys else keys[-1]
    focus = ui.remembered(
        st.sidebar.radio, "Model for the map and filters", "dataset_model", default, keys, format_func=names.get
    )
    documents = documents_of(models, focus)
    if documents is None:
        return
    if documents.split:
        models = same_split(models, focus)
    analyses = {key: ds.analysis_of(path, names[key], documents) for key, path in models.items()}
    shown_names = {key: names[key] for key in analyses}
    frame = ds.table(documents, analyses, shown_names, focus)
    st.caption(
        f"{len(frame):,} documents of the {documents.source}, {len(analyses)} model(s). Confidence: the probability "
        "of the predicted class. Top words: attention's (the heatmap's darkest) and leave-one-out's (the word whose "
        "erasure lowers that probability most), where `han analyse` measured it."
    )
    rows = frame[ds.apply(frame, documents.lowered, filters_of(frame, shown_names, focus))]
    left, right = st.columns([3, 2])
    with left:
        picked = document_map(rows, analyses[focus], shown_names[focus])
    if picked is not None:
        rows = rows[rows.index.isin(picked)]
    labelled = bool(frame["gold"].notna().any())
    with right:
        slice_figures(rows, shown_names, labelled)
        if labelled and len(rows):
            labels = analyses[focus].labels
            matrix = ds.confusion(rows, shown_names[focus], labels)
            st.plotly_chart(charts.confusion_chart(matrix, labels, f"{shown_names[focus]} on the slice"), key="conf")
    if not len(rows):
        st.warning("No document matches these filters" + (" and the map's selection." if picked else "."))
        return
    order = st.columns([2, 1, 2])
    by = order[0].selectbox("Sort by", ["doc", *rows.columns.drop("review")], key="sort_by")
    up = order[1].toggle("Ascending", True, key="sort_up")
    rows = rows.sort_index(ascending=up) if by == "doc" else rows.sort_values(by, ascending=up, na_position="last")
    order[2].download_button("Download the slice (CSV)", ds.csv_of(rows), "han-slice.csv", "text/csv")
    open_row(frame, rows, documents, focus)


ui.guard(page)
