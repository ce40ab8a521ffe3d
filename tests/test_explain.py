"""Displays show the words as written: original casing, quotes and punctuation placed where they were."""

from __future__ import annotations

import csv
import io

import han
from han.data.text import token_spans, tokenize
from han.interpret.explain import layout, to_csv, to_html, written_words
from han.interpret.faithfulness import explain_faithfulness
from han.interpret.report import as_explanation

TRICKY = "He said \"I CAN'T\" (really) -- ok...<br /><br />It's $5.00, isn't it?  Fries were   even BETTER."


def test_every_token_is_placed_on_the_text_it_came_from():
    doc = tokenize(TRICKY)
    spans = token_spans(TRICKY, doc.sentences)
    for tokens, row in zip(doc.sentences, spans, strict=True):
        assert len(row) == len(tokens)
        for token, span in zip(tokens, row, strict=True):
            assert span is not None, token
            written = TRICKY[span[0] : span[1]]
            assert written == '"' if token in ("``", "''") else written.lower() == token
    starts = [span[0] for row in spans for span in row if span]
    assert starts == sorted(starts)  # in reading order, never matched backwards


def test_real_reviews_align_completely(yelp_slice):
    for example in yelp_slice.examples[:200]:
        text = example.text or ""
        doc = tokenize(text)
        placed = [span for row in token_spans(text, doc.sentences) for span in row]
        assert all(span is not None for span in placed)


def test_the_heatmap_and_csv_show_the_text_as_written(tiny_checkpoints):
    model = han.load(tiny_checkpoints["att"])
    explanation = model.explain(TRICKY)
    page = to_html(explanation)
    assert "BETTER</span><span" in page  # the full stop follows the word without a space
    assert "CA</span><span" in page and "N&#x27;T" in page  # casing kept inside a contraction
    assert "&quot;" in page and "``" not in page  # the writer's quote, not Treebank's
    assert "<br" not in page.replace("<br />", "")  # HTML breaks in the text are not drawn as text
    rows = list(csv.DictReader(io.StringIO(to_csv(explanation))))
    assert {"token": "better", "written": "BETTER"}.items() <= next(r for r in rows if r["token"] == "better").items()


def test_images_put_punctuation_against_its_word(tiny_checkpoints):
    explanation = han.load(tiny_checkpoints["att"]).explain("Fries were even BETTER.")
    boxes, _ = layout(explanation)
    words = {box.token: box for box in boxes if box.token}
    assert words["."].x == words["BETTER"].x + words["BETTER"].width  # no space was written
    assert words["were"].x > words["Fries"].x + words["Fries"].width  # a space was


def test_without_the_text_the_tokens_are_shown(tiny_checkpoints):
    model = han.load(tiny_checkpoints["att"])
    explanation = model.explain(model.tokenize("Fries were even BETTER."))  # tokens only: no text, no spans
    sentence = explanation["sentences"][0]
    assert "text" not in explanation and "spans" not in sentence
    assert written_words(explanation, sentence) == [
        ("", "fries"),
        (" ", "were"),
        (" ", "even"),
        (" ", "better"),
        (" ", "."),
    ]
    lost = dict(explanation, text="Fries were even BETTER.")
    lost["sentences"] = [dict(sentence, spans=[[0, 5], None, [11, 15], [16, 22], [22, 23]])]
    assert written_words(lost, lost["sentences"][0])[1:3] == [
        (" ", "were"),
        (" ", "even"),
    ]  # a lost token: its own form


def test_other_methods_are_drawn_on_the_written_text(tiny_checkpoints):
    result = explain_faithfulness(han.load(tiny_checkpoints["att"]), "GREAT food. Won't return!", n_steps=4)
    page = to_html(as_explanation(result, "leave_one_out"))
    assert "GREAT" in page and "Wo</span><span" in page
