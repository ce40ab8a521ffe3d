"""Pieces shared by the Streamlit pages: the chosen checkpoint set, cached loading, inputs, charts.

Nothing here computes model results: `han` does; this module only caches, asks and draws.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

import han
from han.checkpoint.files import check_directory, check_weights_file, discover, read_json, read_metrics, read_vocab
from han.errors import HanError, NotTrainingData
from han.nn.variants import model_name

if TYPE_CHECKING:  # torch and NLTK are imported where first needed: the first page draws before them
    from han.data.dataset import Example
    from han.interpret.stats import WordStats

ROOT = Path(__file__).resolve().parents[2]  # the repository: han/app/ui.py
SETS = {"Yelp reviews (1-5 stars)": ROOT / "assets" / "yelp", "IMDB reviews (1-10)": ROOT / "assets" / "imdb"}
OTHER = "Another checkpoint folder..."
MAX_UPLOAD_MB = 5
log = logging.getLogger("han.app")


def guard(page: Callable[[], None]) -> None:
    """Run a page; show problems with st.error, never a traceback (that goes to the server log)."""
    try:
        page()
    except HanError as e:
        st.error(str(e))
    except Exception as e:
        log.error("unexpected error\n%s", traceback.format_exc())
        st.error(f"Something went wrong: {type(e).__name__}: {e}")


# ----------------------------------------------------------------------------- state


def remembered(
    widget: Callable, label: str, key: str, default: Any, options: Sequence | None = None, **kwargs: Any
) -> Any:
    """Draw `widget` under `key`, its value surviving page switches and error runs.

    Streamlit forgets a widget's value in any run that does not draw it (another page, or a
    page stopped by an error); a saved copy in session state puts it back. With `options`, a
    remembered value that is no longer offered falls back to `default`.
    """
    saved = f"saved:{key}"
    value = st.session_state.get(key, st.session_state.get(saved, default))
    if options is not None and value not in options:
        value = default if default in options else options[0]
    st.session_state[key] = value  # set before the widget exists in this run: allowed
    value = widget(label, options, key=key, **kwargs) if options is not None else widget(label, key=key, **kwargs)
    st.session_state[saved] = value
    return value


def typed_path(text: str) -> Path:
    """A path as typed or pasted: surrounding spaces and quotes dropped (a file manager's "copy as path" adds
    them), ~ expanded; a relative path not found from where streamlit was started is taken from the project."""
    text = text.strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    path = Path(text).expanduser()
    return ROOT / path if not path.is_absolute() and not path.exists() and (ROOT / path).exists() else path


# ----------------------------------------------------------------------------- models


@st.cache_resource(show_spinner="Loading model...")
def _load(path: str, stamp: float) -> han.Classifier:
    return han.load(path)


def load_model(path: Path) -> han.Classifier:
    """A cached model; reloaded only when its weights file changes."""
    return _load(str(path), weights_stamp(path))


def weights_stamp(folder: Path) -> float:
    """The weights file's modification time (0 when absent): cached results of a checkpoint retrained in the same
    folder are computed anew."""
    weights = folder / "model.safetensors"
    return weights.stat().st_mtime if weights.exists() else 0.0


@st.cache_data(show_spinner=False, max_entries=32)
def _record(path: str, stamps: tuple[float, ...]) -> tuple[dict, dict]:
    check_directory(Path(path))
    check_weights_file(Path(path) / "model.safetensors")
    config = read_json(Path(path) / "config.json")
    model = config.get("model")
    vocab_size = model.get("vocab_size") if isinstance(model, dict) else None
    if isinstance(vocab_size, int):  # vocab.txt of these weights (size, digest): else every page would trip on it
        read_vocab(Path(path), vocab_size)
    return config, read_metrics(Path(path) / "metrics.json")


def checkpoint_record(path: Path) -> tuple[dict, dict]:
    """(config, metrics) of a checkpoint from its JSON files, its files checked, without torch or the weights."""
    files = [path / name for name in ("config.json", "vocab.txt", "model.safetensors", "metrics.json")]  # it reads
    return _record(str(path), tuple(f.stat().st_mtime if f.exists() else 0.0 for f in files))


def choose_set() -> dict[str, Path]:
    """Sidebar picker of the checkpoint set; returns {variant: folder} in AVE, MAX, ATT order."""
    options = [*SETS, OTHER]
    choice = remembered(st.sidebar.selectbox, "Checkpoint set", "set_choice", options[0], options)
    if choice == OTHER:
        folder = remembered(st.sidebar.text_input, "Folder of checkpoints (or one checkpoint)", "custom_folder", "")
        if not folder.strip():
            raise HanError("Enter a checkpoint folder in the sidebar.")
        return usable(typed_path(folder))
    return usable(SETS[choice])


def usable(folder: Path) -> dict[str, Path]:
    """The set's checkpoints whose files are sound; each damaged one is named with what to do and left out, so
    that one bad copy does not hide the others. Refused only when none is left."""
    problems: list[str] = []
    models = discover(folder, problems)
    for key, path in list(models.items()):
        try:
            checkpoint_record(path)
        except HanError as e:
            problems.append(str(e))
            del models[key]
    if not models:
        raise HanError("\n\n".join(problems))
    for problem in problems:
        st.error(f"Left out of the set, the others are shown: {problem}")
    return models


def shown_names(models: dict[str, Path]) -> dict[str, str]:
    """The name shown for each model of a set: the paper's (HN-ATT), with its folder where two share a name
    (two seeds of one setting, or checkpoints of two data sets in one folder): told apart by nothing else."""
    names = {key: model_name(checkpoint_record(path)[0].get("model", {})) for key, path in models.items()}
    shared = {name for name in names.values() if list(names.values()).count(name) > 1}
    return {key: f"{name} ({models[key].name})" if name in shared else name for key, name in names.items()}


def choose_model(models: dict[str, Path], key: str = "variant") -> tuple[str, han.Classifier]:
    """Sidebar picker of one model of the set (HN-ATT by default)."""
    variants, names = list(models), shown_names(models)
    variant = remembered(
        st.sidebar.radio,
        "Model",
        key,
        "att" if "att" in variants else variants[-1],
        variants,
        format_func=names.get,
        horizontal=True,
    )
    return variant, load_model(models[variant])


def choose_head(names: list[str], key: str, default: str = "mean of the heads") -> int | None:
    """Sidebar picker of one attention head (0-based), or None for what is drawn by default (`default`: the heads'
    mean; for an attention per class, the predicted class's)."""
    options = [None, *range(len(names))]
    if st.session_state.get(f"{key}_names", names) != names:  # another model's heads: its "head 2" is not
        st.session_state.pop(key, None)  # CAHAN's "context after", nor any choice made here: the mean again
        st.session_state.pop(f"saved:{key}", None)
    st.session_state[f"{key}_names"] = names
    return remembered(
        st.sidebar.radio,
        "Attention head",
        key,
        None,
        options,
        format_func=lambda head: default if head is None else names[head],
        help="Multi-head attention (Lin et al. 2017): each head's weights; CAHAN (bi): the pass reading the "
        "sentences before, or after; or their mean. An attention per class: the evidence each class attends to.",
    )


# ----------------------------------------------------------------------------- data


def data_paths(model: han.Classifier) -> list[Path]:
    """The data the checkpoint was trained on, if it is present here (or the user's override)."""
    override = st.session_state.get("data_override", "").strip()
    if override:
        return [typed_path(p) for p in override.split(";") if p.strip()]
    recorded = [Path(s["path"]) for s in model.config.get("data", {}).get("sources", []) if "path" in s]
    return [p if p.is_absolute() else ROOT / p for p in recorded]


def data_present(model: han.Classifier) -> bool:
    paths = data_paths(model)
    return bool(paths) and all(p.exists() for p in paths)


@st.cache_resource(show_spinner="Reading the test split...", max_entries=4)  # shared, not copied per view
def test_split(checkpoint: str, paths: tuple[str, ...]) -> list[Example]:
    """Test documents of the checkpoint's split, re-made from its data as recorded."""
    from han.data.dataset import checkpoint_split, read_like

    model = load_model(Path(checkpoint))
    try:
        dataset = read_like(model.config, list(paths), splits=("test",), directory=model.path)
        return checkpoint_split(model.config, dataset, "test", model.path)
    except NotTrainingData as e:  # its message ends with the CLI's advice (--max-docs, han evaluate): the app's
        raise HanError(
            f"{e.reason}. In 'Data files for test documents' in the sidebar, give the files it was trained on (same "
            "files, same order), or clear the field to use the data recorded in the checkpoint."
        ) from None


def test_documents(model: han.Classifier) -> list[Example]:
    return test_split(str(model.path), tuple(str(p) for p in data_paths(model)))


@st.cache_data
def examples() -> list[dict]:
    data = json.loads((ROOT / "assets" / "examples.json").read_text(encoding="utf-8"))
    return [e for group in ("restaurant", "movie") for e in data[group]]


@st.cache_resource(show_spinner="Loading word statistics...", max_entries=8)  # arrays shared, not copied per view
def _stats(path: str, stamp: float) -> WordStats:
    from han.interpret.stats import load

    return load(path)


def load_stats(path: Path) -> WordStats:
    return _stats(str(path), path.stat().st_mtime if path.exists() else 0.0)


@st.cache_data(show_spinner=False)
def _weights_digest(folder: str, stamp: float) -> str:
    from han.checkpoint.files import weights_digest

    return weights_digest(Path(folder))


def other_weights(folder: Path, record: Path, recorded: str | None) -> str | None:
    """Why a record beside a checkpoint (word statistics, faithfulness figures) must not be shown: it was computed
    from other weights than the folder's, e.g. model.safetensors copied over by hand. None when it describes these
    weights, or when it is from before digests were kept (`recorded` None) and cannot tell."""
    if recorded is None or recorded == _weights_digest(str(folder), (folder / "model.safetensors").stat().st_mtime):
        return None
    return (
        f"{record} was computed from other weights than this checkpoint's (its model.safetensors has been "
        "replaced since): its figures would not be this model's."
    )


# ----------------------------------------------------------------------------- inputs


def document_input(model: han.Classifier, key: str) -> tuple[str | None, str | None]:
    """Ask for a document: example, pasted text, uploaded file or test document.

    Returns (text, gold label or None); (None, None) while there is nothing to show yet.
    """
    remembered(
        st.sidebar.text_input,
        "Data files for test documents",
        "data_override",
        "",
        placeholder="as recorded in the checkpoint",
        help="Where the checkpoint's data is on this "
        "machine, if not where it was trained; several files separated by ';'.",
    )
    sources = ["Example review", "Paste text", "Upload .txt"]
    if data_present(model):
        sources.append("Test document")
    elif st.session_state.get("data_override", "").strip():  # a typo would otherwise just hide the test documents
        missing = ", ".join(str(p) for p in data_paths(model) if not p.exists()) or "no file name"
        st.error(
            f"Data files for test documents: {missing} not found. Check the path (several files separated by ';'), "
            "or clear the field to use the data recorded in the checkpoint."
        )
    source = remembered(st.radio, "Document", f"{key}_source", sources[0], sources, horizontal=True)
    if source == "Example review":
        options = examples()
        chosen = remembered(
            st.selectbox,
            "Our own example reviews",
            f"{key}_example",
            0,
            range(len(options)),
            format_func=lambda i: options[i]["title"],
        )
        return options[chosen]["text"], None
    if source == "Paste text":
        with st.form(f"{key}_form"):
            text = remembered(
                st.text_area,
                "Review text",
                f"{key}_text",
                "",
                height=180,
                placeholder="Paste a review; sentences are split automatically.",
            )
            st.form_submit_button("Explain", type="primary")
        if not text or not text.strip():
            st.info("Paste a review and press Explain.")
            return None, None
        return text, None
    if source == "Upload .txt":
        upload = st.file_uploader("A UTF-8 text file", type=["txt"], key=f"{key}_upload", max_upload_size=MAX_UPLOAD_MB)
        if upload is None:
            return None, None
        if upload.size == 0:
            raise HanError(f"{upload.name} is empty: upload a text file with a review in it")
        if upload.size > MAX_UPLOAD_MB * 2**20:  # the browser enforces it too; a script or proxy may not
            raise HanError(
                f"{upload.name} is {upload.size / 2**20:.1f} MB, over the {MAX_UPLOAD_MB} MB limit; the model reads "
                f"at most {model.limits.max_chars:,} characters of a review: upload a shorter file"
            )
        from han.data.text import decode_text

        return decode_text(upload.getvalue(), upload.name), None
    documents = test_documents(model)
    if st.session_state.get(f"{key}_test", 0) >= len(documents):  # remembered from a larger test split
        st.session_state[f"{key}_test"] = 0
    index = remembered(
        st.number_input,
        f"Test document (0-{len(documents) - 1})",
        f"{key}_test",
        0,
        min_value=0,
        max_value=len(documents) - 1,
        step=1,
    )
    example = documents[int(index)]
    text = example.plain_text(sentence_separator="\n")
    return text, example.label


# Per-document results are shared by every session (a room of viewers opening the same review computes it once) and
# kept as the objects themselves (st.cache_resource: a hit copies nothing, where st.cache_data would unpickle a copy
# on every view); the pages only read them. Bounded, so the server's memory stays flat over any number of reviews.


@st.cache_resource(show_spinner=False, max_entries=128)
def _explanation(checkpoint: str, stamp: float, text: str) -> dict:
    return load_model(Path(checkpoint)).explain(text)


def explanation(model: han.Classifier, text: str) -> dict:
    """`model.explain(text)`, computed once per checkpoint and text for every session (read it, never change it)."""
    return _explanation(str(model.path), _stamp(model), text)


@st.cache_resource(show_spinner="Measuring attributions (leave-one-out, integrated gradients)...", max_entries=32)
def _faithfulness(checkpoint: str, stamp: float, text: str) -> dict:
    from han.interpret.faithfulness import explain_faithfulness

    return explain_faithfulness(load_model(Path(checkpoint)), text)


def faithfulness(model: han.Classifier, text: str) -> dict:
    """Every method's scores of `text`, their agreement with attention and the erasure curve (cached, shared)."""
    return _faithfulness(str(model.path), _stamp(model), text)


def _stamp(model: han.Classifier) -> float:
    assert model.path is not None  # the app loads checkpoints from folders
    return weights_stamp(model.path)


# ----------------------------------------------------------------------------- output


def show_document(explanation: dict, raw: bool = False) -> None:
    """The Figure-5 rendering: red sentence blocks, blue words; exact weights in tooltips."""
    from han.interpret.explain import to_html

    st.html(to_html(explanation, raw=raw))
    for caveat in explanation.get("warnings", []):
        st.warning(caveat)
    if explanation["truncated"]:
        cut = ", ".join(f"{n} {what}" for what, n in explanation["truncated"].items())
        st.warning(
            f"The document was cut at the model's limits ({cut} dropped; "
            f"limits: {explanation['limits']['max_sentences']} sentences, "
            f"{explanation['limits']['max_words']} words per sentence)."
        )
