"""The survivors of scripts/mutation.py that cannot change what the code does here, per module, with the reason.

Mutant names follow mutmut 3.8.1 and the source as it is: after editing a module, check its entries again
(`python scripts/mutation.py NAME` flags listed mutants that no longer survive). docs/testing.md lists them
(`python scripts/mutation.py --equivalent`).
"""

from __future__ import annotations

STRICT = "zip's strict flag: the sequences zipped have equal lengths by construction"
CPU = "a device argument dropped: the same on CPU; only a GPU (none here) could tell"
INF = 'float("-INF") is float("-inf")'
LAST_DIM = "dim +1 of a 2-D tensor is dim -1"
SORTED = "enforce_sorted=None is falsy like False"
CODEC = "the codec name UTF-8 is utf-8"
REPEAT = "repeat_interleave(r) is repeat_interleave(arange(len(r)), r)"
G, P, M, V = "han.nn.gru.x", "han.nn.pooling.x", "han.nn.model.x", "han.data.vocab.xǁVocabǁ"
A = "han.interpret.attribution."
EQUIVALENT: dict[str, dict[str, str]] = {
    "gru": {
        **{f"{G}_per_step__mutmut_{n}": STRICT for n in (2, 4, 11)},
        f"{G}_previous_rows__mutmut_13": REPEAT,
        f"{G}_reverse_index__mutmut_12": REPEAT,
        f"{G}ǁBiGRUǁforward__mutmut_11": CPU,
        f"{G}ǁBiGRUǁforward__mutmut_56": LAST_DIM,
        f"{G}ǁBiGRUǁforward__mutmut_85": LAST_DIM,
        f"{G}ǁBiGRUǁ_forward_vf__mutmut_31": "squeeze(2) of the (2, 1, 3H) biases is a no-op, and the CPU kernel "
        "broadcasts (1, 3H) biases as (3H,) ones; only cuDNN (no GPU here) might refuse them",
        f"{G}ǁBiGRUǁ_forward_vf__mutmut_52": "the train flag of _VF.gru only matters to cuDNN's reserve space and to "
        "dropout, which is 0: the CPU kernel computes the same",
        f"{G}ǁBiGRUǁ_forward_vf__mutmut_75": "_VF.gru's dropout acts between layers; one layer has none",
    },
    "pooling": {
        **{f"{P}{name}": INF for name in ("_max_tokens__mutmut_33", "_max_weights__mutmut_12")},
        **{f"{P}ǁPoolingǁ{name}": INF for name in ("_attention__mutmut_27", "_max__mutmut_25")},
        **{f"{P}_max_tokens__mutmut_{n}": CPU for n in (76, 78, 81, 83)},
        **{f"{P}_real_mask__mutmut_{n}": CPU for n in (5, 8)},
        **{f"{P}_redundancy__mutmut_{n}": CPU for n in (25, 28)},
        **{
            f"{P}_redundancy__mutmut_{n}": "torch.eye without the heads' dtype is float32; float32 and float64 "
            "heads (the dtypes the model runs in) give the same penalty"
            for n in (24, 27)
        },
        f"{P}_pad__mutmut_15": "size(+1) of the 2-D (tokens, d) data is size(-1)",
        **{
            f"{P}ǁPoolingǁ{name}": "max pooling through the real positions instead of the padded states (or the "
            "other way round): the same maxima, weights and gradients (test_pooling.py's tie test), another route"
            for name in ("forward__mutmut_2", "forward__mutmut_3", "forward_tokens__mutmut_4")
        },
        f"{P}ǁPoolingǁforward_tokens__mutmut_71": "redundancy() does not read its mask argument (padding is 0 already)",
        f"{P}ǁPoolingǁforward_tokens__mutmut_99": "unsqueeze(+1) of the 1-D scale is unsqueeze(-1)",
        **{
            f"{P}ǁPoolingǁforward_tokens__mutmut_{n}": "average pooling through the attention's return: the mean "
            "over its one head is that head (pooled[:, 0]), and heads.mean(-1) is its weights"
            for n in (121, 122)
        },
    },
    "model": {
        **{f"{M}ǁHANǁ{name}": SORTED for name in ("forward__mutmut_19", "_packed_ids__mutmut_6")},
        f"{M}ǁHANǁencode_sentences__mutmut_27": SORTED,
        f"{M}ǁHANǁencode_sentences__mutmut_16": LAST_DIM,
        **{f"{M}ǁHANǁ_self_attention__mutmut_{n}": STRICT for n in (4, 7, 8)},
        **{f"{M}_split_word_weights__mutmut_{n}": STRICT for n in (4, 7, 8)},
        f"{M}_scatter_sentences__mutmut_6": REPEAT,
        **{f"{M}_scatter_sentences__mutmut_{n}": CPU for n in (31, 32)},
        f"{M}ǁHANǁ_word_inputs__mutmut_2": CPU,
        f"{M}ǁHANǁ_word_inputs__mutmut_6": "training without dropout, each token is projected instead of each "
        "distinct word once: the same numbers (test_model.py's test_projecting_each_distinct_word_once_changes_no_"
        "output_or_gradient), only slower",
        f"{M}ǁHANǁencode__mutmut_11": "sentence counts passed with the padded layout: only CAHAN reads them, and "
        "CAHAN refuses that layout first",
        f"{M}ǁHANǁencode_words__mutmut_1": "a default never used: every caller passes `projected`",
        **{f"{M}ǁHANǁforward_embedded__mutmut_{n}": SORTED for n in (21, 37, 48)},
        f"{M}ǁHANǁforward_embedded__mutmut_60": CPU,
        f"{M}ǁHANǁforward_embedded__mutmut_6": "projected=None instead of False: both falsy where the encoder reads it",
    },
    "train-choice": {
        **{
            f"han.training.train.x__better__mutmut_{n}": "returns None instead of False, where both are falsy: the "
            "caller only tests it with `if`"
            for n in (14, 16)
        },
        **{
            f"han.training.train.x__majority_share__mutmut_{n}": "most_common(None) and most_common(2) list the "
            "same most common class first (ties in the same order)"
            for n in (2, 6)
        },
    },
    "splits": {
        "han.data.dataset.x__add_to_digest__mutmut_12": CODEC,
        **{
            f"han.data.splits.x_recorded_split__mutmut_{n}": "allow_pickle=None or left out is False, the default"
            for n in (11, 13)
        },
        "han.data.splits.x_split_indices__mutmut_15": "np.fromiter without count= reads the same items, only "
        "without preallocating",
        **{
            f"han.data.splits.x_split_indices__mutmut_{n}": "np.asarray of int64 arrays (scikit-learn's or "
            "np.array(..., int64)) is int64 already"
            for n in (108, 110)
        },
        "han.data.splits.x_split_indices__mutmut_93": "np.bincount without minlength drops trailing zero counts, "
        "which label_counts leaves out anyway",
        **{
            f"han.data.splits.x_subset_size__mutmut_{n}": "at fraction 1, max(1, round(1 * n)) is n: the shortcut "
            "changes nothing"
            for n in (1, 4)
        },
    },
    "attribution": {
        **{
            f"{A}xǁDocumentScoresǁflat__mutmut_{n}": "scores are Python floats: np.array makes float64 of them anyway"
            for n in (2, 4)
        },
        **{
            f"{A}x_attention_label__mutmut_{n}": 'the "att" entry says what the default says: "attention weights"'
            for n in (17, 18)
        },
        f"{A}x__size__mutmut_1": "the size only groups erased variants into forward passes; every grouping gives the "
        "same probabilities (test_attribution_checks.py's one batch or many)",
        f"{A}x_leave_one_out__mutmut_7": "softmax over dim +1 of the 2-D logits is over dim -1",
        f"{A}x__document_forward__mutmut_33": "softmax over dim +1 of the (k, n_classes) logits is over dim -1",
        **{
            f"{A}x_gradient_scores__mutmut_{n}": "`real` is passed to _real, which does not read it (it keeps each "
            "sentence's first len(s) values)"
            for n in (12, 13, 41, 70)
        },
        **{
            f"{A}x_gradient_scores__mutmut_{n}": "without baselines captum integrates from zeros: the PAD ids that "
            "torch.zeros_like(ids) gives"
            for n in (26, 31)
        },
        **{f"{A}x_document_scores__mutmut_{n}": STRICT for n in (36, 39, 40)},
    },
    "faithfulness": {
        **{f"han.interpret.faithfulness.x__counterfactual__mutmut_{n}": STRICT for n in (40, 43, 44, 57, 60, 61)},
        "han.interpret.faithfulness.x_erasure_curve__mutmut_7": "range(0, n) is range(n)",
        **{
            f"han.interpret.faithfulness.x_explain_faithfulness__mutmut_{n}": "attention put first even when asked "
            "for: document_scores only tests membership, so a method named twice changes nothing"
            for n in (9, 10)
        },
        **{
            f"han.interpret.faithfulness.x_{name}": 'numpy reads the sort kind "STABLE" as "stable"'
            for name in ("erasure_curve__mutmut_28", "erasure__mutmut_15", "erasure__mutmut_48")
        },
    },
    "vocab": {
        f"{V}from_counts__mutmut_19": "words[:None] is words: slicing at max_size None keeps them all",
        **{f"{V}{name}": CODEC for name in ("save__mutmut_10", "load__mutmut_5", "digest__mutmut_6")},
        f"{V}load__mutmut_2": "split() instead of split('\\n') differs only for words holding whitespace, which "
        "han's tokenizers never make (vocab.txt has one word a line)",
    },
}
