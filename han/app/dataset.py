"""The Data set page's pieces: the documents, each model's per-document figures (han.interpret.analysis: read from
analysis-test.npz beside the checkpoint, or computed here with a progress bar), one table of them, its filters,
the slice figures and the document map. The table and filters are plain pandas, so tests can check them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from han.app import ui
from han.errors import HanError

if TYPE_CHECKING:
    from han.data.dataset import Example
    from han.interpret.analysis import Analysis

SNIPPET = 120  # characters of a review shown in its row
MAP_LIMIT = 20_000  # documents drawn on the map at most (a seeded sample of a larger slice, said so)
KEPT = 24  # analyses kept in memory (a set of 5 models over 2 sources is 10)
MAP_COLOURS = ("correct or wrong", "gold", "prediction", "confidence")


@dataclass
class Documents:
    """The documents the page shows, in order, with what identifies them."""

    examples: list[Example]
    source: str  # "test split" or a file's name
    digest: str  # han.interpret.analysis.documents_digest
    split: bool  # the checkpoints' own test split (analysis-test.npz applies)
    lowered: list[str] = field(default_factory=list)  # the texts lower-cased, for "contains a word"


# ----------------------------------------------------------------------------- documents


@st.cache_resource(show_spinner=False, max_entries=4)
def _split_documents(checkpoint: str, paths: tuple[str, ...]) -> Documents:
    from han.interpret.analysis import documents_digest

    examples = ui.test_split(checkpoint, paths)
    return Documents(examples, "test split", documents_digest(examples), True, [_text(e).lower() for e in examples])


def split_documents(model_path: Path) -> Documents:
    """The test split of a checkpoint, re-made from its recorded data (or the sidebar's data files)."""
    model = ui.load_model(model_path)
    if not ui.data_present(model):
        missing = ", ".join(str(p) for p in ui.data_paths(model) if not p.exists()) or "no data file recorded"
        raise HanError(
            f"The test split is re-made from the data the checkpoint was trained on, not found here ({missing}). "
            "Give its files in 'Data files for test documents' (sidebar), or choose a data file of your own."
        )
    return _split_documents(str(model_path), tuple(str(p) for p in ui.data_paths(model)))


@st.cache_resource(show_spinner="Reading the file...", max_entries=4)
def _file_documents(name: str, content: bytes) -> Documents:
    import tempfile

    from han.interpret.analysis import documents_digest, read_file

    with tempfile.TemporaryDirectory() as folder:  # the readers take a path (and know .gz, CSV, TSV, JSON lines)
        path = Path(folder) / Path(name).name
        path.write_bytes(content)
        examples = read_file(path)
    if not examples:
        raise HanError(f"{name}: no review with text in it")
    return Documents(examples, name, documents_digest(examples), False, [_text(e).lower() for e in examples])


def file_documents(name: str, content: bytes) -> Documents:
    """Documents of a CSV/TSV/JSON-lines or plain text file (labels optional), as `han predict` reads them."""
    return _file_documents(name, content)


def _text(example: Example) -> str:
    return example.plain_text(sentence_separator="\n")


# ----------------------------------------------------------------------------- analyses


@st.cache_resource(show_spinner=False)
def _kept() -> OrderedDict:
    return OrderedDict()  # (checkpoint, weights stamp, documents digest) -> Analysis, shared by every session


def analysis_of(path: Path, name: str, documents: Documents) -> Analysis:
    """The model's figures for these documents: its analysis-test.npz when it describes these weights and these
    documents, else computed now (a progress bar; leave-one-out is left to `han analyse`, it takes minutes)."""
    from han.interpret import analysis

    weights = path / "model.safetensors"
    key = (str(path), weights.stat().st_mtime, documents.digest)
    kept = _kept()
    if key in kept:
        return kept[key]
    result = _read(path, documents) if documents.split else None
    if result is None:
        bar = st.progress(0.0, text=f"{name}: predicting {len(documents.examples):,} documents...")
        model = ui.load_model(path)

        def report(stage: str, done: int, total: int) -> None:
            bar.progress(done / total, text=f"{name}: {stage} {done:,} of {total:,}")

        result = analysis.analyse(model, documents.examples, loo=0, on_progress=report, source=documents.source)
        bar.empty()
    kept[key] = result
    while len(kept) > KEPT:
        kept.popitem(last=False)
    return result


def _read(path: Path, documents: Documents) -> Analysis | None:
    """analysis-test.npz beside the checkpoint, if it is of these weights and these documents (else None, why said)."""
    from han.interpret import analysis

    file = path / analysis.SPLIT_FILE.format(split="test")
    if not file.exists():
        return None
    try:
        result = analysis.load(file)
    except HanError as e:
        st.warning(f"{e}; computing the figures here instead.")
        return None
    stale = ui.other_weights(path, file, result.meta.get("model_sha256"))
    if stale is None and result.meta.get("documents_sha256") != documents.digest:
        stale = f"{file} describes other documents than this test split (other data files?)"
    if stale:
        st.info(f"{stale} Computing the figures here instead.")
        return None
    return result


# ----------------------------------------------------------------------------- the table


def table(documents: Documents, analyses: dict[str, Analysis], names: dict[str, str], focus: str) -> pd.DataFrame:
    """The page's table, kept while its documents and figures are the same (built once, not on every filter)."""
    key = (documents.digest, tuple((k, id(a)) for k, a in analyses.items()), tuple(names.items()), focus)
    return _table(key, documents, analyses, names, focus)


@st.cache_resource(show_spinner=False, max_entries=8)
def _table(
    key: tuple, _documents: Documents, _analyses: dict[str, Analysis], _names: dict[str, str], focus: str
) -> pd.DataFrame:
    return build_table(_documents, _analyses, _names, focus)


def build_table(documents: Documents, analyses: dict[str, Analysis], names: dict[str, str], focus: str) -> pd.DataFrame:
    """One row per document: snippet, gold, each model's prediction and confidence, whether they disagree,
    lengths and the focus model's top words (attention, leave-one-out where run, and whether they agree)."""
    n = len(documents.examples)
    frame = pd.DataFrame(index=pd.RangeIndex(n, name="doc"))
    frame["review"] = [_snippet(_text(e)) for e in documents.examples]
    gold = [e.label or None for e in documents.examples]
    frame["gold"] = pd.Series(gold, index=frame.index, dtype="string")
    for key, result in analyses.items():
        labels = np.array(result.labels, dtype=object)
        frame[names[key]] = _at(result.index, labels[result.predicted], n, "string")
        frame[f"{names[key]} p"] = _at(result.index, result.confidence.round(3), n, "Float64")
    if len(analyses) > 1:
        predictions = frame[[names[k] for k in analyses]]
        frame["models disagree"] = predictions.nunique(axis=1, dropna=True) > 1
    own = analyses[focus]
    frame["sentences"] = _at(own.index, own.sentences, n, "Int64")
    frame["words"] = _at(own.index, own.words, n, "Int64")
    if own.meta.get("attention_label"):
        frame["attention top word"] = _at(own.index, own.attention_word, n, "string")
    if own.meta.get("loo_documents"):
        measured = own.loo_position >= 0
        frame["LOO top word"] = _at(own.index[measured], own.loo_word[measured], n, "string")
        if "attention top word" in frame:
            same = own.attention_position[measured] == own.loo_position[measured]
            frame["attention = LOO"] = _at(own.index[measured], same, n, "boolean")
    return frame


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1] + "…"


