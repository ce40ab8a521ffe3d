"""Faithfulness results as pictures: the red/blue heatmap redrawn from any method, and standalone HTML reports.

`as_explanation(result, method)` turns one method's scores (from `explain_faithfulness`) into the dict that
han/interpret/explain.py draws, so the app and the reports show every method exactly like the attention heatmap:
red = the sentence's score, blue = the word's, both the positive part scaled to the document's largest
(evidence against the predicted class is not drawn; the tooltips and JSON keep the signed values).
"""

from __future__ import annotations

import html

from han.interpret.explain import to_html

METHOD_NAMES = {
    "attention": "attention",
    "leave_one_out": "leave-one-out",
    "integrated_gradients": "integrated gradients",
    "gradient_x_input": "gradient × input",
    "random": "random (floor)",
}


def as_explanation(result: dict, method: str) -> dict:
    """One method's scores of a document in the shape `han.interpret.explain.to_html` draws (with the original text
    and token spans when the result has them, so the words are drawn as written)."""
    sentences = result["sentences"]
    words = [[max(v, 0.0) for v in s["word_scores"][method]] for s in sentences]
    top = max((v for row in words for v in row), default=0.0)
    return {
        "model": result["model"],
        "label": result["prediction"],
        "truncated": result.get("truncated", {}),
        **({"text": result["text"]} if "text" in result else {}),
        "sentences": [
            {
                "tokens": s["tokens"],
                "weight": max(s["scores"][method], 0.0),
                "word_weights": s["word_scores"][method],
                "display_weights": [v / top if top > 0 else 0.0 for v in row],
                **({"spans": s["spans"]} if "spans" in s else {}),
            }
            for s, row in zip(sentences, words, strict=True)
        ],
    }


def _page(title: str, body: str) -> str:
    style = (
        "body{font-family:system-ui,sans-serif;max-width:960px;margin:24px auto;color:#111}"
        "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}"
        "th:first-child,td:first-child{text-align:left}h3{margin-top:28px}.note{color:#555;font-size:14px}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h2>{html.escape(title)}</h2>{body}</body></html>\n"
    )


def _number(value: object) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else html.escape(str(value))


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_number(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _curve_svg(curve: dict) -> str:
    """p_c as the top words by each method are removed: a small inline SVG line chart."""
    steps = curve["removed"]
    width, height, pad = 520, 220, 30
    colors = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#6b7280"]
    x = lambda i: pad + i * (width - 2 * pad) / max(1, len(steps) - 1)
    y = lambda p: height - pad - p * (height - 2 * pad)
    lines = []
    for color, (method, values) in zip(colors, [(k, v) for k, v in curve.items() if k != "removed"], strict=False):
        points = " ".join(f"{x(i):.1f},{y(p):.1f}" for i, p in enumerate(values))
        lines.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>'
            f'<text x="{width - pad + 4}" y="{y(values[-1]):.1f}" font-size="11" fill="{color}">'
            f"{html.escape(METHOD_NAMES.get(method, method))}</text>"
        )
    axes = (
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>'
        f'<text x="{pad}" y="{height - 8}" font-size="11">words removed (0 to {steps[-1]})</text>'
        f'<text x="2" y="{pad - 8}" font-size="11">p(predicted class), 0 to 1</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 120}" height="{height}">{axes}{"".join(lines)}</svg>'
    )


def document_html(result: dict) -> str:
    """One document: the heatmap by every method, agreement with attention, and the erasure curve."""
    parts = [
        f"<p>{html.escape(result['model'])} predicts <b>{html.escape(result['prediction'])}</b> "
        f"(p = {result['probability']:.3f}). 'attention' is the {html.escape(result['attention_label'])}.</p>"
    ]
    rows = [
        [METHOD_NAMES.get(m, m), a["word"], a["sentence"], *a["top_k"].values()] for m, a in result["agreement"].items()
    ]
    if rows:
        keys = list(next(iter(result["agreement"].values()))["top_k"])
        parts.append(
            "<h3>Agreement with attention</h3>" + _table(["method", "Kendall τ words", "τ sentences", *keys], rows)
        )
    parts.append(
        "<h3>Probability as the top words by each method are removed</h3>" + _curve_svg(result["erasure_curve"])
    )
    for method in result["sentences"][0]["word_scores"]:
        parts.append(
            f"<h3>{html.escape(METHOD_NAMES.get(method, method))}</h3>" + to_html(as_explanation(result, method))
        )
    return _page(f"Faithfulness of {result['model']}'s explanation", "".join(parts))


def dataset_html(result: dict) -> str:
    """Data-set figures: ERASER AOPC, agreement, decision flips and counterfactual attention per level."""
    parts = [
        f"<p>{result['n']} documents; 'attention' is the {html.escape(result['attention_label'])}. "
        "Higher comprehensiveness and lower sufficiency: the ordering finds what the decision rests on.</p>"
    ]
    for level in ("word", "sentence"):
        figures = result[level]
        rows = [[METHOD_NAMES.get(o, o), v["comprehensiveness"], v["sufficiency"]] for o, v in figures["aopc"].items()]
        parts.append(
            f"<h3>{level.title()} level: ERASER AOPC</h3>"
            + _table(["ordering", "comprehensiveness", "sufficiency"], rows)
        )
        parts.append(
            _table(
                ["method", "mean Kendall τ with attention"],
                [[METHOD_NAMES.get(m, m), t] for m, t in figures["kendall_tau"].items()],
            )
        )
        if figures["flips"]:
            rows = [
                [o, v["top_item_flips"], v["fraction_to_flip"], v["never_flipped"]] for o, v in figures["flips"].items()
            ]
            parts.append(
                _table(["order of zeroing", "top item flips decision", "share zeroed to flip", "never flipped"], rows)
            )
    parts.append(
        "<h3>Counterfactual attention</h3>"
        + _table(
            ["figure", "value"],
            [[k, v["mean"] if isinstance(v, dict) else v] for k, v in result["counterfactual"].items()],
        )
    )
    return _page(f"Faithfulness of {result['model']}", "".join(parts))
