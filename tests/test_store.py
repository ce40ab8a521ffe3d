"""The corpus store (han/data/store.py): exact round trip, same bytes for any number of workers, damage detected
and rebuilt, interrupted builds never trusted, batches gathered from it equal to the list path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
import torch

import han.data.store_writer as store_module
from han.data.batches import collate
from han.data.prepare import prepare
from han.data.store import ARRAYS, DamagedStore, open_store
from han.data.store_writer import build_store, corpus_store
from han.data.text import TextLimits, corpus_key, tokenize_document
from han.data.vocab import Vocab
from han.errors import HanError

from .conftest import ROOT, TANG, YELP_10K

GIVEN = [["already", "tokenised"], ["from", "a", ".ss", "file"]]


def filler(documents):
    """A corpus_store `fill` that adds documents() to the writer, one at a time."""
    return lambda writer: [writer.add(text, given) for text, given in documents()]


def documents(yelp_slice, n=120):
    """Raw reviews, one Tang-style pre-tokenised document and one without a word, in that order."""
    texts = [e.text for e in yelp_slice.examples[:n]] + [None, "  \n\n  "]
    given = [None] * n + [GIVEN, None]
    return texts, given


def test_store_round_trips_every_document_exactly(tmp_path, yelp_slice):
    texts, given = documents(yelp_slice)
    limits = TextLimits(max_sentences=8, max_words=12)  # cut some documents, so the limits show
    corpus = build_store(zip(texts, given, strict=True), tmp_path / "store", limits)
    expected = [tokenize_document(t, g, limits).sentences for t, g in zip(texts, given, strict=True)]
    assert len(corpus) == len(expected)
    assert [corpus.sentences(i) for i in range(len(corpus))] == expected
    assert corpus.sentences(len(texts) - 2) == GIVEN and corpus.sentences(len(texts) - 1) == []
    meta = corpus.meta
    assert meta["words"] == sum(len(s) for doc in expected for s in doc)
    assert meta["sentences"] == sum(len(doc) for doc in expected)
    assert meta["documents_cut"]["sentences"] == sum(
        bool(tokenize_document(t, g, limits).truncated.get("sentences")) for t, g in zip(texts, given, strict=True)
    )
    first = list(dict.fromkeys(expected[0][0]))
    assert corpus.lexicon[: len(first)] == first  # ids in order of first appearance
    counts = corpus.token_counts(range(len(corpus)))
    assert counts[corpus.lexicon.index(expected[0][0][0])] == sum(
        s.count(expected[0][0][0]) for doc in expected for s in doc
    )
    scattered = [i for i in range(len(corpus)) if i % 3 != 1]  # runs of adjacent documents and gaps, unsorted
    found = corpus.token_counts(reversed(scattered), chunk=7)  # chunks that cut the runs
    wanted = Counter(token for i in scattered for sentence in expected[i] for token in sentence)
    assert {corpus.lexicon[i]: int(n) for i, n in enumerate(found) if n} == dict(wanted)
    assert not corpus.token_counts([]).any()
    assert isinstance(corpus.words, np.memmap)  # mapped from disk, not read into memory


def test_parallel_tokenisation_writes_the_same_store_as_one_worker(tmp_path, monkeypatch, yelp_slice):
    monkeypatch.setattr(store_module, "CHUNK_DOCS", 7)  # many chunks, several in flight at once
    texts, given = documents(yelp_slice)
    one = build_store(zip(texts, given, strict=True), tmp_path / "one", workers=1)
    two = build_store(zip(texts, given, strict=True), tmp_path / "two", workers=2)
    for name in [f"{a}.i32" for a in ARRAYS] + ["lexicon.json", "meta.json"]:
        assert (one.folder / name).read_bytes() == (two.folder / name).read_bytes(), name


def test_a_damaged_store_is_refused_and_rebuilt_with_a_message(tmp_path, monkeypatch, yelp_slice, capsys):
    monkeypatch.setenv("HAN_CACHE", str(tmp_path))
    texts, given = documents(yelp_slice, 30)
    key = corpus_key(texts, given, TextLimits())
    build = lambda: zip(texts, given, strict=True)
    corpus = corpus_store(filler(build), key)
    folder, good = corpus.folder, [corpus.sentences(i) for i in range(len(corpus))]
    words = folder / "words.i32"
    original = words.read_bytes()

    words.write_bytes(original[:-4])  # truncated
    with pytest.raises(DamagedStore, match="truncated"):
        open_store(folder)
    rebuilt = corpus_store(filler(build), key)
    assert "building it again" in capsys.readouterr().err
    assert [rebuilt.sentences(i) for i in range(len(rebuilt))] == good

    damaged = bytearray(words.read_bytes())
    damaged[8] ^= 0xFF  # one flipped byte: same size, other content
    words.write_bytes(bytes(damaged))
    with pytest.raises(DamagedStore, match="corrupt"):
        open_store(folder)
    again = corpus_store(filler(build), key)
    assert [again.sentences(i) for i in range(len(again))] == good

    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps(meta | {"documents": meta["documents"] + 1}))
    with pytest.raises(DamagedStore):
        open_store(folder)


def test_an_interrupted_build_leaves_nothing_that_is_trusted_later(tmp_path, monkeypatch, yelp_slice):
    monkeypatch.setenv("HAN_CACHE", str(tmp_path))
    monkeypatch.setattr(store_module, "CHUNK_DOCS", 5)
    texts, given = documents(yelp_slice, 40)
    key = corpus_key(texts, given, TextLimits())

    def interrupted():
        for i, document in enumerate(zip(texts, given, strict=True)):
            if i == 23:
                raise KeyboardInterrupt
            yield document

    with pytest.raises(KeyboardInterrupt):
        corpus_store(filler(interrupted), key)
    assert list(tmp_path.iterdir()) == []  # no store, no partial folder
    corpus = corpus_store(filler(lambda: zip(texts, given, strict=True)), key)
    assert len(corpus) == len(texts)


def test_batches_gathered_from_the_store_equal_collate_of_the_same_documents(yelp_slice):
    data = prepare(yelp_slice, min_count=2)
    docs, targets = data.docs["train"], data.targets["train"]
    indices = [5, 0, 17, 3, 250]
    lists = [docs[i] for i in indices]
    gathered = docs.batch(indices, [targets[i] for i in indices])
    expected = collate(lists, [targets[i] for i in indices])
    for field in ("words", "word_counts", "sentence_counts", "labels"):
        assert torch.equal(getattr(gathered, field), getattr(expected, field)), field
    assert docs.sentence_counts.tolist() == [len(docs[i]) for i in range(len(docs))]


def test_offsets_are_int32_while_the_total_fits_and_int64_beyond_it():
    from han.data.store import _offsets

    int32_max = np.iinfo(np.int32).max
    small = _offsets(np.array([3, 0, 2], dtype=np.int32))
    assert small.dtype == np.int32 and small.tolist() == [0, 3, 3, 5]
    at_limit = _offsets(np.array([int32_max - 1, 1], dtype=np.int32))
    assert at_limit.dtype == np.int32 and at_limit.tolist() == [0, int32_max - 1, int32_max]
    beyond = _offsets(np.array([int32_max, 1, 5], dtype=np.int32))  # int32 would wrap to a negative offset here
    assert beyond.dtype == np.int64 and beyond.tolist() == [0, int32_max, int32_max + 1, int32_max + 6]
    assert _offsets(np.zeros(0, dtype=np.int32)).tolist() == [0]


def test_prepare_from_the_store_equals_tokenising_and_encoding_each_document(yelp_slice):
    data = prepare(yelp_slice, min_count=3)
    examples = yelp_slice.examples
    train_tokens = [tokenize_document(examples[i].text, None, TextLimits()).sentences for i in data.docs["train"].docs]
    assert data.vocab.itos == Vocab.build(train_tokens, min_count=3).itos
    for split in ("train", "dev", "test"):
        for position, doc in enumerate(data.docs[split].docs.tolist()[:50]):
            sentences = tokenize_document(examples[doc].text, None, TextLimits()).sentences
            assert data.docs[split][position] == [data.vocab.encode(s) for s in sentences]
    assert data.targets["dev"] == [yelp_slice.labels.index(examples[i].label) for i in data.docs["dev"].docs]


def test_epochs_zero_builds_the_store_and_vectors_and_trains_nothing(tmp_path):
    out = tmp_path / "run"
    env = {"HAN_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "han", "train", "--data", str(YELP_10K), "--max-docs", "300", "--epochs", "0",
         "--embeddings", "random", "--out", str(out), "--quiet"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["epochs"] == 0 and summary["documents"]["train"] > 200 and summary["vocabulary"] > 2
    assert not (out / "config.json").exists()  # nothing trained, no checkpoint
    assert list((tmp_path / "cache").glob("store-*/meta.json"))
    negative = subprocess.run(
        [sys.executable, "-m", "han", "train", "--data", str(YELP_10K), "--epochs", "-1", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert negative.returncode != 0 and "epochs cannot be negative" in negative.stderr
    assert "Traceback" not in negative.stderr


def test_a_run_from_the_cached_store_equals_a_run_that_tokenised_the_raw_text(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from han.data.dataset import read_dataset
    from han.training.recipes import recipe_config
    from han.training.train import train

    reviews = read_dataset([YELP_10K], max_docs=250)

    cfg = recipe_config("default", embeddings="random", epochs=1, min_count=2, progress=False)
    monkeypatch.setenv("HAN_CACHE", "off")
    raw = train(reviews, tmp_path / "raw", cfg)  # tokenised into a throw-away store
    monkeypatch.setenv("HAN_CACHE", str(tmp_path / "cache"))
    train(reviews, tmp_path / "built", cfg)  # builds the cached store
    cached = train(reviews, tmp_path / "cached", cfg)  # maps it
    assert cached["test_predictions"] == raw["test_predictions"] and cached["dev_accuracy"] == raw["dev_accuracy"]
    weights = [load_file(tmp_path / run / "model.safetensors") for run in ("raw", "cached")]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert (tmp_path / "raw" / "vocab.txt").read_text() == (tmp_path / "cached" / "vocab.txt").read_text()


def test_inference_batches_stay_within_the_sentence_budget():
    from han.data.batches import within_budget

    counts = [60] * 50 + [1] * 10
    pieces = within_budget(list(range(60)), counts, budget=200)
    assert [i for piece in pieces for i in piece] == list(range(60))  # every document once, in order
    assert all(sum(counts[i] for i in piece) <= 200 for piece in pieces)
    assert within_budget([0], [500], budget=200) == [[0]]  # a document longer than the budget goes alone


def test_releasing_or_never_holding_the_texts_changes_nothing_but_memory(tmp_path, monkeypatch):
    from han.data.dataset import read_dataset
    from han.training.recipes import recipe_config
    from han.training.train import train

    monkeypatch.setenv("HAN_CACHE", str(tmp_path / "cache"))
    cfg = recipe_config("default", embeddings="random", epochs=1, min_count=2, progress=False)
    kept, released = (read_dataset([YELP_10K], max_docs=250) for _ in range(2))
    fingerprint = kept.fingerprint()
    a = train(kept, tmp_path / "kept", cfg)
    b = train(released, tmp_path / "released", cfg, release_texts=True)
    assert all(e.text is None and e.sentences is None for e in released.examples)
    assert [e.label for e in released.examples] == [e.label for e in kept.examples]
    assert released.fingerprint() == fingerprint  # kept for the checkpoint's record
    assert a["test_predictions"] == b["test_predictions"]
    config = json.loads((tmp_path / "released" / "config.json").read_text())
    assert config["data"]["fingerprint"] == fingerprint
    monkeypatch.setenv("HAN_CACHE", "off")  # no cached store: the files are read again, a document at a time
    never_held = read_dataset([YELP_10K], max_docs=250, keep_text=lambda index: False)
    assert all(e.text is None for e in never_held.examples) and never_held.fingerprint() == fingerprint
    c = train(never_held, tmp_path / "streamed", cfg)
    assert c["test_predictions"] == a["test_predictions"]


def test_reading_one_split_keeps_only_its_texts_and_gives_the_same_documents_and_statistics(
    tiny_checkpoints, monkeypatch
):
    import han
    from han.data.dataset import checkpoint_split, read_like
    from han.interpret import stats

    model = han.load(tiny_checkpoints["att"])
    full = read_like(model.config)
    test_only = read_like(model.config, splits=("test",))
    assert test_only.fingerprint() == full.fingerprint()  # computed while reading
    expected = checkpoint_split(model.config, full, "test")
    found = checkpoint_split(model.config, test_only, "test")
    assert [(e.label, e.text) for e in found] == [(e.label, e.text) for e in expected]
    with_text = sum(e.text is not None for e in test_only.examples)
    assert with_text == len(expected) < len(full.examples) // 5
    a, b = stats.collect(model, full, "test"), stats.collect(model, test_only, "test")
    assert a.words == b.words and all(np.array_equal(getattr(a, k), getattr(b, k)) for k in stats.ARRAYS)
    fingerprint = full.fingerprint()
    c = stats.collect(model, full, "test", release_texts=True)  # texts let go as analysed: same figures
    assert c.words == a.words and all(np.array_equal(getattr(a, k), getattr(c, k)) for k in stats.ARRAYS)
    assert all(e.text is None for e in checkpoint_split(model.config, full, "test"))  # let go
    assert full.fingerprint() == fingerprint
    labels_only = read_like(model.config, splits=())  # no text kept: collect takes the documents from training's
    assert all(e.text is None for e in labels_only.examples) and labels_only.fingerprint() == fingerprint
    assert stats._stored_corpus(labels_only, model) is not None  # token store (in the cache), else the files
    with monkeypatch.context() as patch:
        patch.setattr(type(labels_only), "reread", lambda *a: pytest.fail("the files were read again"))
        progress: list[tuple[int, int]] = []
        d = stats.collect(model, labels_only, "test", on_progress=lambda done, total: progress.append((done, total)))
    assert d.words == a.words and all(np.array_equal(getattr(a, k), getattr(d, k)) for k in stats.ARRAYS)
    assert progress[-1] == (len(expected), len(expected)) and d.documents == a.documents
    with monkeypatch.context() as patch:  # no store: the files are read again as it goes
        patch.setattr(stats, "_stored_corpus", lambda dataset, model: None)
        e = stats.collect(model, labels_only, "test")
    assert e.words == a.words and all(np.array_equal(getattr(a, k), getattr(e, k)) for k in stats.ARRAYS)
    sample = stats.collect(model, labels_only, "test", max_docs=7, seed=3)
    same_sample = stats.collect(model, read_like(model.config), "test", max_docs=7, seed=3)
    assert sample.documents == 7 and np.array_equal(sample.attention, same_sample.attention)


def test_stats_from_the_token_store_never_imports_nltk(tiny_checkpoints, tmp_path):
    """`han stats` over a corpus training stored reads tokens, never tokenises: NLTK (which brings scipy,
    scikit-learn and pandas, ~170 MB) stays unimported; the same command without the store imports it."""
    out = tmp_path / "stats.npz"
    args = ["stats", "--checkpoint", str(tiny_checkpoints["att"]), "--data", str(YELP_10K), "--max-docs", "600"]
    script = (
        "import sys; from han.__main__ import main; "
        f"code = main({[*args, '--out', str(out), '--overwrite']!r}); "  # the second run replaces the first's file
        "print(code, 'nltk' in sys.modules, 'sklearn' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0 and out.is_file(), done.stderr[-2000:]
    assert done.stdout.split()[-3:] == ["0", "False", "False"]
    env = {**os.environ, "HAN_CACHE": str(tmp_path / "empty-cache")}  # no store: the texts are tokenised again
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300, env=env
    )
    assert done.returncode == 0 and done.stdout.split()[-3:-1] == ["0", "True"], done.stderr[-2000:]


def test_analysis_batches_stay_within_the_sentence_budget(tiny_checkpoints, monkeypatch):
    """However long the documents, `analyse` feeds the model at most MAX_SENTENCES sentences at once."""
    import han
    import han.checkpoint.classifier as classifier_module
    from han.data.batches import within_budget

    model = han.load(tiny_checkpoints["att"])
    docs = [model.tokenize(" ".join(f"Sentence {i} of {n} is fine." for i in range(n))) for n in (3, 28, 7, 25, 1)]
    expected = list(model.analyse(docs))
    monkeypatch.setattr(classifier_module, "within_budget", lambda i, c: within_budget(i, c, budget=30))
    seen: list[int] = []
    forward = model.model.forward

    def counting(batch):  # records how many sentences each forward pass is given
        seen.append(batch.words.size(0))
        return forward(batch)

    monkeypatch.setattr(model.model, "forward", counting)
    found = list(model.analyse(docs))
    assert sorted(seen) == [11, 25, 28]  # the long documents alone, 1 + 3 + 7 sentences together
    for a, b in zip(found, expected, strict=True):  # the same results, however the documents were grouped
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-6)
        assert a.sentence_weights == pytest.approx(b.sentence_weights, abs=1e-6)


def test_keep_text_works_for_pre_tokenised_files_and_refuses_other_data(tiny_checkpoints):
    import han
    from han.data.dataset import read_dataset, read_like

    path = next(TANG.glob("*.ss"))
    full = read_dataset([path])
    some = read_dataset([path], keep_text=lambda i: i % 2 == 0)
    assert some.fingerprint() == full.fingerprint()
    assert [e.sentences is None for e in some.examples] == [i % 2 == 1 for i in range(len(full.examples))]
    config = han.load(tiny_checkpoints["att"]).config
    with pytest.raises(HanError, match="not the data this checkpoint was trained on"):
        read_like(config, [path], splits=("test",))


def test_a_plain_script_without_a_main_guard_can_tokenise_in_parallel(tmp_path):
    """Workers must not re-run the caller's script: a user's unguarded script would spawn workers for ever."""
    script = tmp_path / "script.py"
    script.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "import han.data.store_writer as sw\n"
        "sw.CHUNK_DOCS = 5\n"
        "texts = [f'Review {i}. It was fine, or not.' for i in range(40)]\n"
        f"store = sw.build_store(((t, None) for t in texts), Path({str(tmp_path / 'store')!r}), workers=2)\n"
        "print('documents', len(store))\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "documents 40" and "bootstrapping" not in done.stderr
