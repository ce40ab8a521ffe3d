"""Word attention by rating (the paper's Figures 3-4): how much weight a word gets, per rating."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from han.app import ui
from han.data.dataset import read_like
from han.data.vocab import PAD, UNK
from han.errors import HanError, NotTrainingData
from han.interpret import stats as word_stats

st.set_page_config(page_title="Word attention - HAN explorer", layout="wide")
COLORS = ("#2563eb", "#dc2626")  # first word blue, second red
BINS = dict(start=0.0, end=1.0, size=0.05)


def current_stats(model) -> tuple[word_stats.WordStats | None, str]:
    """Recomputed statistics of this session if any, else those shipped beside the checkpoint; else None
    and why there are none."""
    recomputed = st.session_state.get("recomputed_stats", {}).get(str(model.path))
    if recomputed is not None:
        return recomputed, ""
    path = model.path / "word_stats.npz"
    if not path.exists():
        return None, f"No word statistics for {model.name} ({path})."
    try:
        table = ui.load_stats(path)
    except HanError as e:  # truncated or not a statistics file: the caller says how to make them again
        return None, f"{e}."
    refused = ui.other_weights(model.path, path, table.meta.get("model_sha256"))
    return (None, refused) if refused else (table, "")


def recompute(model) -> None:
    """Run the model over a data set's test split, with a progress bar."""
    with st.expander("Recompute from a data set"):
        default = "; ".join(str(p) for p in ui.data_paths(model))
        if st.session_state.get("recompute_for", str(model.path)) != str(model.path):  # paths typed for another
            st.session_state.pop("recompute_paths", None)  # model: this one's data instead, not theirs
            st.session_state.pop("saved:recompute_paths", None)
        st.session_state["recompute_for"] = str(model.path)
        paths = ui.remembered(st.text_input, "Data file(s), separated by ';'", "recompute_paths", default)
        sample = ui.remembered(
            st.number_input,
            "Documents (a seeded sample of the test split; 0 = all)",
            "recompute_sample",
            0,
            min_value=0,
            max_value=100_000,
        )
        if st.button("Recompute"):
            files = [str(ui.typed_path(p)) for p in paths.split(";") if p.strip()]
            # field cleared: the recorded data, found where the app finds it (recorded paths are relative to the
            # project, not to the folder streamlit was started from)
            files = files or [str(p) for p in ui.data_paths(model)]
            try:
                table = collect(model, files, sample)
            except NotTrainingData as e:  # its message ends with the CLI's advice (--max-docs, han evaluate)
                st.error(
                    f"{e.reason}. In 'Data file(s)' above, give the files {model.name} was trained on (same files, "
                    "same order), or clear the field to use the data recorded in the checkpoint."
                )
                return
            st.session_state.setdefault("recomputed_stats", {})[str(model.path)] = table
            st.success(f"{table.documents} documents, {len(table.word):,} word occurrences.")


def collect(model, files: list[str], sample: int) -> word_stats.WordStats:
    """The model's word statistics over the test split of `files` (a seeded sample of `sample` documents, or all
    for 0), with a progress bar."""
    bar = st.progress(0.0, text="Reading data...")
    dataset = read_like(model.config, files, splits=())  # labels only; texts are read as analysed
    return word_stats.collect(
        model,
        dataset,
        "test",
        max_docs=sample or None,
        on_progress=lambda done, total: bar.progress(done / total, text=f"{done}/{total} documents"),
    )


def histogram(values: np.ndarray, word: str, color: str, legend: bool) -> go.Histogram:
    """One word's attention weights as a share-of-occurrences histogram (both words overlaid)."""
    return go.Histogram(
        x=values.astype(np.float32),
        xbins=BINS,
        histnorm="probability",
        name=word,
        marker_color=color,
        opacity=0.6,
        legendgroup=word,
        showlegend=legend,
    )


def figure(table: word_stats.WordStats, words: list[str]) -> go.Figure:
    """Aggregate distribution, then one panel per rating; counts in every panel title."""
    labels = table.labels
    columns = min(len(labels), 4 if len(labels) > 5 else 5)
    rows = 1 + math.ceil(len(labels) / columns)
    masks = {w: table.occurrences(w) for w in words}
    titles = ["all ratings: " + " / ".join(f"{w} n={int(m.sum())}" for w, m in masks.items())]
    for index, label in enumerate(labels):
        counts = " / ".join(str(int((m & (table.gold == index)).sum())) for m in masks.values())
        titles.append(f"rating {label} (n={counts})")
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=titles,
        vertical_spacing=0.12,
        specs=[[{"colspan": columns}] + [None] * (columns - 1)] + [[{}] * columns] * (rows - 1),
    )
    for color, (word, mask) in zip(COLORS, masks.items(), strict=False):
        fig.add_trace(histogram(table.attention[mask], word, color, legend=True), row=1, col=1)
        for index in range(len(labels)):
            row, col = 2 + index // columns, 1 + index % columns
            per_rating = table.attention[mask & (table.gold == index)]
            fig.add_trace(histogram(per_rating, word, color, legend=False), row=row, col=col)
    fig.update_layout(
        barmode="overlay", height=240 * rows, margin=dict(l=10, r=10, t=40, b=10), yaxis_title="share of occurrences"
    )
    fig.update_xaxes(range=[0, 1])
    fig.update_xaxes(title_text="attention weight p_w", row=rows)
    return fig


