"""The labels-only read of data files is kept in the cache: a warm start does not parse the files again."""

from __future__ import annotations

import csv
import dataclasses
import gzip

import pytest

import han.data.dataset
from han.data import label_cache
from han.data.dataset import read_dataset

from .conftest import TANG


def _write_reviews(path, reviews):
    with gzip.open(path, "wt", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["stars", "text"])
        writer.writerows(reviews)


def _seen(dataset):
    return [(e.label, e.split, e.text, e.sentences) for e in dataset.examples]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("HAN_CACHE", str(folder))
    return folder


def test_a_second_labels_only_read_comes_from_the_cache_and_equals_a_full_read(tmp_path, cache, monkeypatch):
    data = tmp_path / "reviews.csv.gz"
    _write_reviews(data, [(1 + i % 5, f"review number {i}. it was {'good' if i % 2 else 'bad'}.") for i in range(50)])
    first = read_dataset([data], max_docs=40, labels_only=True)
    assert len(list(cache.glob("labels-*.npz"))) == 1
    monkeypatch.setattr(han.data.dataset, "read_table", lambda *a, **k: pytest.fail("the file was parsed again"))
    again = read_dataset([data], max_docs=40, labels_only=True)
    assert _seen(again) == _seen(first) and all(e.text is None for e in again.examples)
    assert again.sources == first.sources and again.read_args == first.read_args and again.labels == first.labels
    monkeypatch.undo()
    full = read_dataset([data], max_docs=40)  # texts kept: the fingerprint hashes them as read
    assert again.fingerprint() == full.fingerprint() == first.fingerprint()
    assert [e.label for e in full.examples] == [e.label for e in again.examples]


def test_documents_without_text_share_one_immutable_example_per_label_and_split(tmp_path, cache):
    """A labels-only read (parsed or cached) and a dataset whose texts were let go hold one Example per (label,
    split), not one per document; an Example cannot be changed, so the sharing cannot leak a change."""
    data = tmp_path / "reviews.csv.gz"
    _write_reviews(data, [(1 + i % 5, f"review {i}.") for i in range(60)])
    parsed = read_dataset([data], labels_only=True)
    cached = read_dataset([data], labels_only=True)
    full = read_dataset([data])
    fingerprint = full.fingerprint()
    full.release_texts()
    for dataset in (parsed, cached, full):
        assert len(dataset.examples) == 60 and len({id(e) for e in dataset.examples}) == 5
        assert [e.label for e in dataset.examples] == [str(1 + i % 5) for i in range(60)]
    assert full.fingerprint() == fingerprint == cached.fingerprint()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cached.examples[0].text = "a text for every document of this label"  # type: ignore[misc]


def test_changed_files_or_read_options_are_read_again(tmp_path, cache):
    data = tmp_path / "reviews.csv.gz"
    _write_reviews(data, [(1 + i % 5, f"review {i}.") for i in range(30)])
    before = read_dataset([data], labels_only=True)
    assert len(read_dataset([data], max_docs=10, labels_only=True).examples) == 10  # other options: another entry
    _write_reviews(data, [(5 - i % 5, f"review {i}.") for i in range(30)])  # same size, other labels
    after = read_dataset([data], labels_only=True)
    assert [e.label for e in after.examples] != [e.label for e in before.examples]
    assert after.fingerprint() != before.fingerprint()
    assert len(list(cache.glob("labels-*.npz"))) == 3


def test_tang_splits_survive_the_cache(cache):
    files = sorted(TANG.glob("*.ss"))
    first, again = (read_dataset(files, labels_only=True) for _ in range(2))
    assert _seen(again) == _seen(first) and {e.split for e in again.examples} == {"train", "dev", "test"}


def test_a_damaged_entry_is_read_again_and_the_cache_can_be_off(tmp_path, cache, monkeypatch):
    data = tmp_path / "reviews.csv.gz"
    _write_reviews(data, [(1 + i % 5, f"review {i}.") for i in range(30)])
    first = read_dataset([data], labels_only=True)
    (entry,) = cache.glob("labels-*.npz")
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    assert _seen(read_dataset([data], labels_only=True)) == _seen(first)
    assert label_cache.load(entry.name.removeprefix("labels-").removesuffix(".npz")) is not None  # written again
    monkeypatch.setenv("HAN_CACHE", "off")
    assert label_cache.cache_key([data], {}) is None
    assert _seen(read_dataset([data], labels_only=True)) == _seen(first)
