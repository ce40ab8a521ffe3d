"""First paint of the app in a real browser, on a cold server (a fresh `streamlit run` for every sample).

    python bench/app_first_paint.py [--repeats 3]

For each page, the seconds from the moment the server answers its health check until Chromium
(Debian's, driven by Playwright; nothing is downloaded) shows:
  - the page title (anything drawn at all),
  - the page's content: on Models the paper's three model names with their test accuracy, on Document the
    heatmap of the default example review with its prediction.
Goals (issue 14): Models < 2 s, Document < 5 s.

The Data set page (issue 32), on the shipped Yelp set (its test split, 1,500 documents): seconds from the click to
the table and the map on a fresh server (cold) and on the same server again (warm: another browser tab), and from
a filter change (HN-ATT "wrong") to the updated slice. Goals: warm < 3 s, filter < 1 s.
Prints tables; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
# page path -> (title text, JavaScript condition for "the content is there")
PAGES = {
    "Models": (
        "Hierarchical Attention Networks",
        "['HN-AVE', 'HN-MAX', 'HN-ATT'].every(n => document.body.innerText.includes(n))"
        " && document.querySelector('[data-testid=stDataFrame] canvas')",  # the comparison table
    ),
    "Document": ("Document", "document.querySelector('.han-doc') && document.body.innerText.includes('predicts')"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log: Path, flags: tuple[str, ...] = ()) -> subprocess.Popen:
    """`streamlit run app.py` on a loopback port (with `flags` for it); returns once /_stcore/health answers."""
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    server = subprocess.Popen(
        [*command, *flags], cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, env=os.environ
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"streamlit did not start within 60 s; see {log}")


def sample(browser, page_path: str, log: Path) -> tuple[float, float]:
    """(seconds to the title, seconds to the content) on a freshly started server."""
    title, ready = PAGES[page_path]
    port = free_port()
    server = start_server(port, log)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        start = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/{'' if page_path == 'Models' else page_path}")
        page.wait_for_function(f"document.body.innerText.includes({title!r})", timeout=120_000, polling=50)
        first = time.perf_counter() - start
        page.wait_for_function(ready, timeout=120_000, polling=50)
        content = time.perf_counter() - start
        page.close()
        return first, content
    finally:
        server.terminate()
        server.wait(timeout=20)


DATA_SET_READY = (  # the accuracy table, the documents' table and the map
    "document.querySelectorAll('[data-testid=stDataFrame]').length >= 2 && document.querySelector('.js-plotly-plot')"
)
SLICE = "document.querySelector('[data-testid=stMetric]')?.innerText || ''"


def data_set_sample(browser, log: Path) -> tuple[float, float, float]:
    """(cold s, warm s, filter s) for the Data set page on one freshly started server."""
    port = free_port()
    server = start_server(port, log)
    try:
        timings = []
        for _ in range(2):  # cold, then warm
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            start = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/Data_set")
            page.wait_for_function(DATA_SET_READY, timeout=600_000, polling=50)
            timings.append(time.perf_counter() - start)
        before = page.evaluate(f"() => {SLICE}")
        start = time.perf_counter()
        page.get_by_test_id("stExpander").get_by_text("wrong", exact=True).click()
        page.wait_for_function(f"({SLICE}) !== {before!r}", timeout=60_000, polling=20)
        timings.append(time.perf_counter() - start)
        page.close()
        return timings[0], timings[1], timings[2]
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="cold starts per page (default: 3)")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit("Debian's chromium is missing: apt-get install -y chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    log = Path(tempfile.mkdtemp(prefix="han-first-paint-")) / "streamlit.log"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; Chromium {CHROMIUM}")
    if os.getloadavg()[0] > 0.8:  # say so: the figures are then pessimistic
        print(f"note: another process used the other core during this run (load average {os.getloadavg()[0]:.1f})")
    print(f"{'page':<10} {'title s (median/max)':>22} {'content s (median/max)':>24}   goal")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        for page_path, goal in (("Models", 2.0), ("Document", 5.0)):
            samples = [sample(browser, page_path, log) for _ in range(args.repeats)]
            firsts, contents = [s[0] for s in samples], [s[1] for s in samples]
            print(
                f"{page_path:<10} {statistics.median(firsts):>12.2f} / {max(firsts):5.2f}"
                f" {statistics.median(contents):>14.2f} / {max(contents):5.2f}   < {goal:.0f} s"
            )
        rows = [data_set_sample(browser, log) for _ in range(args.repeats)]
        print(f"{'Data set':<10} {'cold s':>10} {'warm s (goal < 3)':>20} {'filter s (goal < 1)':>22}  (median / max)")
        columns = [[r[i] for r in rows] for i in range(3)]
        print(f"{'Yelp 1,500':<10}" + "".join(f"{statistics.median(c):>12.2f} / {max(c):5.2f}" for c in columns))
        browser.close()
    print(f"server log: {log}", file=sys.stderr)


if __name__ == "__main__":
    main()
