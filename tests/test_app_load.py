"""The app under load (issue 31): what one viewer computes, every later viewer of the same review reuses.

Streamlit runs every session's script in the one server process; per-document results are cached for all
sessions (han/app/ui.py), so a room opening the same review costs the model one pass, not one per viewer.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from han.nn.model import HAN

from .test_app import PAGES, REVIEW, html_of


@pytest.fixture
def model_calls(monkeypatch) -> list[str]:
    """Every forward pass of any HAN from now on (plain, and from word vectors as captum runs it)."""
    calls: list[str] = []
    for name in ("forward", "forward_embedded"):
        original = getattr(HAN, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(HAN, name, counted)
    return calls


def document_view(**state) -> AppTest:
    at = AppTest.from_file(str(PAGES["document"]), default_timeout=180)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("source", ["Example review", "Paste text"])
def test_a_second_session_on_the_same_review_does_no_model_work(model_calls, source):
    state = {"doc_source": source, "doc_text": REVIEW + " A second visit."}
    first = document_view(**state)
    model_calls.clear()
    second = document_view(**state)  # a new session: its own widgets and state, the server's caches
    assert model_calls == []  # neither the heatmap, the prediction nor the faithfulness panel ran the model again
    assert html_of(second) == html_of(first) and "han-doc" in html_of(second)
    assert second.metric[0].value == first.metric[0].value != ""
    assert second.dataframe[0].value.equals(first.dataframe[0].value)  # the faithfulness table, from the cache


def test_a_new_review_is_computed_and_then_shared(model_calls):
    text = "The ramen at the corner shop was rich and warm. The wait was long. Worth it, barely."
    first = document_view(doc_source="Paste text", doc_text=text)
    assert "forward" in model_calls and "ramen" in html_of(first)  # new text: the model did run
    model_calls.clear()
    document_view(doc_source="Paste text", doc_text=text)
    assert model_calls == []
