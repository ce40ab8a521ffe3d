"""Readers, label mapping, splits, bucketing and the text pipeline, on the real files."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import tarfile
from collections import Counter

import pytest
import torch

from han.data.dataset import (
    Example,
    assign_splits,
    bucket_batches,
    normalize_label,
    read_dataset,
    read_table,
    split_sizes,
)
from han.data.text import TextLimits, decode_text, split_sentences, tokenize
from han.data.vocab import PAD_ID, UNK_ID, Vocab
from han.errors import HanError
from han.training.train import prepare

from .conftest import IMDB, TANG, YELP_10K, YELP_OPEN


def test_yelp_stars_layout_is_recognised():
    data = read_dataset([YELP_10K], max_docs=300)
    assert data.sources[0]["format"] == "table/yelp-stars"
    assert len(data.examples) == 300
    assert set(data.labels) <= {"1", "2", "3", "4", "5"}


def test_yelp_label2_layout_maps_review_stars_to_ratings():
    data = read_dataset([YELP_OPEN], max_docs=400)
    assert data.sources[0]["format"] == "table/yelp-label2"
    assert data.labels == ["1", "2", "3", "4", "5"]


def test_both_yelp_files_combine_into_15000_reviews_with_the_documented_counts():
    data = read_dataset([YELP_10K, YELP_OPEN])
    counts = Counter(e.label for e in data.examples)
    # data README: 749/927/1461/3526/3337 + 750/435/516/1111/2188
    assert counts == {"1": 1499, "2": 1362, "3": 1977, "4": 4637, "5": 5525}


@pytest.mark.parametrize(
    "value, name", [("5", "5"), (5, "5"), ("4.0", "4"), ("Review Stars: 3.0", "3"), ("pos", "pos"), (" 10 ", "10")]
)
def test_labels_keep_their_rating_names(value, name):
    assert normalize_label(value) == name


def _rows(n: int) -> list[dict]:
    with gzip.open(YELP_10K, "rt", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return [next(reader) for _ in range(n)]


def test_json_lines_like_review_json_are_streamed(tmp_path):
    path = tmp_path / "review.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for row in _rows(20):
            f.write(
                json.dumps({"review_id": row["review_id"], "stars": float(row["stars"]), "text": row["text"]}) + "\n"
            )
    data = read_dataset([path], max_docs=15)
    assert len(data.examples) == 15
    assert data.sources[0]["format"] == "table/yelp-stars"


def test_tsv_with_named_columns(tmp_path):
    path = tmp_path / "reviews.tsv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t")
        writer.writerow(["body", "rating"])
        for row in _rows(10):
            writer.writerow([row["text"].replace("\t", " "), row["stars"]])
    data = read_dataset([path], text_col="body", label_col="rating")
    assert len(data.examples) == 10


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("body,rating\nnice place,5\n")
    with pytest.raises(HanError, match="cannot tell the text and label columns"):
        read_dataset([path])
    with pytest.raises(HanError, match="no column 'review'"):
        read_dataset([path], text_col="review", label_col="rating")


def test_yelp_stars_outside_1_to_5_are_rejected(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("stars,text\n5,great\n7,what\n")
    with pytest.raises(HanError, match=r"row 2.*outside the 1-5 stars"):
        read_dataset([path])


def test_empty_inputs_are_clear_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("stars,text\n")
    with pytest.raises(HanError, match="holds no rows"):
        read_dataset([empty])
    blank = tmp_path / "blank.csv"
    blank.write_text("stars,text\n5,   \n")
    with pytest.raises(HanError, match="dataset is empty"):
        read_dataset([blank])
    with pytest.raises(HanError, match="no such file"):
        read_dataset([tmp_path / "nope.csv"])
    with pytest.raises(HanError, match=r"no aclImdb/.*files found; to read files of the folder, give them: .*yelp_10k"):
        read_dataset([YELP_10K.parent])  # a folder that is not aclImdb: its files are named
    with pytest.raises(HanError, match="unknown format"):
        (tmp_path / "data.xlsx").write_bytes(b"PK")
        read_dataset([tmp_path / "data.xlsx"])


@pytest.fixture(scope="module")
def imdb():
    return read_dataset([IMDB])


def test_aclimdb_archive_keeps_official_split_ratings_and_unlabelled(imdb):
    assert Counter(e.split for e in imdb.examples) == {"train": 25000, "test": 25000}
    assert imdb.labels == ["1", "2", "3", "4", "7", "8", "9", "10"]
    assert len(imdb.unlabelled) == 50000
    assert any("<br" in (e.text or "") for e in imdb.examples)  # raw text keeps tags...
    doc = tokenize(next(e.text for e in imdb.examples if "<br />" in e.text))
    assert not any(t == "br" for s in doc.sentences for t in s)  # ...the tokenizer drops them
    # Each official split has 12,500 positive (rating 7-10) and 12,500 negative (1-4) reviews.
    polarity = Counter((e.split, int(e.label) >= 7) for e in imdb.examples)
    assert polarity == {(split, positive): 12500 for split in ("train", "test") for positive in (True, False)}
    # Read independently of the reader: the first files of each folder, their text unchanged (tags and all),
    # the rating of the file name ID_RATING.txt and the split of the folder.
    folders = ("train/pos", "train/neg", "train/unsup", "test/pos", "test/neg")
    wanted = {f"aclImdb/{folder}/": 5 for folder in folders}
    official: list[tuple[str, str, str]] = []
    with tarfile.open(IMDB) as archive:
        for member in archive:
            folder = member.name.rsplit("/", 1)[0] + "/"
            if member.isfile() and member.name.endswith(".txt") and wanted.get(folder, 0) > 0:
                wanted[folder] -= 1
                member_file = archive.extractfile(member)
                assert member_file is not None
                rating = member.name.rsplit("_", 1)[1].removesuffix(".txt")
                official.append((folder.split("/")[1], rating, member_file.read().decode("utf-8")))
            if not any(wanted.values()):
                break
    assert not any(wanted.values()) and len(official) == 25
    labelled = {(e.split, e.label, e.text) for e in imdb.examples}
    unlabelled = set(imdb.unlabelled)
    for split, rating, text in official:
        if rating == "0":  # unsup/ID_0.txt
            assert split == "train" and text in unlabelled
        else:
            assert (split, rating, text) in labelled, (split, rating, text[:60])


def test_aclimdb_dev_is_carved_from_train_stratified(imdb):
    parts, record = assign_splits(imdb.examples, seed=0)
    assert record["sizes"] == {"train": 22500, "dev": 2500, "test": 25000}
    assert record["method"] == "official, dev carved from train (10%)"
    assert {imdb.examples[i].split for i in parts["dev"]} == {"train"}
    train_counts = Counter(imdb.examples[i].label for i in parts["train"] + parts["dev"])
    for label, n in record["label_counts"]["dev"].items():
        assert abs(n / 2500 - train_counts[label] / 25000) < 0.002


def test_aclimdb_extracted_folder_reads_like_the_archive(tmp_path):
    with tarfile.open(IMDB) as archive:
        members: dict[str, list] = {"aclImdb/train/pos/": [], "aclImdb/test/neg/": []}
        for member in archive:
            for prefix, chosen in members.items():
                if member.name.startswith(prefix) and member.isfile() and len(chosen) < 15:
                    chosen.append(member)
            if all(len(chosen) == 15 for chosen in members.values()):
                break
        wanted = [m for chosen in members.values() for m in chosen]
        archive.extractall(tmp_path, members=wanted, filter="data")
    data = read_dataset([tmp_path / "aclImdb"])
    assert len(data.examples) == 30
    assert Counter(e.split for e in data.examples) == {"train": 15, "test": 15}
    assert Counter(e.label for e in data.examples if e.split == "train").keys() <= {"7", "8", "9", "10"}


def test_tang_ss_files_keep_their_sentences_and_splits():
    files = sorted(TANG.glob("*.ss"))
    data = read_dataset(files)
    assert Counter(e.split for e in data.examples) == {"train": 10, "dev": 10, "test": 10}
    first = next(e for e in data.examples if e.split == "train")
    assert first.text is None and first.sentences is not None and len(first.sentences) > 3
    assert first.sentences[0][:3] == ["we", "went", "on"]
    _, record = assign_splits(data.examples)
    assert record["method"] == "official" and record["sizes"] == {"train": 10, "dev": 10, "test": 10}


def test_stratified_80_10_10_split_is_seeded_and_recorded():
    data = read_dataset([YELP_10K, YELP_OPEN])
    parts, record = assign_splits(data.examples, seed=0)
    assert record["sizes"] == {"train": 12000, "dev": 1500, "test": 1500}
    assert record["stratified"] and record["seed"] == 0
    assert sorted(parts["train"] + parts["dev"] + parts["test"]) == list(range(15000))
    again, _ = assign_splits(data.examples, seed=0)
    other, _ = assign_splits(data.examples, seed=1)
    assert again == parts and other["test"] != parts["test"]
    for split in ("dev", "test"):  # every split has the set's label proportions
        assert record["label_counts"][split]["5"] == pytest.approx(5525 / 10, abs=2)


def test_tiny_sets_fall_back_to_an_unstratified_split():
    examples = [Example(label=str(i % 3), text="x") for i in range(5)]
    _, record = assign_splits(examples)
    assert not record["stratified"] and sum(record["sizes"].values()) == 5
    with pytest.raises(HanError, match="at least 3"):
        assign_splits(examples[:2])


@pytest.mark.parametrize(
    "splits",
    [
        [None] * 3,
        [None] * 14,
        [None] * 1001,
        ["train"] * 7 + ["dev"] * 2 + ["test"] * 3,
        ["train"] * 23 + ["test"] * 4,  # dev carved from train
        ["train"] * 23 + ["dev"] * 4,  # test carved from train
        ["train"] * 31,  # both carved
        ["train"] * 20 + [None] * 5,  # mixed: a fresh 80/10/10 split
    ],
)
def test_split_sizes_are_the_sizes_assign_splits_makes(splits):
    examples = [Example(label=str(i % 3), text="x", split=split) for i, split in enumerate(splits)]
    _, record = assign_splits(examples, seed=4)
    assert split_sizes(examples) == record["sizes"]


def test_vocabulary_keeps_words_seen_more_than_five_times():
    docs = [[["good"] * 6 + ["rare"] * 5 + ["bad"] * 7]]
    vocab = Vocab.build(docs, min_count=6)
    assert vocab.itos == ["<pad>", "<unk>", "bad", "good"]
    assert vocab.encode(["good", "rare", "never"]) == [3, UNK_ID, UNK_ID]
    assert PAD_ID == 0


def test_train_fraction_shrinks_only_the_train_split_and_picks_the_same_documents(yelp_slice):
    full = prepare(yelp_slice, min_count=2)
    half = prepare(yelp_slice, min_count=2, train_fraction=0.5)
    again = prepare(yelp_slice, min_count=2, train_fraction=0.5)
    assert len(half.docs["train"]) == round(0.5 * len(full.docs["train"]))
    for split in ("dev", "test"):  # unchanged: models trained on less data are scored on the same documents
        assert list(half.tokens(split)) == list(full.tokens(split))
        assert half.targets[split] == full.targets[split]
    assert list(half.tokens("train")) == list(again.tokens("train"))
    full_texts = {tuple(map(tuple, d)) for d in full.tokens("train")}
    assert all(tuple(map(tuple, d)) in full_texts for d in half.tokens("train"))
    assert len(half.vocab) < len(full.vocab)  # the vocabulary comes from the smaller train split
    assert half.split["train_used"] == len(half.docs["train"])
    with pytest.raises(HanError, match="train fraction"):
        prepare(yelp_slice, train_fraction=0)


def test_token_store_is_cached_on_disk_and_reused_only_for_the_same_input(tmp_path, monkeypatch, yelp_slice):
    import han.data.store_writer as store_module
    from han.data.prepare import tokenized_store

    monkeypatch.setenv("HAN_CACHE", str(tmp_path))
    texts = [e.text for e in yelp_slice.examples[:40]]
    fresh = tokenized_store(texts, None, TextLimits())
    expected = [tokenize(t).sentences for t in texts]
    assert [fresh.sentences(i) for i in range(len(fresh))] == expected
    assert len(list(tmp_path.glob("store-*"))) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("tokenised again although cached")

    with monkeypatch.context() as patched:
        patched.setattr(store_module, "tokenize_document", refuse)
        again = tokenized_store(texts, None, TextLimits())  # served from the cache
        assert [again.sentences(i) for i in range(len(again))] == expected
        with pytest.raises(AssertionError, match="tokenised again"):
            tokenized_store(texts, None, TextLimits(max_words=5))  # other limits: other key
        with pytest.raises(AssertionError, match="tokenised again"):
            tokenized_store([*texts[:-1], texts[-1] + " More."], None, TextLimits())  # other text: other key
    monkeypatch.setenv("HAN_CACHE", "off")
    for path in tmp_path.iterdir():
        shutil.rmtree(path)
    off = tokenized_store(texts, None, TextLimits())
    assert [off.sentences(i) for i in range(len(off))] == expected and not list(tmp_path.iterdir())


def test_vocabulary_round_trips_through_vocab_txt(tmp_path):
    vocab = Vocab(["the", "n't", "café", "``"])
    vocab.save(tmp_path / "vocab.txt")
    assert Vocab.load(tmp_path / "vocab.txt").itos == vocab.itos


def test_buckets_group_similar_lengths_and_cover_everything():
    lengths = [i % 37 + 1 for i in range(1000)]
    batches = bucket_batches(lengths, 64, shuffle=True, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    unbucketed = bucket_batches(lengths, 64, shuffle=True, seed=3, bucket=False)
    plain = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in unbucketed) / len(unbucketed)
    assert spread < plain / 4
    assert bucket_batches(lengths, 64, shuffle=True, seed=3) == batches


def test_sentences_and_words_offline():
    text = "Dr. Smith was great!  We'll be back.\n\nNo period here\nBut a <br /><br />break"
    assert split_sentences(text.replace("<br /><br />", "\n\n")) == [
        "Dr. Smith was great!",
        "We'll be back.",
        "No period here\nBut a",
        "break",
    ]
    doc = tokenize(text)
    assert doc.sentences[1] == ["we", "'ll", "be", "back", "."]
    assert len(doc.sentences) == 4


def test_limits_truncate_and_say_so():
    limits = TextLimits(max_chars=200_000, max_sentences=60, max_words=100)
    doc = tokenize("This is a fairly short sentence. " * 35_000, limits)  # about 1 MB
    assert len(doc.sentences) == 60
    assert doc.truncated["chars"] > 0 and doc.truncated["sentences"] > 0
    long = tokenize("word " * 150, limits)
    assert len(long.sentences[0]) == 100 and long.truncated == {"words": 50}


def test_decode_text_refuses_binary_and_keeps_odd_bytes():
    assert decode_text("Caf\xe9 was a fine place".encode("latin-1")) == "Caf\ufffd was a fine place"
    with pytest.raises(HanError, match="binary"):
        decode_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(HanError, match="not UTF-8"):
        decode_text(bytes(range(128, 256)) * 4)


def test_read_table_counts_skipped_empty_rows(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('stars,text\n5,"fine"\n3,""\n')
    examples, info = read_table(path)
    assert len(examples) == 1 and info["skipped_empty"] == 1


def test_csv_rows_read_as_csv_dictreader_reads_them(tmp_path):
    """Blank lines skipped, a short row's missing label named with its row, the last of two equal column names."""
    path = tmp_path / "awkward.csv"
    path.write_text('text,stars,text\nignored,4,"first, quoted\nover two lines"\n\nx,5,second\n')
    examples = read_dataset([path]).examples
    assert [(e.label, e.text) for e in examples] == [("4", "first, quoted\nover two lines"), ("5", "second")]
    short = tmp_path / "short.csv"
    short.write_text("stars,text\n5,fine\n\n4\n")  # row 2 has no text: skipped as empty, like DictReader's None
    assert [e.text for e in read_dataset([short]).examples] == ["fine"]
    unlabelled = tmp_path / "unlabelled.csv"
    unlabelled.write_text("text,stars\nfine,5\nno label\n")
    with pytest.raises(HanError, match=r"row 2 has no value in column 'stars'"):
        read_dataset([unlabelled])


@pytest.mark.parametrize("padded", [False, True])
def test_collate_places_every_word_id_in_its_sentence_row(padded):
    from han.data.dataset import collate

    docs = [[[4, 5, 6], [7]], [[8, 9]], [[10], [11, 12, 13, 14], [15, 16]]]  # 3, 1 and 3 sentences
    batch = collate(docs, [2, 0, 1], padded=padded)
    rows = [s for d in docs for s in d + ([[PAD_ID]] * (3 - len(d)) if padded else [])]  # padding: one PAD word
    assert batch.words.shape == (len(rows), 4) and batch.words.dtype == torch.long
    for row, sentence in enumerate(rows):  # each id in its row and column, zeros after it
        assert batch.words[row].tolist() == sentence + [PAD_ID] * (4 - len(sentence))
    assert batch.word_counts.tolist() == [len(s) for s in rows]
    assert batch.labels is not None and batch.labels.tolist() == [2, 0, 1]
    assert batch.sentence_counts.tolist() == [2, 1, 3]
