"""Sentence splitting and word tokenisation, entirely offline.

Sentences come from NLTK's Punkt algorithm with its default (untrained) parameters plus a
list of common English abbreviations; words from NLTK's Treebank tokenizer. Neither needs
`nltk.download`. Text is lower-cased, as in the HAN paper's preprocessing.

Long documents are cut at documented limits (`TextLimits`); the result says what was cut so
that callers can tell the user instead of silently dropping text.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from han.errors import HanError

# Abbreviations Punkt should not end a sentence on (lower-case, without the final period).
ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sr",
    "jr",
    "st",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "approx",
    "ave",
    "blvd",
    "rd",
    "no",
    "min",
    "hr",
    "hrs",
    "oz",
    "lb",
    "lbs",
    "ft",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "mt",
    "u.s",
}

_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)  # aclImdb reviews use <br /> for newlines
_PARAGRAPH = re.compile(r"\n\s*\n|\r\n\s*\r\n")  # blank lines end a sentence even without a period


@dataclass(frozen=True)
class TextLimits:
    """Caps applied to every document; they bound memory and time on pathological input."""

    max_chars: int = 200_000  # characters read from one document before tokenising
    max_sentences: int = 60  # sentences kept per document (the rest are dropped)
    max_words: int = 100  # words kept per sentence (the rest are dropped)
    lowercase: bool = True  # the paper lower-cases everything

    def __post_init__(self) -> None:  # from the command line or a checkpoint's config: checked wherever made
        counts = (self.max_chars, self.max_sentences, self.max_words)
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in counts):
            raise HanError(
                "text limits max_chars, max_sentences and max_words (han train's --max-sentences and --max-words, "
                'the "text" section of a checkpoint\'s config.json) must be whole numbers of at least 1: a document '
                f"needs a sentence of a word (not {self.max_chars!r}, {self.max_sentences!r} and {self.max_words!r})"
            )


@dataclass
class Tokenized:
    """A tokenised document and a record of what the limits removed."""

    sentences: list[list[str]]  # one list of word tokens per sentence, none empty
    truncated: dict[str, int] = field(default_factory=dict)  # limit name -> amount dropped

    @property
    def n_words(self) -> int:
        return sum(len(s) for s in self.sentences)


@functools.cache
def _tokenizers() -> tuple[Any, Any]:
    """NLTK's Punkt sentence splitter (with ABBREVIATIONS) and Treebank word tokenizer, built on first use.

    Imported here, not at the top: `import nltk` brings scipy, scikit-learn and pandas with it (~170 MB of
    resident memory), which commands that read tokens from a store and never tokenise (`han stats` on a
    trained corpus, the app's pages) should not pay.
    """
    from nltk.tokenize import TreebankWordTokenizer
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    splitter = PunktSentenceTokenizer(PunktParameters())
    splitter._params.abbrev_types.update(ABBREVIATIONS)
    return splitter, TreebankWordTokenizer()


def clean(text: str) -> str:
    """Turn HTML line breaks into newlines and drop NUL characters."""
    return _HTML_BREAK.sub("\n", text).replace("\x00", " ")


def split_sentences(text: str) -> list[str]:
    """Split raw text into sentence strings: paragraphs first, then Punkt within each."""
    sentences: list[str] = []
    for paragraph in _PARAGRAPH.split(text):
        paragraph = paragraph.strip()
        if paragraph:
            sentences.extend(s for s in _tokenizers()[0].tokenize(paragraph) if s.strip())
    return sentences


def tokenize_words(sentence: str, lowercase: bool = True) -> list[str]:
    """Treebank word tokens of one sentence (whitespace-free, so safe for vocab.txt)."""
    if lowercase:
        sentence = sentence.lower()
    return [t for t in _tokenizers()[1].tokenize(sentence) if t.strip()]


def tokenize(text: str, limits: TextLimits = TextLimits()) -> Tokenized:
    """Raw text -> sentences of word tokens, applying `limits` and recording what they cut."""
    truncated: dict[str, int] = {}
    if len(text) > limits.max_chars:
        truncated["chars"] = len(text) - limits.max_chars
        text = text[: limits.max_chars]
    sentences = [tokenize_words(s, limits.lowercase) for s in split_sentences(clean(text))]
    return apply_limits([s for s in sentences if s], limits, truncated)


def apply_limits(sentences: list[list[str]], limits: TextLimits, truncated: dict[str, int] | None = None) -> Tokenized:
    """Cap an already tokenised document (e.g. a Tang et al. `.ss` line) at `limits`."""
    truncated = dict(truncated or {})
    if len(sentences) > limits.max_sentences:
        truncated["sentences"] = len(sentences) - limits.max_sentences
        sentences = sentences[: limits.max_sentences]
    cut_words = sum(max(0, len(s) - limits.max_words) for s in sentences)
    if cut_words:
        truncated["words"] = cut_words
        sentences = [s[: limits.max_words] for s in sentences]
    return Tokenized(sentences=sentences, truncated=truncated)


def tokenize_document(text: str | None, sentences: list[list[str]] | None, limits: TextLimits) -> Tokenized:
    """A document given as raw text or as sentences already tokenised (Tang `.ss`), under `limits`."""
    return apply_limits(sentences, limits) if sentences is not None else tokenize(text or "", limits)


def corpus_key(texts: Sequence[str | None], given: Sequence[list[list[str]] | None], limits: TextLimits) -> str:
    """A hash of everything the tokens depend on: the documents, the limits, this module, NLTK (han/data/store.py)."""
    digest = _tokeniser_digest(limits)
    for text, sentences in zip(texts, given, strict=True):
        digest.update(
            b"\x1eT" + (text or "").encode("utf-8", "surrogatepass")
            if sentences is None
            else b"\x1eS" + json.dumps(sentences).encode()
        )
    return digest.hexdigest()[:32]


def dataset_key(fingerprint: dict, limits: TextLimits) -> str:
    """The token store key of a dataset's documents: their fingerprint (han.data.dataset), the limits, this module,
    NLTK."""
    digest = _tokeniser_digest(limits)
    digest.update(json.dumps([fingerprint, "labelled documents"]).encode())
    return digest.hexdigest()[:32]


def _tokeniser_digest(limits: TextLimits) -> Any:
    """A sha256 started with what every token depends on: this module (any change invalidates), NLTK, the limits."""
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    digest.update(json.dumps([importlib.metadata.version("nltk"), asdict(limits)]).encode())
    return digest


Span = list[int] | None  # [start, end) of a token in the original text (JSON-ready); None where not found

_QUOTES = {"``": ('"', "``"), "''": ('"', "''")}  # Treebank rewrites a double quote as `` or ''
_ALIGN_WINDOW = 1_000  # a token is looked for at most this many characters after the previous one


def _per_char_lower(text: str) -> str:
    """text.lower() one character at a time, keeping every offset (a few letters lower to two characters)."""
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def token_spans(text: str, sentences: Sequence[Sequence[str]], lowercase: bool = True) -> list[list[Span]]:
    """Where each token of `tokenize(text)` stands in `text`, so a display can show the original casing,
    punctuation and spacing around the (lower-cased, re-quoted) tokens the model reads.

    Tokens are matched in order, each after the previous one; a token not found within _ALIGN_WINDOW
    characters gets None (a display falls back to the token itself) and does not move the cursor.
    """
    haystack = _per_char_lower(text) if lowercase else text
    spans: list[list[Span]] = []
    cursor = 0
    for sentence in sentences:
        row: list[Span] = []
        for token in sentence:
            end = cursor + _ALIGN_WINDOW + len(token) + 2  # the search stops at the window: no scan of the rest
            found = [
                (at, len(form))
                for form in _QUOTES.get(token, (token,))
                if (at := haystack.find(form, cursor, end)) >= 0
            ]
            at, length = min(found, default=(-1, 0))
            if at < 0 or at - cursor > _ALIGN_WINDOW:
                row.append(None)
                continue
            row.append([at, at + length])
            cursor = at + length
        spans.append(row)
    return spans


def limits_from_dict(d: dict) -> TextLimits:
    """Rebuild limits stored in a checkpoint's config (unknown keys are ignored)."""
    known = {k: d[k] for k in asdict(TextLimits()) if k in d}
    return TextLimits(**known)


def decode_text(raw: bytes, name: str = "input") -> str:
    """Bytes of an uploaded or given file -> text; binary data is an error, odd bytes are not.

    Invalid UTF-8 sequences become U+FFFD (documented behaviour); data with NUL bytes or mostly
    undecodable bytes is refused as not being text.
    """
    if b"\x00" in raw[:4096]:
        raise HanError(f"{name}: looks like a binary file, not text; give a plain-text review (.txt, UTF-8)")
    text = raw.decode("utf-8", errors="replace")
    if text and text.count("\ufffd") > 0.1 * len(text):
        raise HanError(f"{name}: is not UTF-8 text; save it as UTF-8 and try again")
    return text
