"""The vocabulary (han/data/vocab.py): which words it keeps and in what order, vocab.txt, and its digest.

A checkpoint's embedding rows follow the vocabulary's order and the digest is how a load knows vocab.txt is the
weights' own; each test compares with a computation of its own (hashlib over the file, counts by hand).
Each fails on a mutant that survived tests/test_data.py (scripts/mutation.py vocab).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from han.data.vocab import PAD, UNK, Vocab

ROOT = Path(__file__).resolve().parents[1]  # the package under test, wherever it is (mutmut runs a copy)
COUNTS = [("stew", 6), ("bread", 9), ("apple", 6), ("zest", 5), ("cake", 9), ("tea", 7)]


def test_the_default_keeps_words_seen_six_times_or_more_as_the_paper_more_than_five():
    assert Vocab.from_counts(COUNTS).itos[2:] == ["bread", "cake", "tea", "apple", "stew"]  # zest (5) is out
    documents = [[["zest"] * 5 + ["stew"] * 6, ["tea"]]]  # Vocab.build counts across sentences and documents
    assert Vocab.build(documents).itos == [PAD, UNK, "stew"]
    assert Vocab.build(documents, min_count=5).itos == [PAD, UNK, "stew", "zest"]


def test_most_frequent_words_come_first_and_ties_go_alphabetically_whatever_the_input_order():
    expected = ["bread", "cake", "tea", "apple", "stew", "zest"]
    assert Vocab.from_counts(COUNTS, min_count=1).itos[2:] == expected
    assert Vocab.from_counts(list(reversed(COUNTS)), min_count=1).itos[2:] == expected


def test_max_size_keeps_the_most_frequent_real_words_and_none_keeps_them_all():
    assert Vocab.from_counts(COUNTS, min_count=1, max_size=3).itos == [PAD, UNK, "bread", "cake", "tea"]
    assert len(Vocab.from_counts(COUNTS, min_count=1, max_size=None)) == 2 + len(COUNTS)
    documents = [[["a", "a", "b"], ["a", "c", "c", "d"]]]
    assert Vocab.build(documents, min_count=1, max_size=2).itos == [PAD, UNK, "a", "c"]


def test_words_outside_the_pretrained_vectors_are_left_out():
    assert Vocab.from_counts(COUNTS, min_count=1, known={"tea", "zest", "fig"}).itos[2:] == ["tea", "zest"]
    documents = [[["tea", "tea", "fig"], ["tea", "stew"]]]
    assert Vocab.build(documents, min_count=1, known={"stew", "fig"}).itos[2:] == ["fig", "stew"]


def test_membership_and_unknown_words():
    vocab = Vocab(["tea", "cake"])
    assert "tea" in vocab and PAD in vocab and "coffee" not in vocab
    assert vocab.encode(["cake", "coffee", "tea"]) == [3, 1, 2]


def test_a_vocabulary_with_a_word_twice_is_refused():
    with pytest.raises(ValueError) as refused:
        Vocab(["tea", "cake", "tea"])
    assert str(refused.value) == "vocabulary has duplicate words"


def test_the_digest_is_the_sha256_of_vocab_txt_without_its_last_newline(tmp_path):
    vocab = Vocab(["café", "n't", "thé"])  # non-ASCII words: hashed as UTF-8, as vocab.txt is written
    vocab.save(tmp_path / "vocab.txt")
    written = (tmp_path / "vocab.txt").read_bytes()
    assert written == "<pad>\n<unk>\ncafé\nn't\nthé\n".encode()
    assert vocab.digest() == hashlib.sha256(written[:-1]).hexdigest()
    assert Vocab.load(tmp_path / "vocab.txt").digest() == vocab.digest()


def test_the_digest_changes_with_the_order_or_the_words():
    digest = Vocab(["tea", "cake"]).digest()
    assert Vocab(["cake", "tea"]).digest() != digest  # re-sorted: the embedding rows would be swapped
    assert Vocab(["tea", "cakes"]).digest() != digest
    assert Vocab(["tea", "cake", "pie"]).digest() != digest


def test_a_vocab_txt_without_its_final_newline_loses_no_word(tmp_path):
    (tmp_path / "vocab.txt").write_text("<pad>\n<unk>\ntea\ncake", encoding="utf-8")  # hand-edited
    assert Vocab.load(tmp_path / "vocab.txt").itos == [PAD, UNK, "tea", "cake"]


def test_a_vocab_txt_not_starting_with_pad_and_unk_is_refused_by_name(tmp_path):
    (tmp_path / "vocab.txt").write_text("tea\n<pad>\n<unk>\n", encoding="utf-8")
    with pytest.raises(ValueError) as refused:
        Vocab.load(tmp_path / "vocab.txt")
    assert str(refused.value) == "vocab.txt: the first two lines must be <pad> and <unk>"


def test_vocab_txt_is_utf8_whatever_the_locale(tmp_path):
    vocab = Vocab(["café", "thé"])
    vocab.save(tmp_path / "here.txt")  # this process: a UTF-8 locale
    # a second process in an ASCII locale without Python's UTF-8 mode (open() would default to ASCII there)
    # writes the same vocabulary and reads this one
    script = (
        "import sys; from pathlib import Path; from han.data.vocab import Vocab; a, b = map(Path, sys.argv[1:]);"
        "w = ['caf\\u00e9', 'th\\u00e9']; Vocab(w).save(a); print(Vocab.load(b).itos[2:] == w)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONUTF8", "PYTHONIOENC"))}
    env |= {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", script, str(tmp_path / "ascii.txt"), str(tmp_path / "here.txt")]
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "True", run.stderr[-500:]
    assert (
        (tmp_path / "ascii.txt").read_bytes()
        == (tmp_path / "here.txt").read_bytes()
        == "<pad>\n<unk>\ncafé\nthé\n".encode()
    )
    assert Vocab.load(tmp_path / "ascii.txt").itos == vocab.itos
