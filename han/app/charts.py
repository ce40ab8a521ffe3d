"""The app's Plotly figures: class probabilities, confusion matrices, erasure curves. Built here, drawn by the pages."""

from __future__ import annotations

import plotly.graph_objects as go


def probability_chart(explanation: dict, gold: str | None = None, height: int = 260) -> go.Figure:
    labels = list(explanation["probabilities"])
    values = list(explanation["probabilities"].values())
    colors = ["#2563eb" if label == explanation["label"] else "#93c5fd" for label in labels]
    figure = go.Figure(
        go.Bar(x=labels, y=values, marker_color=colors, text=[f"{v:.2f}" for v in values], textposition="outside")
    )
    figure.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        yaxis_range=[0, 1.1],
        xaxis_title="rating" + (f" (gold: {gold})" if gold else ""),
        yaxis_title="probability",
        xaxis_type="category",
    )
    return figure


def confusion_chart(matrix: list[list[int]], labels: list[str], title: str) -> go.Figure:
    figure = go.Figure(
        go.Heatmap(
            z=matrix, x=labels, y=labels, colorscale="Blues", showscale=False, text=matrix, texttemplate="%{text}"
        )
    )
    figure.update_layout(
        title=title,
        height=320,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title="predicted",
        yaxis_title="gold",
        xaxis_type="category",
        yaxis_type="category",
        yaxis_autorange="reversed",
    )
    return figure


def erasure_chart(curve: dict, height: int = 260) -> go.Figure:
    """p(predicted class) as the top words by each method are removed: a steeper fall = a more faithful ranking."""
    from han.interpret.report import METHOD_NAMES

    figure = go.Figure()
    for method, values in curve.items():
        if method != "removed":
            figure.add_trace(
                go.Scatter(x=curve["removed"], y=values, mode="lines+markers", name=METHOD_NAMES.get(method, method))
            )
    figure.update_layout(
        height=height + 60,  # the legend under the plot: beside it, it took half the width of a narrow column
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=-0.3),
        yaxis_range=[0, 1.05],
        xaxis_title="top words removed",
        yaxis_title="p(predicted class)",
    )
    return figure
