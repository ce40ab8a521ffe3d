"""A trained checkpoint ready for use: predict, explain and evaluate documents.

`han.load(DIR)` returns a `Classifier`. The CLI, the Streamlit app and the statistics module
all go through `Classifier.analyse`, so they see the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from han.checkpoint import io as checkpoint
from han.checkpoint.files import weights_digest
from han.data.batches import within_budget
from han.data.dataset import Batch, Dataset, Example, bucket_batches, collate
from han.data.text import Tokenized, limits_from_dict, token_spans, tokenize, tokenize_document
from han.data.vocab import UNK_ID, Vocab
from han.errors import HanError
from han.nn.model import HAN, Output, split_word_weights
from han.nn.variants import model_name
from han.nn.weights import display_weights

UNKNOWN_WARNING = 0.5  # share of a text's words missing from the vocabulary at which a prediction is flagged


def is_word(token: str) -> bool:
    """A token with a letter or digit (not punctuation or symbols alone)."""
    return any(c.isalnum() for c in token)


@dataclass
class DocResult:
    """The model's view of one document."""

    probabilities: list[float]  # per class, in the order of Classifier.labels
    sentence_weights: list[float]  # p_s per sentence
    word_weights: list[list[float]]  # p_w per word, per sentence (the mean over heads)
    sentence_head_weights: list[list[float]] | None = None  # per sentence, p_s of each head (several heads)
    word_head_weights: list[list[list[float]]] | None = None  # per sentence, per head, p_w of each word

    @property
    def predicted(self) -> int:
        return max(range(len(self.probabilities)), key=self.probabilities.__getitem__)


