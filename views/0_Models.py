"""Models (the home page): pick a checkpoint set; a comparison table, a row per model (HN-AVE, HN-MAX, HN-ATT, then
the successors), and each model's card of details in an expander."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from han import paper
from han.app import ui
from han.checkpoint.files import auto_reason
from han.checkpoint.objectives import objectives_summary
from han.nn.variants import model_name

st.set_page_config(page_title="Models - HAN explorer", layout="wide")


def recipe_summary(training: dict) -> str:
    """The recipe a checkpoint was trained with and its main settings (checkpoints from before recipes: paper)."""
    name = training.get("recipe", "paper")
    parts = [
        f"{training.get('optimizer', 'sgd')} lr {'/'.join(f'{lr:g}' for lr in training.get('lrs', []))}",
        f"batch {training.get('batch_size', 64)}",
    ]
    if training.get("dropout"):
        parts.append(f"dropout {training['dropout']:g} at {', '.join(training.get('dropout_at', []))}")
    settings = (
        ("lr_schedule", "schedule"),
        ("label_smoothing", "label smoothing"),
        ("weight_decay", "decay"),
        ("ema", "weights averaged, decay"),
    )
    for key, label in settings:
        if training.get(key) not in (None, "constant", 0, 0.0):
            parts.append(f"{label} {training[key]}")
    return f"{name} ({'; '.join(parts)})"


def embeddings_summary(embeddings: dict) -> str:
    """Where the initial word vectors came from, whether they stayed fixed, and why (`--embeddings auto`)."""
    text = embeddings.get("source") or embeddings.get("method", "?")
    text += ", frozen" if embeddings.get("frozen") else ""
    if embeddings.get("auto"):
        text += f" (chosen by --embeddings auto: {auto_reason(embeddings['auto'])})"
    return text


def percent(value: float | None) -> str:
    return "not recorded" if value is None else f"{value:.1%}"  # not "nan%": metrics.json missing or older


def card(path: Path, name: str) -> None:
    """What a model is, what it was trained on and how well it does: from its JSON files alone, without torch."""
    config, metrics = ui.checkpoint_record(path)
    embeddings = config.get("embeddings", {})
    split = config.get("split", {})
    sources = ", ".join(Path(s.get("path", "?")).name for s in config.get("data", {}).get("sources", []))
    with st.container(border=True):
        st.subheader(name)
        left, right = st.columns(2)
        left.metric("Test accuracy", percent(metrics.get("test_accuracy")))
        right.metric("Dev accuracy", percent(metrics.get("dev_accuracy")))
        if not metrics:
            st.warning(
                f"{path / 'metrics.json'} is missing or unreadable: the model works, but its training record is not "
                "shown; copy metrics.json with the checkpoint."
            )
        sizes = split.get("sizes", {})
        objectives = objectives_summary(config.get("training", {}))  # issue 34's, none for most checkpoints
        faithful = f"**Faithful attention:** {objectives}  \n" if objectives else ""
        st.markdown(
            f"**Data:** {sources or 'unknown'}  \n"
            f"**Split:** {split.get('method', '?')} (seed {split.get('seed', '?')}): "
            f"{sizes.get('train', '?')} train / {sizes.get('dev', '?')} dev / {sizes.get('test', '?')} test  \n"
            f"**Classes:** {', '.join(map(str, config.get('labels', [])))}  \n"
            f"**Training:** {metrics.get('epochs_run', '?')} epochs over {len(metrics.get('lr_grid', []))} "
            f"learning rate(s); best on dev: lr {metrics.get('lr', '?')}, epoch {metrics.get('best_epoch', '?')}; "
            f"{metrics.get('training_time_s', 0) / 60:.1f} min, {metrics.get('train_docs_per_s', 0):.0f} docs/s  \n"
            f"**Recipe:** {recipe_summary(config.get('training', {}))}  \n"
            f"{faithful}"
            f"**Vocabulary:** {config.get('model', {}).get('vocab_size', 0):,} words; "
            f"embeddings: {embeddings_summary(embeddings)}  \n"
            f"**Majority class on test:** {percent(metrics.get('majority_test_accuracy'))}"
        )


def paper_figure(config: dict, name: str) -> float | None:
    """The paper's Table 2 accuracy (%) for this model on the nearest of its data sets (aclImdb: IMDB review;
    otherwise Yelp 2013, its smallest Yelp set); None for models the paper has no row for (the successors)."""
    formats = {s.get("format", "") for s in config.get("data", {}).get("sources", [])}
    return paper.reference(name, "IMDB review" if "aclImdb" in formats else "Yelp 2013")


def paper_text(figure: float | None) -> str:
    return "–" if figure is None else f"{figure:.1f} %"  # not "None": the paper has no row for this model


def in_percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def comparison(models: dict[str, Path], names: dict[str, str]) -> None:
    """A row per model: the figures to compare, legible however many models the set holds."""
    rows = []
    for key, path in models.items():
        config, metrics = ui.checkpoint_record(path)
        sources = ", ".join(Path(s.get("path", "?")).name for s in config.get("data", {}).get("sources", []))
        seconds = metrics.get("training_time_s")
        rows.append(
            {
                "model": names[key],
                "test accuracy": in_percent(metrics.get("test_accuracy")),
                "dev accuracy": in_percent(metrics.get("dev_accuracy")),
                "paper (Table 2)": paper_text(paper_figure(config, model_name(config.get("model", {})))),
                "majority class": in_percent(metrics.get("majority_test_accuracy")),
                "data": sources or "unknown",
                "recipe": config.get("training", {}).get("recipe", "paper"),
                "training (min)": None if seconds is None else round(seconds / 60, 1),
            }
        )
    percent_column = lambda label: st.column_config.NumberColumn(label, format="%.1f %%")
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            "test accuracy": percent_column("test accuracy"),
            "dev accuracy": percent_column("dev accuracy"),
            "training (min)": st.column_config.NumberColumn(format="%.1f"),
            "majority class": percent_column("majority class"),
        },
    )
    st.caption(
        "Accuracy on the checkpoint's own test and dev splits; 'majority class' is always predicting the most "
        "frequent test class. The paper's figure is for its own, much larger data (Yelp 2013 for Yelp, IMDB review "
        "for aclImdb), for orientation only; it has none for the successors. Not recorded: metrics.json is missing."
    )


def page() -> None:
    st.title("Hierarchical Attention Networks: what do they attend to?")
    st.caption(
        "Yang et al. (2016). Red blocks show sentence weights, blue words the word weights "
        "(sqrt(p_s)*p_w, section 3.6). Views: Document, Word attention, Compare, Faithfulness, Data set (left)."
    )
    models = ui.choose_set()
    names = ui.shown_names(models)
    comparison(models, names)
    for key, path in models.items():
        with st.expander(f"{names[key]}: data, split, training, recipe, vocabulary"):
            card(path, names[key])


ui.guard(page)
