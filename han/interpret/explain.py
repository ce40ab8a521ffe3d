"""Turning weights into pictures: the paper's Figure 5 rendering as HTML, SVG, PNG and CSV.

One line per sentence: a red block whose intensity is the sentence weight p_s (relative to the
document's largest), then the words on a blue background whose intensity is sqrt(p_s) * p_w
normalised over the document (section 3.6 of the paper), or the raw p_w when asked.
All functions take the dict that `Classifier.explain` returns.
"""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from typing import Any

from han.data.text import clean
from han.nn.weights import display_weights

RED = (220, 38, 38)  # sentence weight
BLUE = (37, 99, 235)  # word weight


def head_view(explanation: dict, head: int) -> dict:
    """The explanation as one attention head sees it (0-based): its p_s and p_w in place of the heads' mean.

    A level with a single head (--heads-at word or sentence) shows that head's weights for every head."""
    sentences = explanation["sentences"]
    if "heads" not in explanation or not 0 <= head < explanation["heads"]:
        raise ValueError(f"no head {head} in this explanation")
    sentence = [s["head_weights"][min(head, len(s["head_weights"]) - 1)] for s in sentences]
    words = [s["head_word_weights"][min(head, len(s["head_word_weights"]) - 1)] for s in sentences]
    shown = display_weights(sentence, words)
    return {
        **explanation,
        "head": head,
        "sentences": [
            {**s, "weight": p_s, "word_weights": p_w, "display_weights": d}
            for s, p_s, p_w, d in zip(sentences, sentence, words, shown, strict=True)
        ],
    }


def _intensities(explanation: dict, raw: bool) -> tuple[list[float], list[list[float]]]:
    """(red per sentence, blue per word) in [0, 1] for drawing."""
    sentences = explanation["sentences"]
    top = max((s["weight"] for s in sentences), default=0.0)
    red = [s["weight"] / top if top > 0 else 0.0 for s in sentences]
    blue = [s["word_weights"] if raw else s["display_weights"] for s in sentences]
    return red, blue


_SPACES = re.compile(r"\s+")
_MAX_GAP = 40  # characters of original text kept between two tokens (longer gaps are shortened to one space)


def written_words(explanation: dict, sentence: dict) -> list[tuple[str, str]]:
    """(what stands before the word, the word as written) for each token of `sentence`.

    With the original `text` and token `spans` (`Classifier.explain` on raw text), words keep the
    writer's casing and quotes and the punctuation sits where it was written ("better." rather than
    "better ."); otherwise, or where a token could not be placed, the token and one space are shown.
    """
    text: str = explanation.get("text") or ""
    spans = sentence.get("spans") if text else None
    words: list[tuple[str, str]] = []
    previous_end: int | None = None
    for i, token in enumerate(sentence["tokens"]):
        span = spans[i] if spans else None
        if span is None:
            words.append(("" if i == 0 else " ", token))
            previous_end = None
            continue
        start, end = span
        gap = " " if previous_end is None else _SPACES.sub(" ", clean(text[previous_end:start]))
        words.append(("" if i == 0 else gap if len(gap) <= _MAX_GAP else " ", text[start:end]))
        previous_end = end
    return words


def _rgba(color: tuple[int, int, int], alpha: float) -> str:
    return f"rgba({color[0]},{color[1]},{color[2]},{min(max(alpha, 0.0), 1.0):.3f})"


STYLE = """
.han-doc { font-family: Georgia, serif; font-size: 15px; line-height: 1.9; color: #111; }
.han-line { display: flex; align-items: flex-start; gap: 8px; margin: 2px 0; }
.han-sentence { flex: 0 0 14px; height: 18px; margin-top: 5px; border: 1px solid #e5e7eb; }
.han-word { padding: 1px 2px; border-radius: 2px; }
.han-joined { padding-left: 0; margin-left: -2px; }
.han-truncated { color: #92400e; font-size: 13px; }
"""


_JOINED = " han-joined"  # a word written against the one before ("better." , "booth,"): no padding between them


