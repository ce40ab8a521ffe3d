"""End to end: `streamlit run app.py` on a loopback port, driven by Debian's headless Chromium."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
REVIEW = (
    "The ramen broth was rich and the noodles were perfect. The waiter forgot our drinks twice. "
    "Still, this is the best ramen in the neighbourhood and I will be back."
)
pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    """Screenshots and the server log: pytest's temporary folder (printed on failure), never the repository."""
    return tmp_path_factory.mktemp("browser")


@contextlib.contextmanager
def streamlit_server(log_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port; yields its URL once healthy."""
    port = free_port()
    log = log_path.open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"streamlit did not start within 60 s; see {log_path}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def app_url(artifacts):
    with streamlit_server(artifacts / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install -y chromium chromium-driver"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


def test_pasted_review_shows_red_sentences_blue_words_and_the_label(app_url, browser, artifacts):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/Document")
    page.get_by_text("Paste text", exact=True).click()
    page.locator("textarea").fill(REVIEW)
    page.get_by_role("button", name="Explain").click()
    page.wait_for_function(
        "document.querySelector('.han-doc') && document.body.innerText.includes('ramen')", timeout=60_000
    )
    sentences = page.locator(".han-sentence")
    words = page.locator(".han-word")
    assert sentences.count() == 3
    assert words.count() >= 30
    backgrounds = [sentences.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(3)]
    assert all(b.startswith("rgb") and "220, 38, 38" in b for b in backgrounds), backgrounds
    word_colors = {words.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(words.count())}
    assert any("37, 99, 235" in c for c in word_colors), word_colors
    assert words.first.get_attribute("title").startswith("p_w=")
    predicted = page.get_by_test_id("stMetric").first.inner_text()
    assert "HN-ATT predicts" in predicted and any(star in predicted for star in "12345")
    page.screenshot(path=str(artifacts / "document.png"), full_page=True)
    page.get_by_test_id("stSidebar").get_by_text("HN-MAX", exact=True).click()  # switch model, keep the text
    page.wait_for_function("document.body.innerText.includes('HN-MAX predicts')", timeout=60_000)
    assert "ramen" in page.inner_text(".han-doc")
    page.close()


def test_binary_upload_is_refused_with_a_message(app_url, browser, tmp_path):
    page = browser.new_page()
    page.goto(f"{app_url}/Document")
    page.get_by_text("Upload .txt", exact=True).click()
    fake = tmp_path / "photo.txt"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    page.locator("input[type=file]").set_input_files(str(fake))
    page.wait_for_function("document.body.innerText.includes('binary')", timeout=30_000)
    assert page.get_by_test_id("stAlertContentError").count() == 1
    page.close()


def test_home_and_word_attention_pages_render(app_url, browser, artifacts):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url)
    page.wait_for_function(
        "document.body.innerText.includes('HN-AVE') && document.body.innerText.includes('HN-MAX')", timeout=60_000
    )
    sidebar = page.inner_text("[data-testid='stSidebar']")
    assert "Models" in sidebar and "Faithfulness" in sidebar and "app" not in sidebar.split()
    assert page.get_by_text("Deploy", exact=True).count() == 0  # client.toolbarMode hides it
    page.goto(f"{app_url}/Word_attention")
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    assert "good n=" in page.inner_text("body")
    page.screenshot(path=str(artifacts / "word_attention.png"), full_page=True)
    page.close()


PAGES = {"Models": "", "Document": "Document", "Word attention": "Word_attention", "Compare": "Compare",
         "Faithfulness": "Faithfulness", "Data set": "Data_set"}  # fmt: skip


def test_every_page_opened_by_its_own_link_on_a_fresh_server_shows_the_navigation(browser, artifacts):
    """A shared link opened before anyone has seen the home page: the app's titled navigation with its icons,
    never Streamlit's listing of a folder ("app" above file names)."""
    with streamlit_server(artifacts / "fresh.log") as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for title, path in [*list(PAGES.items())[1:], ("Models", "")]:  # the home page last
            page.goto(f"{url}/{path}")
            nav = page.get_by_test_id("stSidebarNav")
            nav.wait_for(timeout=60_000)
            page.wait_for_function(f"document.title.startsWith({title!r})", timeout=60_000)
            entries = nav.inner_text()
            assert all(name in entries for name in PAGES) and "app" not in entries.split(), (path, entries)
            assert nav.get_by_test_id("stIconMaterial").count() == len(PAGES), path  # each entry has its icon
        page.close()


def test_data_set_page_filters_and_opens_a_row_in_the_document_page(app_url, browser, artifacts):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    start = time.time()
    page.goto(f"{app_url}/Data_set")
    page.get_by_test_id("stDataFrame").last.wait_for(timeout=300_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    ready = time.time() - start
    count = lambda: page.get_by_test_id("stMetric").first.inner_text()
    assert "1,500" in count(), count()
    page.get_by_test_id("stExpander").get_by_text("wrong", exact=True).click()  # HN-ATT is wrong
    page.wait_for_function(
        "!document.querySelector('[data-testid=stMetric]').innerText.includes('1,500')", timeout=60_000
    )
    wrong = int(count().split()[-1].replace(",", ""))
    assert 0 < wrong < 1500
    plot = page.locator(".js-plotly-plot .nsewdrag").first  # a lasso on the map keeps those documents
    plot.scroll_into_view_if_needed()
    area = plot.bounding_box()
    assert area is not None
    x, y = area["x"] + area["width"] / 2, area["y"] + area["height"] / 2
    page.mouse.move(x - 80, y - 80)
    page.mouse.down()
    for dx, dy in ((80, -80), (80, 80), (-80, 80), (-80, -70)):
        page.mouse.move(x + dx, y + dy, steps=8)
    page.mouse.up()
    page.wait_for_function(
        f"!document.querySelector('[data-testid=stMetric]').innerText.endsWith('{wrong:,}')", timeout=60_000
    )
    lassoed = int(count().split()[-1].replace(",", ""))
    assert 0 < lassoed < wrong  # the filter and the lasso together (a new filter redraws the map, unselected)
    page.screenshot(path=str(artifacts / "data_set.png"), full_page=True)
    grid = page.get_by_test_id("stDataFrame").last  # after the accuracy table
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's selection cell (under the header)
    opener = page.get_by_role("button", name=re.compile(r"Open document \d+ in the Document page"))
    opener.wait_for(timeout=30_000)
    found = re.search(r"document (\d+)", opener.inner_text())
    assert found is not None
    doc = int(found.group(1))
    opener.click()
    page.wait_for_function("document.querySelector('.han-doc') !== null", timeout=120_000)
    assert page.url.endswith("/Document")
    assert "Gold rating" in page.inner_text("body")
    assert page.get_by_test_id("stNumberInputField").input_value() == str(doc)  # "Test document (0-1499)"
    print(f"Data set page ready in {ready:.1f} s (Yelp test split, 1,500 documents)")
    page.close()


def test_heatmap_draws_punctuation_as_written(app_url, browser):
    """ "better." and "booth," as the writer wrote them: the stop touches its word, a space only between words."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/Document")
    page.get_by_text("Paste text", exact=True).click()
    page.locator("textarea").fill("The fries were even better. We asked for a booth, and waited.")
    page.get_by_role("button", name="Explain").click()
    page.wait_for_function("document.body.innerText.includes('booth')", timeout=60_000)
    edges = page.evaluate(
        """() => [...document.querySelectorAll('.han-doc .han-word')].map(w => {
            const range = document.createRange(); range.selectNodeContents(w);
            const r = range.getBoundingClientRect(); return [w.innerText, r.left, r.right]; })"""
    )
    words = [text for text, _, _ in edges]
    for before, after in (("better", "."), ("booth", ",")):
        k = words.index(before)
        assert words[k + 1] == after and abs(edges[k + 1][1] - edges[k][2]) < 0.5, edges[k : k + 2]  # touching
    k = words.index("even")
    assert edges[k + 1][1] - edges[k][2] > 3  # a space between two words
    page.close()