class Classifier:
    """A HAN model with its vocabulary, labels, text limits and training record."""

    def __init__(self, model: HAN, vocab: Vocab, config: dict, metrics: dict, path: Path | None = None) -> None:
        self.model = model.eval()
        self.vocab = vocab
        self.config = config
        self.metrics = metrics
        self.path = path
        self.labels: list[str] = list(config["labels"])
        self.limits = limits_from_dict(config.get("text", {}))

    @classmethod
    def load(cls, directory: str | Path) -> Classifier:
        model, vocab, config, metrics = checkpoint.load(directory)
        return cls(model, vocab, config, metrics, Path(directory))

    @property
    def weights_digest(self) -> str | None:
        """sha256 of the weights file loaded (None for a model not loaded from a folder): records computed from
        this model (word statistics, faithfulness figures) keep it, so that a retrained model is not shown them."""
        return weights_digest(self.path) if self.path else None

    @property
    def variant(self) -> str:
        return self.model.config.variant

    @property
    def split_seed(self) -> int:
        """The seed of the train/dev/test split the checkpoint was trained on."""
        return self.config.get("split", {}).get("seed", 0)

    @property
    def name(self) -> str:
        """The paper's name for this model: HN-ATT, HN-AVE or HN-MAX (with its heads if several)."""
        return model_name(asdict(self.model.config))

    @property
    def head_names(self) -> list[str]:
        """Names of the attention heads when there are several: multi-head attention's, CAHAN's passes, or the
        classes of an attention per class."""
        config = self.model.config
        if config.variant == "cahan" and config.context_direction == "bi":
            return ["context before", "context after"]
        if config.class_attention != "none":  # an attention per class (han/nn/class_attention.py)
            return [f"class {label}" for label in self.labels]
        return [f"head {k + 1}" for k in range(config.heads)] if config.heads > 1 else []

    # -------------------------------------------------------------------- text in

    def tokenize(self, text: str) -> Tokenized:
        """Tokenise raw text with the checkpoint's limits; empty text is an error."""
        if not isinstance(text, str) or not text.strip():
            raise HanError("the text is empty")
        doc = tokenize(text, self.limits)
        if not doc.sentences:
            raise HanError("the text has no words")
        if not any(is_word(token) for sentence in doc.sentences for token in sentence):
            raise HanError("the text has no words, only punctuation or symbols: give the model a review to read")
        return doc

    def caveats(self, doc: Tokenized) -> list[str]:
        """Why a prediction on `doc` may say little, in words a user can act on (empty when none)."""
        # Only words with letters count: numbers are mostly unknown (each one is rare) in any language, so
        # "12345" alone is no sign of another language, nor are prices and dates in an English review.
        words = [t for sentence in doc.sentences for t in sentence if any(c.isalpha() for c in t)]
        if not words:
            return [
                "the text has no words with letters, only numbers or symbols: the model was trained on reviews in "
                "words, so the prediction says little"
            ]
        unknown = sum(self.vocab.encode([t])[0] == UNK_ID for t in words)
        if unknown / len(words) >= UNKNOWN_WARNING:
            return [
                f"{unknown} of {len(words)} words are unknown to this model (its vocabulary comes from "
                f"{self.data_description()}); is the text in another language? The prediction says little."
            ]
        return []

    def data_description(self) -> str:
        """'yelp_10k.csv.gz, yelp_open_5k.csv.gz' (the training files), or 'its training reviews'."""
        sources = self.config.get("data", {}).get("sources", [])
        return ", ".join(str(s.get("path", "")).split("/")[-1] for s in sources) or "its training reviews"

    def prepare(self, example: Example) -> Tokenized:
        """An Example (raw or pre-tokenised) -> Tokenized under this checkpoint's limits."""
        return tokenize_document(example.text, example.sentences, self.limits)

    def encode(self, doc: Tokenized) -> list[list[int]]:
        return [self.vocab.encode(s) for s in doc.sentences]

    # -------------------------------------------------------------------- model out

    @torch.inference_mode()  # no autograd bookkeeping at all (~10 % faster than no_grad): results are lists
    def analyse(self, docs: Sequence[Tokenized], batch_size: int = 64) -> Iterator[DocResult]:
        """Run the model on tokenised documents, yielding results in input order.

        Documents are batched by similar length internally; each must have a sentence.
        """
        encoded = [self.encode(d) for d in docs]
        counts = [len(d) for d in encoded]  # sentences per document
        batches = [
            piece  # at most MAX_SENTENCES sentences at once: a batch of the longest documents stays small
            for indices in bucket_batches(counts, batch_size, shuffle=False)
            for piece in within_budget(indices, counts)
        ]
        results: dict[int, DocResult] = {}
        next_index = 0
        for indices in batches:
            batch = collate([encoded[i] for i in indices])
            out = self.model(batch)
            probabilities = out.logits.softmax(dim=-1).cpu()  # (n_docs, n_classes)
            sentence_weights = out.sentence_weights.cpu()  # (n_docs, max_sentences)
            word_weights = split_word_weights(out.word_weights, batch)
            heads = self.heads_of(out, batch)
            for row, i in enumerate(indices):
                n = len(encoded[i])
                results[i] = DocResult(
                    probabilities[row].tolist(),
                    sentence_weights[row, :n].tolist(),
                    word_weights[row],
                    *((heads[0][row, :n].tolist(), heads[1][row]) if heads else ()),
                )
            while next_index in results:  # yield in input order as soon as possible
                yield results.pop(next_index)
                next_index += 1

    def heads_of(self, out: Output, batch: Batch) -> tuple[torch.Tensor, list[list[list[list[float]]]]] | None:
        """With several heads (or CAHAN's two reading directions): (n_docs, max_sentences, r) sentence weights
        and, per document, per sentence, per head, the word weights (padding dropped); None for one head."""
        if not self.head_names or out.word_head_weights is None or out.sentence_head_weights is None:
            return None
        per_head = [
            split_word_weights(out.word_head_weights[..., k], batch) for k in range(out.word_head_weights.size(-1))
        ]
        words = [[list(heads) for heads in zip(*sentences, strict=True)] for sentences in zip(*per_head, strict=True)]
        return out.sentence_head_weights.cpu(), words

    def predict(self, texts: str | Sequence[str]) -> list[dict]:
        """Label and class probabilities for each raw text; one string is one text (a list of one prediction)."""
        if isinstance(texts, str):
            texts = [texts]  # never one prediction per character
        docs = [self.tokenize(t) for t in texts]
        return [self._prediction(r) for r in self.analyse(docs)]

    def _prediction(self, result: DocResult) -> dict:
        return {
            "label": self.labels[result.predicted],
            "probabilities": dict(zip(self.labels, result.probabilities, strict=True)),
        }

    def explain(self, text: str | Tokenized) -> dict:
        """Sentences, tokens, sentence and word weights, prediction and probabilities.

        `display_weight` is sqrt(p_s) * p_w normalised to a maximum of 1 over the document,
        the quantity the paper's Figures 5-6 colour words by (section 3.6). For raw text the result
        also carries the `text` and each sentence's token `spans` ([start, end) in it, or None), so
        a display can show the words as written rather than as the lower-cased tokens the model reads.
        With several attention heads, `heads` and per sentence `head_weights` (p_s per head) and
        `head_word_weights` (per head, p_w per word); the plain weights are the heads' mean.
        """
        doc = self.tokenize(text) if isinstance(text, str) else text
        result = next(self.analyse([doc]))
        # where each token stands in the text, so displays keep the writer's casing and punctuation
        spans = token_spans(text, doc.sentences, self.limits.lowercase) if isinstance(text, str) else None
        shown = display_weights(result.sentence_weights, result.word_weights)
        sentences = [
            {
                "tokens": tokens,
                "weight": p_s,
                "word_weights": p_w,
                "display_weights": d,
                "unknown": [self.vocab.encode([t])[0] == UNK_ID for t in tokens],
                **({"spans": spans[i]} if spans else {}),
                **(
                    {"head_weights": result.sentence_head_weights[i], "head_word_weights": result.word_head_weights[i]}
                    if result.sentence_head_weights is not None and result.word_head_weights is not None
                    else {}
                ),
            }
            for i, (tokens, p_s, p_w, d) in enumerate(
                zip(doc.sentences, result.sentence_weights, result.word_weights, shown, strict=True)
            )
        ]
        return {
            "model": self.name,
            "variant": self.variant,
            **self._prediction(result),
            **({"text": text} if spans else {}),
            "sentences": sentences,
            **({"heads": len(self.head_names), "head_names": self.head_names} if self.head_names else {}),
            "truncated": doc.truncated,
            "warnings": self.caveats(doc),
            "limits": {
                "max_sentences": self.limits.max_sentences,
                "max_words": self.limits.max_words,
                "max_chars": self.limits.max_chars,
            },
        }

    @torch.inference_mode()
    def self_attention(self, text: str | Tokenized) -> dict:
        """The Transformer encoders' self-attention maps of one document (empty for models without one).

        Per level: "word" (per sentence, or for a flat model the whole document) and "sentence" (the document),
        each [layer][head][query][key] over the real items only (rows sum to 1); `tokens` the words of each row."""
        doc = self.tokenize(text) if isinstance(text, str) else text
        encoded = self.encode(doc)
        self.model.record_self_attention(True)
        try:
            maps = self.model(collate([encoded])).self_attention or {}
        finally:
            self.model.record_self_attention(False)
        words = [[t for s in doc.sentences for t in s]] if self.model.flat else doc.sentences
        lengths = {"word": [len(w) for w in words], "sentence": [len(doc.sentences)]}
        out: dict = {"tokens": words}
        for level, layers in maps.items():  # per layer (rows, heads, T, T)
            out[level] = [
                [layer[row, :, :n, :n].tolist() for layer in layers] for row, n in enumerate(lengths[level])
            ]  # per row: [layer][head][query][key]
        return out

    def context_effect(self, text: str | Tokenized) -> dict:
        """How a document's context changes each sentence's word weights (CAHAN, and a flat model, whose in-context
        weights are each sentence's share of the document-wide attention, renormalised per sentence; for the other
        variants there is no change by construction): p_w of each sentence read in the document, and read alone.

        Per sentence: tokens, `in_context` and `alone` weights, their `change` (in context - alone) and the total
        variation distance between the two distributions (0: context changes nothing, 1: disjoint)."""
        doc = self.tokenize(text) if isinstance(text, str) else text
        in_context = next(self.analyse([doc])).word_weights
        if self.model.flat:  # p_w over the whole document: each sentence's share of it, as a distribution
            in_context = [[w / (sum(words) or 1.0) for w in words] for words in in_context]
        alone = [result.word_weights[0] for result in self.analyse([Tokenized([s]) for s in doc.sentences])]
        sentences: list[dict] = []
        tvds: list[float] = []
        for tokens, inside, single in zip(doc.sentences, in_context, alone, strict=True):
            change = [a - b for a, b in zip(inside, single, strict=True)]
            tvds.append(0.5 * sum(abs(c) for c in change))
            sentences.append(
                {"tokens": tokens, "in_context": inside, "alone": single, "change": change, "tvd": tvds[-1]}
            )
        return {
            "model": self.name,
            "reads_context": self.model.reads_context,
            "sentences": sentences,
            "mean_tvd": sum(tvds) / len(tvds),
        }

    def predict_examples(self, examples: Sequence[Example]) -> list[str | None]:
        """Predicted label per example (raw or pre-tokenised); None for an empty document."""
        docs = [self.prepare(e) for e in examples]
        kept = [i for i, d in enumerate(docs) if d.sentences]
        labels: list[str | None] = [None] * len(docs)
        for i, result in zip(kept, self.analyse([docs[i] for i in kept]), strict=True):
            labels[i] = self.labels[result.predicted]
        return labels

    def evaluate(self, data: Dataset | Sequence[Example]) -> dict:
        """Accuracy, per-class accuracy and confusion matrix (rows gold, columns predicted)."""
        examples = data.examples if isinstance(data, Dataset) else list(data)
        unknown = sorted({e.label for e in examples} - set(self.labels))
        if unknown:
            raise HanError(
                f"labels {', '.join(unknown)} are not among the checkpoint's labels ({', '.join(self.labels)})"
            )
        predicted = self.predict_examples(examples)
        kept = [i for i, label in enumerate(predicted) if label is not None]
        if not kept:
            raise HanError("no document to evaluate (all are empty)")
        gold = [self.labels.index(examples[i].label) for i in kept]
        classes = [self.labels.index(label) for label in predicted if label is not None]  # in the order of kept
        return confusion_metrics(gold, classes, self.labels) | {"skipped_empty": len(examples) - len(kept)}


def confusion_metrics(gold: Sequence[int], predicted: Sequence[int], labels: Sequence[str]) -> dict:
    """Accuracy, n, per-class accuracy (recall) and confusion matrix from class indices."""
    k = len(labels)
    matrix = [[0] * k for _ in range(k)]
    for g, p in zip(gold, predicted, strict=True):
        matrix[g][p] += 1
    n = len(gold)
    return {
        "accuracy": sum(matrix[i][i] for i in range(k)) / n if n else 0.0,
        "n": n,
        "per_class_accuracy": {
            labels[i]: (matrix[i][i] / sum(matrix[i]) if sum(matrix[i]) else None) for i in range(k)
        },
        "confusion_matrix": matrix,
        "labels": list(labels),
    }
