"""Word vocabulary: built from the training split only, rare words become UNK (the paper)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Container, Iterable
from pathlib import Path

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1


class Vocab:
    """Maps word tokens to ids; id 0 is padding, id 1 stands for any unknown word."""

    def __init__(self, words: Iterable[str]) -> None:
        self.itos: list[str] = [PAD, UNK] + [w for w in words if w not in (PAD, UNK)]
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary has duplicate words")

    @classmethod
    def build(
        cls,
        documents: Iterable[list[list[str]]],
        min_count: int = 6,
        max_size: int | None = None,
        known: Container[str] | None = None,
    ) -> Vocab:
        """Keep words seen at least `min_count` times (paper: "more than 5"), most frequent first.

        `max_size` caps the number of real words (PAD and UNK not counted); ties are broken
        alphabetically so that the vocabulary is the same on every run. With `known` (the words
        of pretrained vectors), words outside it are left out (they become UNK).
        """
        counts: Counter[str] = Counter()
        for sentences in documents:
            for sentence in sentences:
                counts.update(sentence)
        return cls.from_counts(counts.items(), min_count, max_size, known)

    @classmethod
    def from_counts(
        cls,
        counts: Iterable[tuple[str, int]],
        min_count: int = 6,
        max_size: int | None = None,
        known: Container[str] | None = None,
    ) -> Vocab:
        """`build` from (word, occurrences) pairs already counted (e.g. over a corpus store's arrays)."""
        kept = sorted(
            ((w, c) for w, c in counts if c >= min_count and (known is None or w in known)),
            key=lambda pair: (-pair[1], pair[0]),
        )
        words = [w for w, _ in kept]
        return cls(words[:max_size] if max_size is not None else words)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def encode(self, sentence: list[str]) -> list[int]:
        """Word tokens -> ids, UNK for words outside the vocabulary."""
        return [self.stoi.get(w, UNK_ID) for w in sentence]

    def digest(self) -> str:
        """sha256 of the words in id order: checkpoints keep it beside the weights, whose embedding rows
        follow this order, so a vocab.txt edited, re-sorted or taken from another model is caught on load."""
        return hashlib.sha256("\n".join(self.itos).encode("utf-8")).hexdigest()

    def save(self, path: Path) -> None:
        path.write_text("\n".join(self.itos) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Vocab:
        """Read vocab.txt: one word per line, PAD and UNK first."""
        words = path.read_text(encoding="utf-8").split("\n")
        if words and words[-1] == "":
            words.pop()
        if words[:2] != [PAD, UNK]:
            raise ValueError(f"{path.name}: the first two lines must be {PAD} and {UNK}")
        return cls(words[2:])