def to_html(explanation: dict, raw: bool = False, standalone: bool = False) -> str:
    """The document as HTML; tooltips (title) give exact weights. `standalone` adds <html>."""
    red, blue = _intensities(explanation, raw)
    lines = []
    for i, (sentence, r, b) in enumerate(zip(explanation["sentences"], red, blue, strict=True)):
        words = "".join(
            f'{html.escape(gap)}<span class="han-word{_JOINED if k and not gap else ""}" '
            f'style="background:{_rgba(BLUE, w)}" '
            f'title="p_w={p_w:.4f}; sqrt(p_s)*p_w shown as {d:.3f}">{html.escape(word)}</span>'
            for k, ((gap, word), w, p_w, d) in enumerate(
                zip(
                    written_words(explanation, sentence),
                    b,
                    sentence["word_weights"],
                    sentence["display_weights"],
                    strict=True,
                )
            )
        )
        lines.append(
            f'<div class="han-line"><span class="han-sentence" '
            f'style="background:{_rgba(RED, r)}" title="sentence {i + 1}: '
            f'p_s={sentence["weight"]:.4f}"></span><span>{words}</span></div>'
        )
    if explanation.get("truncated"):
        cut = ", ".join(f"{n} {what}" for what, n in explanation["truncated"].items())
        lines.append(f'<p class="han-truncated">Truncated at the model\'s limits: {cut} dropped.</p>')
    body = f'<div class="han-doc">{"".join(lines)}</div>'
    if not standalone:
        return f"<style>{STYLE}</style>{body}"
    title = html.escape(f"{explanation['model']}: predicted {explanation['label']}")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{STYLE} body {{ max-width: 820px; margin: 24px auto; }}</style></head>"
        f"<body><h3>{title}</h3>{body}</body></html>\n"
    )