def means_chart(table: word_stats.WordStats, words: list[str]) -> go.Figure:
    fig = go.Figure()
    for color, word in zip(COLORS, words, strict=False):
        per_label = word_stats.summary(table, word)["per_label"]
        fig.add_trace(
            go.Scatter(
                x=list(per_label),
                y=[v["mean"] for v in per_label.values()],
                name=word,
                mode="lines+markers",
                line_color=color,
            )
        )
    fig.update_layout(
        height=280,
        xaxis_title="gold rating",
        yaxis_title="mean p_w",
        xaxis_type="category",
        margin=dict(l=10, r=10, t=30, b=10),
        title="Mean attention weight per rating",
    )
    return fig


def why_missing(model, word: str) -> str:
    """Why a word entered has no statistics, in words a user can act on: "good food", "don't" and "good," are
    more than one token to the model, which has statistics of single tokens only."""
    from han.data.text import tokenize_words  # NLTK: imported only when a word is not found

    tokens = tokenize_words(word, model.limits.lowercase)
    if tokens != [word]:
        return f"is read by the model as {len(tokens)} tokens ({' '.join(tokens)}): enter one of them"
    return "is not in the model's vocabulary" if word not in model.vocab else "never occurs in this split"


def special_tokens(table: word_stats.WordStats, words: list[str]) -> list[str]:
    """The words entered, with the vocabulary's two tokens that are not words said for what they are: <unk> pools
    every word outside the vocabulary (shown, said so: how the model weighs words it does not know), <pad> fills
    short sentences and has no weight to show (never drawn as a word, whatever a statistics file holds)."""
    if PAD in words:
        st.warning(
            f'"{PAD}" is the padding that fills short sentences up to the longest, not a word: the model gives it no '
            "attention, so there is nothing to show for it. Enter a word."
        )
    if UNK in words:
        count = int(table.occurrences(UNK).sum())
        if count:
            st.info(
                f'"{UNK}" is not one word: it is every word outside the model\'s vocabulary, pooled together '
                f"({count:,} occurrences of rare, misspelt or foreign words, which the model reads alike)."
            )
        else:
            st.warning(f'"{UNK}" stands for the words outside the model\'s vocabulary: none occurs in this split.')
            words = [w for w in words if w != UNK]
    return [w for w in words if w != PAD]


def page() -> None:
    st.title("Word attention by rating")
    st.caption(
        "Distribution of a word's attention weight p_w over the test split, overall and per "
        "gold rating (Yang et al. 2016, Figures 3 and 4)."
    )
    models = ui.choose_set()
    _, model = ui.choose_model(models)
    recompute(model)
    table, why_none = current_stats(model)
    if table is None:
        st.warning(f"{why_none} Recompute them from a data set above, or with `python -m han stats`.")
        return
    if table.head_attention is not None:  # multi-head attention: one head's p_w, or the mean
        default = "the predicted class" if model.model.per_class else "mean of the heads"
        head = ui.choose_head(model.head_names, "stats_head", default)
        table = table if head is None else table.for_head(head)
    left, right = st.columns(2)
    with left:
        first = ui.remembered(st.text_input, "Word", "word_a", "good").strip().lower()
    with right:
        second = ui.remembered(st.text_input, "Compare with (optional)", "word_b", "bad").strip().lower()
    words = [w for w in dict.fromkeys([first, second]) if w]
    if not words:
        st.info("Enter a word.")
        return
    words = special_tokens(table, words)
    missing = [w for w in words if not table.occurrences(w).any()]
    for word in missing:
        st.warning(f'"{word}" {why_missing(model, word)}; nothing to show for it.')
    words = [w for w in words if w not in missing]
    if not words:
        return
    sampled = " (a seeded sample)" if table.meta.get("sampled") else ""
    head_note = f", {model.head_names[table.meta['head']]}" if "head" in table.meta else ""
    st.write(
        f"{model.name}{head_note}, {table.meta.get('split', 'test')} split{sampled}: {table.documents:,} documents, "
        f"{len(table.word):,} word occurrences."
    )
    st.plotly_chart(figure(table, words), key="distribution")
    st.plotly_chart(means_chart(table, words), key="means")
    st.dataframe(
        {w: {label: v["count"] for label, v in word_stats.summary(table, w)["per_label"].items()} for w in words},
        width="content",
    )


ui.guard(page)
