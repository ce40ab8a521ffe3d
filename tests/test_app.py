"""Every page of the Streamlit app, driven by streamlit.testing.v1.AppTest on the shipped demo checkpoints."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

import han

from .conftest import ROOT

PAGES = {
    name: ROOT / path
    for name, path in {
        "home": "views/0_Models.py",
        "document": "views/1_Document.py",
        "words": "views/2_Word_attention.py",
        "compare": "views/3_Compare.py",
        "faithfulness": "views/4_Faithfulness.py",
        "dataset": "views/5_Data_set.py",
    }.items()
}
REVIEW = (
    "The staff were lovely and the pasta was perfect. Dessert was a little dry. We will definitely be back next week."
)


def run(page: str, **state) -> AppTest:
    at = AppTest.from_file(str(PAGES[page]), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# the shipped Yelp set (assets/yelp): the paper's three, then the successors (scripts/train_demo.sh)
YELP_MODELS = ["HN-AVE", "HN-MAX", "HN-ATT", "HN-ATT (2 heads)", "HN-ATT (evidence)", "CAHAN (bi, sum)"]
YELP_FOLDERS = ["ave", "max", "att", "att-2h", "att-faithful", "cahan"]  # the same models' folders in assets/yelp


def html_of(at: AppTest) -> str:
    return "".join(h.proto.body for h in at.get("html"))


def first_example() -> str:
    """The text of the example review the Document page shows first (assets/examples.json)."""
    return json.loads((ROOT / "assets" / "examples.json").read_text(encoding="utf-8"))["restaurant"][0]["text"]


def test_demo_checkpoints_are_shipped_small_and_complete():
    for folder in [*(f"yelp/{name}" for name in YELP_FOLDERS), "imdb/att"]:
        files = {p.name for p in (ROOT / "assets" / folder).iterdir()}
        assert {"config.json", "vocab.txt", "model.safetensors", "metrics.json", "word_stats.npz"} <= files
        assert "faithfulness.json" in files  # the Faithfulness page's figures, for every shipped model
        assert "fingerprint" in json.loads((ROOT / "assets" / folder / "config.json").read_text())["data"]
    total = sum(p.stat().st_size for p in (ROOT / "assets").rglob("*") if p.is_file())
    assert total < 30 * 1024 * 1024, f"assets are {total / 2**20:.1f} MB"


def test_home_shows_a_card_per_model_named_as_in_the_paper():
    at = run("home")
    names = [h.value for h in at.subheader]
    assert names == YELP_MODELS  # the paper's three in Table 2's order, then the successors
    assert len([m for m in at.metric if m.label == "Test accuracy"]) == len(YELP_MODELS)
    assert any("12000 train / 1500 dev / 1500 test" in m.value for m in at.markdown)
    recipes = [m.value.split("**Recipe:** ")[1].split(" (")[0] for m in at.markdown if "**Recipe:** " in m.value]
    # each card says how its model was trained
    assert len(recipes) == len(YELP_MODELS) and set(recipes) <= {"paper", "default"}


def test_home_compares_the_models_in_one_table_with_their_full_figures():
    at = run("home")
    table = at.dataframe[0].value
    assert list(table["model"]) == YELP_MODELS
    assert list(table["test accuracy"]) == [59.5, 59.1, 59.1, 58.2, 56.3, 60.3]  # README's demo checkpoints, in %
    assert table["dev accuracy"].between(40, 80).all() and table["majority class"].between(20, 50).all()
    assert list(table["paper (Table 2)"]) == ["67.0 %", "66.9 %", "68.2 %", "–", "–", "–"]
    assert set(table["recipe"]) <= {"paper", "default"} and (table["training (min)"] > 0).all()
    assert [e.label.split(":")[0] for e in at.expander] == YELP_MODELS  # each model's details


def test_home_draws_its_cards_without_torch():
    """The first page must paint fast: its cards come from the checkpoints' JSON files, torch is not imported."""
    script = (
        "import sys; from streamlit.testing.v1 import AppTest; "
        f"at = AppTest.from_file({str(PAGES['home'])!r}, default_timeout=60); at.run(); "  # 2 metrics a card
        "assert not at.exception and len(at.metric) == 12, at; print('torch' in sys.modules, 'nltk' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]


def test_home_switches_to_the_imdb_set():
    at = run("home")
    at.sidebar.selectbox[0].set_value("IMDB reviews (1-10)").run()
    assert not at.exception
    assert [h.value for h in at.subheader] == ["HN-ATT"]
    assert any("aclImdb" in m.value for m in at.markdown)
    card = next(m.value for m in at.markdown if "**Recipe:** " in m.value)
    assert card.split("**Recipe:** ")[1].startswith("default (adam")  # trained with the default recipe, and
    assert "frozen (chosen by --embeddings auto: 75,000 documents of in-domain text >= 30,000)" in card  # why


def test_document_renders_an_example_and_switches_model():
    at = run("document")
    body = html_of(at)
    assert body.count('class="han-sentence"') >= 3 and 'class="han-word"' in body
    assert at.metric[0].label == "HN-ATT predicts" and at.metric[0].value in "12345"
    shown = first_example()  # the page's first document: what each model predicts for it, through the API
    expected = {v: han.load(ROOT / "assets" / "yelp" / v).predict(shown)[0]["label"] for v in ("att", "ave", "max")}
    assert at.metric[0].value == expected["att"] and expected["att"] in ["1", "2", "3", "4", "5"]
    assert len(at.get("plotly_chart")) == 2 and len(at.get("download_button")) == 4  # probabilities, erasure
    at.sidebar.radio[0].set_value("ave").run()
    assert at.metric[0].label == "HN-AVE predicts" and at.metric[0].value == expected["ave"]
    at.sidebar.radio[0].set_value("max").run()
    assert at.metric[0].label == "HN-MAX predicts" and at.metric[0].value == expected["max"]
    at.sidebar.toggle[0].set_value(True).run()  # raw p_w
    assert not at.exception and 'class="han-word"' in html_of(at)


def test_document_pasted_text_empty_and_huge():
    at = run("document")
    at.radio(key="doc_source").set_value("Paste text").run()
    assert any("Paste a review" in i.value for i in at.info)
    at.text_area(key="doc_text").input(REVIEW)
    at.button[0].click().run()
    assert not at.exception
    assert "pasta" in html_of(at) and at.metric[0].label == "HN-ATT predicts"
    at.text_area(key="doc_text").input("   ")
    at.button[0].click().run()
    assert any("Paste a review" in i.value for i in at.info)
    at.text_area(key="doc_text").input("The soup was cold and nobody cared. " * 30_000)  # ~1 MB
    at.button[0].click().run()
    assert not at.exception and any("cut at the model's limits" in w.value for w in at.warning)


BAD_UPLOADS = {  # file name, bytes, what the page must say
    "huge": ("huge.txt", b"The soup was cold. " * 1_100_000, "over the 5 MB limit"),
    "binary": ("photo.txt", bytes(range(256)) * 64, "looks like a binary file"),
    "latin-1": (
        "latin1.txt",
        "Caf\xe9 tr\xe8s \xe9l\xe9gant, \xe0 d\xe9conseiller".encode("latin-1") * 9,
        "save it as UTF-8",
    ),
    "punctuation": ("dots.txt", b"!!! ... ??? --- ;;; :-)", "only punctuation or symbols"),
    "other language": ("zh.txt", "这家餐厅的菜很好吃。 服务也很周到。 我们下次还会再来。".encode(), "another language"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_document_bad_uploads_say_what_to_do_and_the_page_stays_usable(case):
    name, content, says = BAD_UPLOADS[case]
    at = run("document")
    at.radio(key="doc_source").set_value("Upload .txt").run()
    at.file_uploader[0].set_value((name, content, "text/plain")).run()
    assert not at.exception
    shown = [e.value for e in at.error] + [w.value for w in at.warning]
    assert any(says in message for message in shown), shown
    at.radio(key="doc_source").set_value("Paste text").run()
    at.text_area(key="doc_text").input(REVIEW)
    at.button[0].click().run()
    assert not at.exception and not at.error and "pasta" in html_of(at)


def test_document_pasted_punctuation_and_foreign_text():
    at = run("document")
    at.radio(key="doc_source").set_value("Paste text").run()
    at.text_area(key="doc_text").input("?!?! ... ---")
    at.button[0].click().run()
    assert any("only punctuation" in e.value for e in at.error)
    at.text_area(key="doc_text").input("Das Essen war kalt und der Kellner unfreundlich. Nie wieder gehen wir dorthin.")
    at.button[0].click().run()
    assert not at.error and any("unknown to this model" in w.value for w in at.warning)


def test_document_test_split_shows_the_gold_rating():
    at = run("document")
    at.radio(key="doc_source").set_value("Test document").run()
    assert not at.exception
    assert any(m.value.startswith("Gold rating") for m in at.markdown)
    at.number_input(key="doc_test").set_value(7).run()
    assert not at.exception and 'class="han-word"' in html_of(at)


def test_word_attention_shows_good_and_handles_unknown_words():
    at = run("words")
    assert len(at.get("plotly_chart")) == 2
    assert any("test split: 1,500 documents" in m.value for m in at.markdown)
    at.text_input(key="word_a").input("zzzzqx").run()
    assert any('"zzzzqx" is not in the model\'s vocabulary' in w.value for w in at.warning)
    assert len(at.get("plotly_chart")) == 2  # "bad" is still drawn
    at.text_input(key="word_b").input("").run()
    assert len(at.get("plotly_chart")) == 0


def test_word_attention_for_every_model_of_the_set():
    at = run("words")
    for variant in ("ave", "max"):
        at.sidebar.radio[0].set_value(variant).run()
        assert not at.exception and len(at.get("plotly_chart")) == 2


def test_compare_shows_every_model_the_paper_table_and_confusions():
    at = run("compare")
    heads = [h.value.split(":")[0] for h in at.subheader]
    assert [h for h in heads if h in YELP_MODELS] == YELP_MODELS  # the successors under the paper's three
    assert html_of(at).count('class="han-doc"') == len(YELP_MODELS)
    table = at.dataframe[0].value
    assert list(table["model"]) == YELP_MODELS
    assert list(table["paper: Yelp 2013"])[:3] == [67.0, 66.9, 68.2]  # the successors have no Table 2 row
    assert table["paper: Yelp 2013"][3:].isna().all()
    assert len(at.get("plotly_chart")) == 2 * len(YELP_MODELS)  # probabilities + confusion matrices


def test_compare_lists_disagreements_on_the_test_split():
    at = run("compare")
    at.toggle(key="find_disagreements").set_value(True).run()
    assert not at.exception
    rows = at.dataframe[1].value
    assert len(rows) > 0 and {"gold", *YELP_MODELS} <= set(rows.columns)
    # Exactly the test documents on which the models' predictions differ, as training recorded them (metrics.json:
    # test predictions in split order), each listed with every model's prediction.
    recorded = {}
    for name, folder in zip(YELP_MODELS, YELP_FOLDERS, strict=True):
        metrics = json.loads((ROOT / "assets" / "yelp" / folder / "metrics.json").read_text())
        recorded[name] = [metrics["labels"][i] for i in metrics["test_predictions"]]
    n = len(recorded["HN-ATT"])
    disagree = [i for i in range(n) if len({recorded[name][i] for name in YELP_MODELS}) > 1]
    assert 0 < len(disagree) < n  # the models agree on some test documents and not on others
    assert rows["test document"].tolist() == disagree
    for name in YELP_MODELS:
        assert rows[name].tolist() == [recorded[name][i] for i in disagree], name
    assert set(rows["gold"]) <= {"1", "2", "3", "4", "5"}
    assert any(m.value.startswith(f"{len(disagree)} documents;") for m in at.markdown)


@pytest.mark.parametrize("make", ["missing", "corrupt", "no_vocab", "empty"])
def test_bad_checkpoint_folders_give_an_error_not_a_crash(tmp_path, make):
    folder = tmp_path / "set"
    if make in ("corrupt", "no_vocab"):
        shutil.copytree(ROOT / "assets" / "yelp" / "att", folder / "att")
    if make == "corrupt":
        (folder / "att" / "model.safetensors").write_bytes(b"not safetensors at all")
    elif make == "no_vocab":
        (folder / "att" / "vocab.txt").unlink()
    elif make == "empty":
        folder.mkdir()
    for page in PAGES:
        at = run(page, set_choice="Another checkpoint folder...", custom_folder=str(folder))
        assert at.error, page
        message = at.error[0].value
        expected = {
            "missing": "no such folder",
            "corrupt": "model.safetensors",
            "no_vocab": "checkpoint is missing vocab.txt; copy the whole checkpoint folder again",
            "empty": "holds no HAN checkpoint",
        }
        assert expected[make] in message


def test_state_survives_an_error(tmp_path):
    at = run("document")
    at.radio(key="doc_source").set_value("Paste text").run()
    at.text_area(key="doc_text").input(REVIEW)
    at.button[0].click().run()
    at.session_state["set_choice"] = "Another checkpoint folder..."
    at.session_state["custom_folder"] = str(tmp_path / "nothing")
    at.run()
    assert at.error
    at.session_state["set_choice"] = "Yelp reviews (1-5 stars)"
    at.run()
    assert "pasta" in html_of(at)  # the pasted review is still there


def test_word_attention_recomputes_from_the_data_with_progress():
    at = run("words")
    at.number_input(key="recompute_sample").set_value(40)
    at.button[0].click().run()
    assert not at.exception
    assert any("40 documents" in s.value for s in at.success)
    assert any("test split (a seeded sample): 40 documents" in m.value for m in at.markdown)


def test_document_data_location_can_be_overridden(tmp_path):
    at = run("document", data_override=str(tmp_path / "elsewhere.csv"))
    assert "Test document" not in at.radio(key="doc_source").options  # not present there
    at.text_input(key="data_override").input("").run()
    assert "Test document" in at.radio(key="doc_source").options


def test_document_redraws_the_heatmap_from_each_method_with_its_evidence():
    at = run("document")
    tau = at.dataframe[0].value
    assert list(tau["method"]) == ["leave-one-out", "integrated gradients", "gradient × input", "random (floor)"]
    assert tau["τ words"].between(-1, 1).all()
    attention_html = html_of(at)
    for method in ("leave_one_out", "integrated_gradients", "gradient_x_input"):
        at.sidebar.selectbox(key="weights_from").set_value(method).run()
        assert not at.exception, method
        body = html_of(at)
        assert 'class="han-word"' in body and body != attention_html, method
        assert any("Red and blue from" in c.value for c in at.caption)


def test_faithfulness_page_reads_precomputed_figures(tmp_path, tiny_checkpoints, yelp_slice):
    import json

    from han.interpret.faithfulness import dataset_faithfulness

    folder = tmp_path / "set"
    for variant in ("att", "max"):
        shutil.copytree(tiny_checkpoints[variant], folder / variant)
    model = __import__("han").load(folder / "att")
    figures = dataset_faithfulness(model, yelp_slice.examples[:4], limit=4, n_steps=4)
    from han.interpret.polarity import polarity_vs_attention

    figures["polarity"] = polarity_vs_attention(
        model, [model.prepare(e) for e in yelp_slice.examples[:20]], min_count=1
    )
    (folder / "att" / "faithfulness.json").write_text(json.dumps(figures | {"model_sha256": model.weights_digest}))
    at = run("faithfulness", set_choice="Another checkpoint folder...", custom_folder=str(folder))
    assert [h.value for h in at.header] == ["HN-MAX", "HN-ATT"]
    assert any("No precomputed figures" in i.value for i in at.info)  # HN-MAX has none
    assert len(at.get("plotly_chart")) == 3  # word AOPC, sentence AOPC, polarity
    assert any("Kendall τ" in m.value for m in at.markdown)
    # HN-ATT's figures beside HN-MAX's weights (copied over by hand): refused, not shown as HN-MAX's
    (folder / "max" / "faithfulness.json").write_text(json.dumps(figures | {"model_sha256": model.weights_digest}))
    at = run("faithfulness", set_choice="Another checkpoint folder...", custom_folder=str(folder))
    refused = [w.value for w in at.warning if "computed from other weights" in w.value]
    assert len(refused) == 1 and str(folder / "max" / "faithfulness.json") in refused[0]
    assert len(at.get("plotly_chart")) == 3  # HN-ATT's still shown


def test_word_attention_refuses_statistics_of_other_weights(tmp_path, tiny_checkpoints, yelp_slice):
    from han.interpret import stats

    folder = tmp_path / "set"
    shutil.copytree(tiny_checkpoints["att"], folder / "att")
    model = __import__("han").load(folder / "att")
    table = stats.collect(model, yelp_slice, split="test", max_docs=10)
    assert table.meta["model_sha256"] == model.weights_digest
    stats.save(table, folder / "att" / "word_stats.npz")
    at = run("words", set_choice="Another checkpoint folder...", custom_folder=str(folder))
    assert not [w for w in at.warning if "other weights" in w.value] and at.get("plotly_chart")  # its own: shown
    shutil.copy(tiny_checkpoints["ave"] / "model.safetensors", folder / "att" / "model.safetensors")
    shutil.copy(tiny_checkpoints["ave"] / "config.json", folder / "att" / "config.json")
    at = run("words", set_choice="Another checkpoint folder...", custom_folder=str(folder))
    assert any("computed from other weights" in w.value for w in at.warning) and not at.get("plotly_chart")


def test_navigation_names_every_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception and [h.value for h in at.subheader] == YELP_MODELS  # Models first
    at.switch_page("views/4_Faithfulness.py").run()
    assert not at.exception and at.title[0].value == "Is the attention faithful?"
    source = (ROOT / "app.py").read_text()
    at.switch_page("views/5_Data_set.py").run()
    assert not at.exception and at.title[0].value == "Data set"
    for title in ("Models", "Document", "Word attention", "Compare", "Faithfulness", "Data set"):
        assert f'title="{title}"' in source  # the sidebar shows these, never the file name "app"
