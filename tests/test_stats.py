"""Word-attention statistics (interpret/stats.py) and the split a checkpoint records for them (split.npz): round trip,
the derived display weight, narrow columns, the recorded split read, checked and given way to."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

import han
from han.interpret.stats import _Buffers, collect, summary
from han.interpret.stats import load as load_stats
from han.interpret.stats import save as save_stats


def test_word_stats_round_trip(tiny_checkpoints, yelp_slice, tmp_path):
    model = han.load(tiny_checkpoints["att"])
    progress = []
    stats = collect(model, yelp_slice, "test", on_progress=lambda done, total: progress.append((done, total)))
    assert stats.documents == 60 and progress[-1] == (60, 60)
    save_stats(stats, tmp_path / "s.npz")
    again = load_stats(tmp_path / "s.npz")
    assert again.words == stats.words and (again.attention == stats.attention).all()
    assert stats.word.dtype == again.word.dtype == np.uint16 and (again.word == stats.word).all()  # few words
    good = summary(again, "the")
    assert good["count"] > 10 and sum(v["count"] for v in good["per_label"].values()) == good["count"]
    assert summary(again, "zyzzyva")["count"] == 0


def test_the_derived_display_weight_is_sqrt_ps_times_pw_and_files_with_the_old_column_load(
    tiny_checkpoints, yelp_slice, tmp_path
):
    """`display` (no longer a stored column) equals sqrt(p_s) * p_w computed in full precision from the model's
    own analysis of the same documents, to float16 precision; a file from before, which holds the column, loads."""
    import han.interpret.stats as stats_module

    model = han.load(tiny_checkpoints["att"])
    stats = collect(model, yelp_slice, "test")
    documents = [model.prepare(yelp_slice.examples[i]) for i in stats_module._split_of(model, yelp_slice, "test")]
    results = model.analyse([d for d in documents if d.sentences])
    exact = [
        math.sqrt(p_s) * p_w
        for result in results
        for p_s, words in zip(result.sentence_weights, result.word_weights, strict=True)
        for p_w in words
    ]
    assert np.allclose(stats.display.astype(np.float64), exact, rtol=2e-3, atol=1e-5)
    path = tmp_path / "before.npz"
    save_stats(stats, path)
    with np.load(path) as data:
        columns = {name: data[name] for name in data.files}
    np.savez_compressed(path, **columns, display=stats.display)  # as files were written before
    again = load_stats(path)
    assert np.array_equal(again.attention, stats.attention) and np.array_equal(again.display, stats.display)


def test_stats_take_the_split_training_recorded_and_re_make_it_without_a_usable_record(
    tiny_checkpoints, yelp_slice, tmp_path, monkeypatch
):
    """split.npz holds the split training made (the same as re-making it); stats read it instead of re-making
    it, and a checkpoint without it, or with a damaged or mismatched one, re-makes the split: same figures."""
    import han.interpret.stats as stats_module
    from han.data.splits import SPLIT_FILE, recorded_split, split_indices

    model = han.load(tiny_checkpoints["att"])
    sizes = model.config["split"]["sizes"]
    parts, _ = split_indices(yelp_slice.examples, model.split_seed)
    recorded = recorded_split(model.path, len(yelp_slice.examples), sizes)
    assert recorded is not None and all(np.array_equal(recorded[s], np.sort(parts[s])) for s in parts)
    assert recorded_split(model.path, len(yelp_slice.examples) + 1, sizes) is None  # other data
    with monkeypatch.context() as patch:  # the record is read: the split is never re-made
        patch.setattr(stats_module, "split_indices", lambda *a: pytest.fail("the split was re-made"))
        from_record = collect(model, yelp_slice, "test")
    copy = shutil.copytree(tiny_checkpoints["att"], tmp_path / "copy")
    for damage in ("missing", "truncated", "other sizes"):
        (copy / SPLIT_FILE).unlink(missing_ok=True)
        if damage == "truncated":
            (copy / SPLIT_FILE).write_bytes((tiny_checkpoints["att"] / SPLIT_FILE).read_bytes()[:40])
        if damage == "other sizes":  # a dev document planted in test: the counts no longer match the config's
            codes = np.load(tiny_checkpoints["att"] / SPLIT_FILE)["codes"].copy()
            codes[np.flatnonzero(codes == 1)[0]] = 2
            np.savez_compressed(copy / SPLIT_FILE, codes=codes)
        assert recorded_split(copy, len(yelp_slice.examples), sizes) is None, damage
        remade = collect(han.load(copy), yelp_slice, "test")
        assert remade.words == from_record.words and np.array_equal(remade.attention, from_record.attention)


def test_a_re_made_split_that_differs_from_the_recorded_one_gives_way_to_it(
    tiny_checkpoints, yelp_slice, tmp_path, capsys
):
    """Evaluation, faithfulness and the app re-make the split in training's order; should it differ from the one
    training recorded (e.g. another scikit-learn), the recorded documents are used, with a warning."""
    from han.data.dataset import assign_splits, checkpoint_parts, checkpoint_split
    from han.data.splits import SPLIT_FILE

    model = han.load(tiny_checkpoints["att"])
    remade, _ = assign_splits(yelp_slice.examples, model.split_seed)
    assert checkpoint_parts(model.config, yelp_slice, model.path) == remade  # they agree: training's order
    assert capsys.readouterr().err == ""
    copy = shutil.copytree(tiny_checkpoints["att"], tmp_path / "copy")
    codes = np.load(copy / SPLIT_FILE)["codes"].copy()
    dev_doc, test_doc = np.flatnonzero(codes == 1)[0], np.flatnonzero(codes == 2)[0]
    codes[dev_doc], codes[test_doc] = 2, 1  # the same sizes, one document swapped between dev and test
    np.savez_compressed(copy / SPLIT_FILE, codes=codes)
    test = checkpoint_split(model.config, yelp_slice, "test", copy)
    assert "differs from the one" in capsys.readouterr().err
    assert test == [yelp_slice.examples[i] for i in np.flatnonzero(codes == 2)]
    assert yelp_slice.examples[dev_doc] in test and yelp_slice.examples[test_doc] not in test


def test_columns_narrow_while_the_words_fit_widen_after_and_keep_head_rows():
    buffers = _Buffers()
    buffers.pending["word"].extend([1, 65535])
    buffers.flush(narrow_words=True)  # the first chunk: 2 bytes a word
    buffers.pending["head_attention"].extend([(0.25, 0.75), (0.5, 0.5)])
    buffers.pending["word"].append(70000)
    buffers.pending["head_attention"].append((1.0, 0.0))
    buffers.flush(narrow_words=False)  # more words than uint16 holds
    columns = buffers.arrays()
    assert columns["word"].dtype == np.int32 and columns["word"].tolist() == [1, 65535, 70000]
    assert columns["head_attention"].tolist() == [[0.25, 0.75], [0.5, 0.5], [1.0, 0.0]]  # rows of head weights
    assert not any(buffers.parts.values())  # every part let go once copied
