"""Document view: one review with its sentence (red) and word (blue) weights, as in Figure 5."""

from __future__ import annotations

import streamlit as st

import ui
from han.explain import to_csv, to_html, to_png, to_svg

st.set_page_config(page_title="Document - HAN explorer", layout="wide")


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
    text, gold = ui.document_input(model, "doc")
    if text is None:
        return
    explanation = model.explain(text)
    st.session_state["last_explanation"] = explanation
    left, right = st.columns([3, 1])
    with left:
        ui.show_document(explanation, raw=raw)
    with right:
        st.metric(
            f"{model.name} predicts",
            explanation["label"],
            delta=None if gold is None else ("correct" if gold == explanation["label"] else f"gold {gold}"),
            delta_color="normal" if gold is None or gold == explanation["label"] else "inverse",
        )
        if gold is not None:
            st.write(f"Gold rating: **{gold}**")
        st.plotly_chart(ui.probability_chart(explanation, gold), key="probabilities")
    st.subheader("Export")
    name = f"han-{variant}-{explanation['label']}"
    a, b, c, d = st.columns(4)
    a.download_button("HTML", to_html(explanation, raw=raw, standalone=True), f"{name}.html", "text/html")
    b.download_button("SVG image", to_svg(explanation, raw=raw), f"{name}.svg", "image/svg+xml")
    c.download_button("PNG image", to_png(explanation, raw=raw), f"{name}.png", "image/png")
    d.download_button("Weights (CSV)", to_csv(explanation), f"{name}.csv", "text/csv")


ui.guard(page)
