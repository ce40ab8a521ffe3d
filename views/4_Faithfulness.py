"""Faithfulness: how far the attention of each shipped model can be trusted, over 1,000 test reviews.

Reads the figures precomputed beside each checkpoint (`faithfulness.json`, written by
`han faithfulness --data ... --out CHECKPOINT/faithfulness.json`), so the page opens instantly.
"""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from han.app import ui
from han.app.carried import saved
from han.checkpoint.files import read_json
from han.errors import HanError
from han.interpret.report import METHOD_NAMES

st.set_page_config(page_title="Faithfulness - HAN explorer", layout="wide")
COLORS = {"positive": "#16a34a", "negative": "#dc2626", "neutral": "#9ca3af", "unknown": "#d1d5db"}


@st.cache_data
def read_figures(path: str, stamp: float) -> dict:
    return read_json(Path(path))  # a truncated or hand-edited file: HanError naming it


def aopc_chart(figures: dict, level: str) -> go.Figure:
    aopc = figures[level]["aopc"]
    # two short lines a method, upright: slanted one-line names overlapped and were cut ("integrated g…")
    names = [METHOD_NAMES.get(o, o).replace(" ", "<br>", 1).replace("leave-one-out", "leave-<br>one-out") for o in aopc]
    figure = go.Figure(
        [
            go.Bar(
                name="comprehensiveness (higher: removing them hurts)",
                x=names,
                y=[v["comprehensiveness"] for v in aopc.values()],
                marker_color="#2563eb",
            ),
            go.Bar(
                name="sufficiency (lower: they alone suffice)",
                x=names,
                y=[v["sufficiency"] for v in aopc.values()],
                marker_color="#f59e0b",
            ),
        ]
    )
    bins = "top 1/5/10/20/50% of words" if level == "word" else "top 1/2/3 sentences"
    figure.update_layout(
        barmode="group",
        height=320,
        margin=dict(l=10, r=10, t=40, b=10),
        title=f"{level.title()} level: ERASER AOPC over the {bins}",
        yaxis_title="Δ p(predicted)",
        legend=dict(orientation="h", y=-0.3),
        xaxis_tickangle=0,
    )
    return figure


def polarity_chart(polarity: dict) -> go.Figure:
    figure = go.Figure()
    for category, color in COLORS.items():
        words = [w for w in polarity["words"] if w["category"] == category]
        if words:
            figure.add_trace(
                go.Scatter(
                    x=[w["polarity"] for w in words],
                    y=[w["attention"] for w in words],
                    mode="markers",
                    name=category,
                    marker=dict(color=color, size=7, opacity=0.75),
                    text=[w["word"] for w in words],
                    hovertemplate="%{text}: polarity %{x:.2f}, attention %{y:.3f}<extra></extra>",
                )
            )
    classes = polarity["classes"]
    figure.update_layout(
        height=420,
        margin=dict(l=10, r=10, t=40, b=10),
        title="Polarity against attention (Sun & Lu 2020), one dot per frequent word",
        xaxis_title=f"polarity: margin {'/'.join(classes['positive'])} vs "
        f"{'/'.join(classes['negative'])} lost when the word is erased",
        yaxis_title="mean attention p_w",
    )
    return figure


def reading(figures: dict) -> list[str]:
    """Plain-language sentences computed from the figures."""
    lines = []
    word = figures["word"]["aopc"]
    ranked = sorted(word, key=lambda o: -word[o]["comprehensiveness"])
    lines.append(
        f"Removing the top words by **{METHOD_NAMES[ranked[0]]}** hurts the prediction most; attention ranks "
        f"{ranked.index('attention') + 1} of {len(ranked)} (random: {ranked.index('random') + 1})."
    )
    tau = figures["word"]["kendall_tau"]
    lines.append(
        "Mean Kendall τ of attention's word ranking with leave-one-out "
        f"{tau['leave_one_out']:.2f}, integrated gradients {tau['integrated_gradients']:.2f}, "
        f"random {tau['random']:.2f}."
    )
    counterfactual = figures["counterfactual"]
    if "not_applicable" not in counterfactual:
        lines.append(
            f"Uniform weights at inference change {counterfactual['uniform_changed']:.0%} of decisions "
            f"(accuracy {counterfactual['accuracy']:.1%} → {counterfactual['uniform_accuracy']:.1%}); "
            "randomly permuting the word weights moves the output distribution by a total variation of "
            f"{counterfactual['permuted_word_tvd']['mean']:.2f} on average."
        )
    return lines


