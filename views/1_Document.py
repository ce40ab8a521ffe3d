"""Document view: one review with its sentence (red) and word (blue) weights, as in Figure 5, and next to
the heatmap the evidence whether those weights are a faithful account of the decision."""

from __future__ import annotations

from functools import partial

import streamlit as st

import han
from han.app import charts, ui
from han.app.carried import saved, sentence
from han.interpret.explain import context_effect_html, head_view, to_csv, to_html, to_png, to_svg
from han.interpret.focus import ONE_HOT, explanation_focus
from han.interpret.report import METHOD_NAMES, as_explanation

st.set_page_config(page_title="Document - HAN explorer", layout="wide")


def heads_focus(model: han.Classifier, explanation: dict) -> None:
    """How concentrated each head's word weights are in this document: penalised heads sit on one word each."""
    measured = [f for f in explanation_focus(explanation)[1:] if f.units]  # sentences of 2 words or more
    if not measured:
        return
    first, *others = measured
    parts = [
        f"{first.head} puts {first.top:.0%} of a sentence's word weight on its top word on average "
        f"(at least {ONE_HOT:.0%} in {round(first.one_hot * first.units)} of {first.units} sentences)",
        *(f"{f.head} {f.top:.0%} ({round(f.one_hot * f.units)} of {f.units})" for f in others),
    ]
    penalty = model.config.get("training", {}).get("penalty", 0.0)
    why = (
        f" This model was trained with the heads' redundancy penalty (c = {penalty:g}), which is lowest when every "
        "head sits on one word of its own: RESULTS.md, 'How concentrated the heads are', measures it on test reviews."
        if penalty
        else ""
    )
    st.caption("In this document, " + "; ".join(parts) + "." + why)


SOURCES = ["attention", "leave_one_out", "integrated_gradients", "gradient_x_input"]


def evidence(model: han.Classifier, text: str) -> dict:
    """The faithfulness panel: agreement of attention with each method, and the erasure curve."""
    result = ui.faithfulness(model, text)
    st.subheader("Is this heatmap faithful?")
    shares = saved(model.path) if model.path else None
    if shares:  # the data-set figure first: one document's erasure is noisy
        st.markdown(sentence(shares))
    st.caption(
        f"'Attention' here is the {result['attention_label']}. Kendall τ: +1 = the same ranking of words as "
        "attention, 0 = unrelated, −1 = reversed."
    )
    r2 = lambda v: None if v is None else round(v, 2)
    rows = [
        {
            "method": METHOD_NAMES[m],
            "τ words": r2(a["word"]),
            "τ sentences": r2(a["sentence"]),
            "top-1 shared": r2(a["top_k"]["word_top1"]),
            "top-5 shared": r2(a["top_k"]["word_top5"]),
        }
        for m, a in result["agreement"].items()
    ]
    shared = "Share of attention's top {} word(s) that are this method's top {} too."
    st.dataframe(  # short column names: the whole table fits beside the heatmap
        rows,
        hide_index=True,
        column_config={
            "τ sentences": st.column_config.NumberColumn("τ sent.", help="Kendall τ over the sentences"),
            "top-1 shared": st.column_config.NumberColumn("top 1", help=shared.format(1, 1)),
            "top-5 shared": st.column_config.NumberColumn("top 5", help=shared.format(5, 5)),
        },
    )
    st.plotly_chart(charts.erasure_chart(result["erasure_curve"]), key="erasure")
    st.caption(
        "Probability of the predicted class as the top words by each method are removed. The method whose "
        "curve falls fastest found the words the decision rests on; random is the floor."
    )
    if result.get("ig_delta") is not None:
        st.caption(f"Integrated gradients: {result['n_steps']} steps, convergence delta {result['ig_delta']:.2g}.")
    return result


def context_effect(model, text: str) -> None:
    """CAHAN: each sentence's word weights in the document beside those it gets alone, and the change."""
    effect = model.context_effect(text)
    if len(effect["sentences"]) == 1:  # its TVD is 0 by construction: say why rather than show a bare 0.000
        with st.expander("Context effect: none in a document of one sentence", expanded=False):
            st.caption(
                "CAHAN weighs a sentence's words by the other sentences of the document. This document has one "
                "sentence, so there are no other sentences to read it by: the context cannot change anything. "
                "Give a review of several sentences to see the effect."
            )
        return
    with st.expander(f"Context effect: mean total variation {effect['mean_tvd']:.3f}", expanded=False):
        st.caption(
            "CAHAN weighs a sentence's words by the other sentences too. Each sentence read in this document, "
            "read alone, and the change (green: more weight in context; orange: less). TVD 0: no effect."
        )
        st.html(context_effect_html(effect))


def page() -> None:
    st.title("Document")
    models = ui.choose_set()
    variant, model = ui.choose_model(models)
    raw = ui.remembered(
        st.sidebar.toggle,
        "Raw word weights p_w",
        "raw",
        False,
        help="Off: sqrt(p_s)*p_w normalised over the document (the paper's display). On: p_w within each sentence.",
    )
    method = ui.remembered(
        st.sidebar.selectbox,
        "Weights from",
        "weights_from",
        "attention",
        SOURCES,
        format_func=METHOD_NAMES.get,
        help="Redraw the heatmap from a method that does not read the attention: leave-one-out "
        "(erase each word), integrated gradients, gradient × input (captum).",
    )
    text, gold = ui.document_input(model, "doc")
    if text is None:
        return
    explanation = ui.explanation(model, text)
    st.session_state["last_explanation"] = explanation
    default = "the predicted class" if model.model.per_class else "mean of the heads"
    head = ui.choose_head(explanation["head_names"], "head", default) if "heads" in explanation else None
    left, right = st.columns([3, 2])
    with left:
        if method == "attention":
            shown = explanation if head is None else head_view(explanation, head)
        else:
            shown = as_explanation(ui.faithfulness(model, text), method)
            st.caption(
                f"Red and blue from {METHOD_NAMES[method]}: the positive part of each score, scaled to the "
                "document's largest (evidence against the prediction is not drawn)."
            )
        ui.show_document(shown, raw=raw and method == "attention")
        if method == "attention" and "heads" in explanation:
            heads_focus(model, explanation)
        st.metric(
            f"{ui.shown_names(models)[variant]} predicts",  # with its folder where two models share a name
            explanation["label"],
            delta=None if gold is None else ("correct" if gold == explanation["label"] else f"gold {gold}"),
            delta_color="normal" if gold is None or gold == explanation["label"] else "inverse",
        )
        if gold is not None:
            st.write(f"Gold rating: **{gold}**")
        if model.model.reads_context:
            context_effect(model, text)
        st.plotly_chart(charts.probability_chart(explanation, gold), key="probabilities")
    with right:
        evidence(model, text)
    st.subheader("Export")
    name = f"han-{variant}-{explanation['label']}" + ("" if method == "attention" else f"-{method}")
    name += "" if head is None or method != "attention" else f"-head{head + 1}"
    a, b, c, d = st.columns(4)
    # each file is made when its button is pressed, not on every view (the PNG alone is a matplotlib drawing)
    a.download_button("HTML", partial(to_html, shown, raw=raw, standalone=True), f"{name}.html", "text/html")
    b.download_button("SVG image", partial(to_svg, shown, raw=raw), f"{name}.svg", "image/svg+xml")
    c.download_button("PNG image", partial(to_png, shown, raw=raw), f"{name}.png", "image/png")
    d.download_button("Weights (CSV)", partial(to_csv, shown), f"{name}.csv", "text/csv")


ui.guard(page)