def to_csv(explanation: dict) -> str:
    """One row per word: sentence, position, token (as the model reads it), the word as written, p_s, p_w,
    sqrt(p_s)*p_w normalised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sentence", "position", "token", "written", "sentence_weight", "word_weight", "display_weight"])
    for i, s in enumerate(explanation["sentences"]):
        written = [word for _, word in written_words(explanation, s)]
        for j, (tok, word, p_w, d) in enumerate(
            zip(s["tokens"], written, s["word_weights"], s["display_weights"], strict=True)
        ):
            writer.writerow([i, j, tok, word, f"{s['weight']:.6f}", f"{p_w:.6f}", f"{d:.6f}"])
    return out.getvalue()


# ----------------------------------------------------------------------------- images

FONT_SIZE = 14
CHAR_WIDTH = 8.4  # monospace advance at FONT_SIZE, used to lay words out identically everywhere
LINE_HEIGHT = 22
WIDTH = 800
MARGIN = 10
BLOCK = 14  # side of the red sentence block


@dataclass
class Box:
    """A word (or a sentence block when token is None) placed on the image."""

    x: float
    y: float
    width: float
    alpha: float
    token: str | None
    tooltip: str


def layout(explanation: dict, raw: bool = False) -> tuple[list[Box], int]:
    """Place sentence blocks and words on lines of WIDTH pixels; returns boxes and height."""
    red, blue = _intensities(explanation, raw)
    boxes: list[Box] = []
    y = MARGIN
    text_left = MARGIN + BLOCK + 8
    for i, (sentence, r, b) in enumerate(zip(explanation["sentences"], red, blue, strict=True)):
        boxes.append(Box(MARGIN, y + 3, BLOCK, r, None, f"sentence {i + 1}: p_s={sentence['weight']:.4f}"))
        x: float = text_left
        for (gap, word), w, p_w in zip(written_words(explanation, sentence), b, sentence["word_weights"], strict=True):
            width = len(word) * CHAR_WIDTH + 4
            if gap and x > text_left:  # a space where the writer left one ("better." stays together)
                x += CHAR_WIDTH / 2
            if x + width > WIDTH - MARGIN and x > text_left:  # wrap, indented under the text
                x, y = text_left, y + LINE_HEIGHT
            boxes.append(Box(x, y, width, w, word, f"p_w={p_w:.4f}"))
            x += width
        y += LINE_HEIGHT + 4
    return boxes, int(y + MARGIN)


def to_svg(explanation: dict, raw: bool = False) -> str:
    """A standalone SVG image of the rendering, with <title> tooltips."""
    boxes, height = layout(explanation, raw)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="DejaVu Sans Mono, monospace" font-size="{FONT_SIZE}">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
    ]
    for box in boxes:
        tip = f"<title>{html.escape(box.tooltip)}</title>"
        if box.token is None:
            parts.append(
                f'<rect x="{box.x}" y="{box.y}" width="{BLOCK}" height="{BLOCK}" '
                f'fill="{_rgba(RED, box.alpha)}" stroke="#e5e7eb">{tip}</rect>'
            )
        else:
            parts.append(
                f'<g><rect x="{box.x:.1f}" y="{box.y + 2}" width="{box.width:.1f}" '
                f'height="{LINE_HEIGHT - 4}" fill="{_rgba(BLUE, box.alpha)}"/>'
                f'<text x="{box.x + 2:.1f}" y="{box.y + 16}">{html.escape(box.token)}'
                f"</text>{tip}</g>"
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def to_png(explanation: dict, raw: bool = False) -> bytes:
    """The same layout as `to_svg`, drawn with Pillow into PNG bytes."""
    from PIL import Image, ImageDraw, ImageFont

    boxes, height = layout(explanation, raw)
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image, "RGBA")
    font = _mono_font(ImageFont)
    for box in boxes:
        if box.token is None:
            fill = (*RED, int(255 * box.alpha))
            draw.rectangle([box.x, box.y, box.x + BLOCK, box.y + BLOCK], fill=fill, outline="#e5e7eb")
        else:
            fill = (*BLUE, int(255 * min(max(box.alpha, 0.0), 1.0)))
            draw.rectangle([box.x, box.y + 2, box.x + box.width, box.y + LINE_HEIGHT - 2], fill=fill)
            draw.text((box.x + 2, box.y + 3), box.token, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _mono_font(image_font: Any) -> Any:
    """DejaVu Sans Mono when the system has it, else Pillow's built-in font."""
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", "DejaVuSansMono.ttf"):
        try:
            return image_font.truetype(path, FONT_SIZE)
        except OSError:
            continue
    return image_font.load_default(size=FONT_SIZE)


UP, DOWN = (22, 163, 74), (234, 88, 12)  # a word weighted more / less in context than alone


def _coloured_words(tokens: list[str], values: list[float], colours: list[str]) -> str:
    return " ".join(
        f'<span class="han-word" style="background:{c}" title="{v:+.4f}">{html.escape(t)}</span>'
        for t, v, c in zip(tokens, values, colours, strict=True)
    )


def context_effect_html(effect: dict) -> str:
    """CAHAN's context effect (`Classifier.context_effect`): per sentence, its words weighted in the document,
    alone, and the change (green: more weight in context, orange: less), with the total variation distance."""
    rows = []
    for i, sentence in enumerate(effect["sentences"]):
        tokens, inside, alone, change = (sentence[k] for k in ("tokens", "in_context", "alone", "change"))
        top = max([*inside, *alone, 1e-12])
        biggest = max([abs(c) for c in change] + [1e-12])
        lines = {
            "in context": _coloured_words(tokens, inside, [_rgba(BLUE, v / top) for v in inside]),
            "alone": _coloured_words(tokens, alone, [_rgba(BLUE, v / top) for v in alone]),
            "change": _coloured_words(tokens, change, [_rgba(UP if v > 0 else DOWN, abs(v) / biggest) for v in change]),
        }
        cells = "".join(f"<div>{name}: {words}</div>" for name, words in lines.items())
        rows.append(f"<tr><td>{i + 1}</td><td>TVD {sentence['tvd']:.3f}</td><td>{cells}</td></tr>")
    return f'<style>{STYLE}</style><table class="han-doc">{"".join(rows)}</table>'