def flip_rows(figures: dict) -> list[dict]:
    """The decision-flip table: a row per level and order of zeroing."""
    rows = []
    for level in ("word", "sentence"):
        for ordering, v in (figures[level]["flips"] or {}).items():
            rows.append(
                {
                    "level": level,
                    "order of zeroing": ordering,
                    "top item flips the decision": v["top_item_flips"],
                    "share zeroed before it flips": v["fraction_to_flip"],
                    "never flips": v["never_flipped"],
                }
            )
    return rows


def prepared(figures: dict, file: Path, again: str) -> dict:
    """Everything the section draws, made before any of it is drawn: a file with parts missing (another han
    version, a hand edit) is then refused whole, with what to do, instead of breaking off half drawn."""
    try:
        return {
            "caption": f"{figures['n']:,} {figures.get('split', 'test')} documents; 'attention' is the "
            f"{figures['attention_label']}.",
            "lines": reading(figures),
            "aopc": [aopc_chart(figures, "word"), aopc_chart(figures, "sentence")],
            "flips": flip_rows(figures),
            "polarity": polarity_chart(figures["polarity"]) if figures.get("polarity") else None,
        }
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        detail = f"no {e} in it" if isinstance(e, KeyError) else str(e)
        raise HanError(
            f"{file} is incomplete or from another version of han ({detail}): its figures cannot be shown. {again}"
        ) from None


def model_section(path: Path) -> None:
    file = path / "faithfulness.json"
    if not file.exists():
        st.info(
            f"No precomputed figures for this model. Compute them with `python -m han faithfulness --checkpoint "
            f"{path} --data <its data> --out {file}`."
        )
        return
    again = (
        f"Compute them again with `python -m han faithfulness --checkpoint {path} --data <its data> --out {file} "
        "--overwrite`."
    )
    try:
        figures = read_figures(str(file), file.stat().st_mtime)
    except HanError as e:  # truncated, not JSON: what to do added
        raise HanError(f"{e}: its figures cannot be shown. {again}") from None
    refused = ui.other_weights(path, file, figures.get("model_sha256"))
    if refused:
        st.warning(f"{refused} {again}")
        return
    shown = prepared(figures, file, again)
    st.caption(shown["caption"])
    for line in shown["lines"]:
        st.markdown(f"- {line}")
    left, right = st.columns(2)
    left.plotly_chart(shown["aopc"][0], key=f"aopc_word_{path}")
    right.plotly_chart(shown["aopc"][1], key=f"aopc_sentence_{path}")
    if shown["flips"]:
        st.markdown("**Decision flips** (Serrano & Smith 2019): attention weights zeroed and renormalised.")
        st.dataframe(shown["flips"], hide_index=True)
    if shown["polarity"] is not None:
        st.plotly_chart(shown["polarity"], key=f"polarity_{path}")
    st.download_button(
        "Figures (JSON)",
        file.read_text(encoding="utf-8"),
        f"faithfulness-{path.name}.json",
        "application/json",
        key=f"download_{path}",
    )


def comparison(models: dict, names: dict) -> None:
    """The models side by side: how much of leave-one-out's effect each one's attention carries."""
    shares = {key: saved(path) for key, path in models.items()}
    base = shares.get("att")
    rows = [
        {
            "model": names[key],
            "attention": round(s["attention"], 3),
            "leave-one-out": round(s["leave_one_out"], 3),
            "share of its LOO": None if s["share"] is None else round(s["share"], 2),
            "share of HN-ATT's LOO": round(s["attention"] / base["leave_one_out"], 2) if base else None,
            "τ (att, LOO)": None if s["tau"] is None else round(s["tau"], 2),
            "reviews": s["n"],
        }
        for key, s in shares.items()
        if s
    ]
    if len(rows) < 2:
        return
    st.subheader("How much of leave-one-out's effect each heatmap carries")
    st.caption(
        "ERASER word comprehensiveness: the drop in p(predicted class) when the words attention (or leave-one-out) "
        "ranks first are removed, top 1/5/10/20/50 % averaged, on each model's own test reviews. Issue 34's target "
        "for a faithful heatmap: 0.8 of HN-ATT's leave-one-out."
    )
    st.dataframe(rows, hide_index=True)


def page() -> None:
    st.title("Is the attention faithful?")
    st.caption(
        "Attention against methods that do not read it (leave-one-out, integrated gradients, gradient × "
        "input, a random floor): ERASER comprehensiveness and sufficiency (DeYoung et al. 2020), decision "
        "flips (Serrano & Smith 2019), counterfactual attention (Jain & Wallace 2019; Wiegreffe & Pinter "
        "2019) and polarity against attention (Sun & Lu 2020)."
    )
    models = ui.choose_set()
    names = ui.shown_names(models)
    comparison(models, names)
    for key, path in models.items():
        st.header(names[key])
        try:
            model_section(path)
        except HanError as e:  # one model's unreadable figures: said there, the other models still shown
            st.error(str(e))


ui.guard(page)