def _at(index: np.ndarray, values: np.ndarray, n: int, dtype: str) -> pd.Series:
    """values placed at rows `index` of n rows; the others missing (a document without words, or not measured)."""
    series = pd.Series(pd.NA, index=pd.RangeIndex(n, name="doc"), dtype=dtype)
    series.iloc[index] = values
    return series


@dataclass
class Filters:
    """What the page's filters ask for; empty lists and None mean no condition."""

    gold: list[str] = field(default_factory=list)
    predicted_by: str | None = None  # a model's column name
    predicted: list[str] = field(default_factory=list)
    outcome: str = "all"  # "all", "correct" or "wrong" (of `predicted_by`)
    disagree: bool = False
    confidence: tuple[float, float] = (0.0, 1.0)  # of `predicted_by`
    contains: str = ""
    attention_loo_disagree: bool = False


def apply(frame: pd.DataFrame, lowered: list[str], filters: Filters) -> pd.Series:
    """(rows,) bool: the rows every condition holds for."""
    keep = pd.Series(True, index=frame.index)
    if filters.gold:
        keep &= frame["gold"].isin(filters.gold).fillna(False)
    model = filters.predicted_by
    if model:
        if filters.predicted:
            keep &= frame[model].isin(filters.predicted).fillna(False)
        if filters.outcome != "all":
            right = (frame[model] == frame["gold"]).fillna(False)
            keep &= right if filters.outcome == "correct" else (~right & frame["gold"].notna() & frame[model].notna())
        low, high = filters.confidence
        if (low, high) != (0.0, 1.0):
            keep &= frame[f"{model} p"].between(low, high).fillna(False)
    if filters.disagree and "models disagree" in frame:
        keep &= frame["models disagree"]
    if filters.contains.strip():
        word = filters.contains.strip().lower()
        keep &= pd.Series([word in text for text in lowered], index=frame.index)
    if filters.attention_loo_disagree and "attention = LOO" in frame:
        keep &= (frame["attention = LOO"] == False).fillna(False)  # noqa: E712 (a nullable column: measured only)
    return keep


def accuracy(rows: pd.DataFrame, model: str) -> tuple[float | None, int]:
    """Accuracy of `model` over the labelled rows it predicted, and how many those are."""
    scored = rows[rows["gold"].notna() & rows[model].notna()]
    return (float((scored[model] == scored["gold"]).mean()) if len(scored) else None), len(scored)


def confusion(rows: pd.DataFrame, model: str, labels: list[str]) -> list[list[int]]:
    """Rows gold, columns predicted, over the labelled rows of the slice."""
    scored = rows[rows["gold"].isin(labels) & rows[model].notna()]
    counts = pd.crosstab(scored["gold"], scored[model]).reindex(index=labels, columns=labels, fill_value=0)
    return counts.astype(int).values.tolist()


def csv_of(rows: pd.DataFrame) -> bytes:
    return rows.to_csv().encode("utf-8")


# ----------------------------------------------------------------------------- the map


def map_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """The rows drawn on the map: all, or a seeded sample of MAP_LIMIT (True when sampled)."""
    if len(rows) <= MAP_LIMIT:
        return rows, False
    return rows.sample(MAP_LIMIT, random_state=0).sort_index(), True


def map_figure(rows: pd.DataFrame, own: Analysis, model: str, colour: str) -> go.Figure:
    """Each document at its vector's first two principal components; customdata is its row number."""
    at = pd.Series(np.arange(len(own.index)), index=own.index)
    placed = rows[rows.index.isin(own.index)]
    xy = own.coordinates[at[placed.index].to_numpy()]  # (n, 2)
    figure = go.Figure()
    if colour == "confidence":
        scale = dict(colorscale="Viridis", cmin=0, cmax=1, showscale=True, colorbar=dict(title="p"), size=5)
        figure.add_trace(
            _points(xy, placed, "documents", marker=dict(color=placed[f"{model} p"].astype(float), **scale))
        )
    else:
        for name, (mask, colour_of) in _groups(placed, model, colour).items():
            figure.add_trace(_points(xy[mask.to_numpy()], placed[mask], name, marker=dict(size=5, color=colour_of)))
    explained = own.meta.get("pca_explained", [0, 0])
    figure.update_layout(
        height=460,
        margin=dict(l=10, r=10, t=30, b=10),
        dragmode="lasso",
        showlegend=True,
        xaxis_title=f"PC 1 ({explained[0]:.0%} of the variance)",
        yaxis_title=f"PC 2 ({explained[1]:.0%})",
        legend_title=colour,
    )
    return figure


OUTCOME_COLOURS = {"correct": "#16a34a", "wrong": "#dc2626", "no gold label": "#9ca3af"}


def _groups(rows: pd.DataFrame, model: str, colour: str) -> dict[str, tuple[pd.Series, str]]:
    """Trace name -> (its rows, its colour): green / red / grey for correctness, a red-to-blue scale over the
    classes in their order (1 star red, 5 stars blue) for gold or prediction."""
    if colour == "correct or wrong":
        right = (rows[model] == rows["gold"]).fillna(False)
        labelled = rows["gold"].notna()
        masks = {"correct": right & labelled, "wrong": ~right & labelled, "no gold label": ~labelled}
        groups = {name: (mask, OUTCOME_COLOURS[name]) for name, mask in masks.items()}
    else:
        from plotly.colors import sample_colorscale

        column = rows["gold" if colour == "gold" else model].fillna("none")
        values = sorted(column.unique(), key=_order)
        colours = sample_colorscale("RdYlBu", [i / max(len(values) - 1, 1) for i in range(len(values))])
        groups = {str(v): (column == v, c) for v, c in zip(values, colours, strict=True)}
    return {name: (mask, c) for name, (mask, c) in groups.items() if mask.any()}


def _order(label: str) -> tuple:
    return (0, float(label), "") if label.replace(".", "", 1).lstrip("-").isdigit() else (1, 0.0, label)


def _points(xy: np.ndarray, rows: pd.DataFrame, name: str, marker: dict) -> go.Scattergl:
    return go.Scattergl(
        x=xy[:, 0],
        y=xy[:, 1],
        mode="markers",
        name=name,
        customdata=rows.index.to_numpy(),
        text=rows["review"].str.slice(0, 80),
        hovertemplate="doc %{customdata}: %{text}<extra>%{fullData.name}</extra>",
        marker=marker,
    )


def selected(event: object, figure: go.Figure) -> list[int] | None:
    """Row numbers of the documents selected on the map (box or lasso), None when nothing is selected."""
    selection = (event or {}).get("selection", {}) if isinstance(event, dict) else getattr(event, "selection", {})
    points = (selection or {}).get("points", [])
    if not points:
        return None
    rows = []
    for point in points:
        if point.get("customdata") is not None:
            rows.append(int(np.ravel(point["customdata"])[0]))
        else:  # the row number from the trace and point index, should a browser leave customdata out
            trace = figure.data[point.get("curve_number", 0)]
            rows.append(int(trace.customdata[point.get("point_index", 0)]))
    return sorted(set(rows))
