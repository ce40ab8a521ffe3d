"""The app under load: N people open a page at the same moment, as a room does when a speaker shares the address.

    python bench/app_load.py [--viewers 1 8 16] [--pages Models Document ...] [--memory-views 200] [--profile F]

One `streamlit run app.py` on a loopback port, warmed by one view of every page (models loaded, caches filled).
Then, per page and per N, N headless Chromium sessions (Debian's, driven by Playwright; nothing is downloaded)
open the page together, and on Document each then pastes a review of its own that the server has not seen (ten
sentences written by this script), as a reader trying the app does. Printed per row:
  - server CPU seconds per view: the server process's user + system time (/proc/PID/stat, so the browsers' CPU is
    not counted) over the wave, divided by N; "repeat" is the page on its default content, already computed for an
    earlier viewer; "new review" the paste of a review never seen;
  - each session's seconds to its content (the page's title drawn and its script finished), median and max.
--memory-views K: one session pastes K different reviews in turn; the server's resident memory is printed every
K/10 views (it must stay flat: the caches are bounded). --profile F: py-spy samples every thread of the server
(the sessions' scripts run in threads of their own) and writes the stacks to F, and the functions of han/, views/
and the libraries that took most of the samples are printed: where a view's time goes.
Targets (issue 31, 2 cores): Document <= 0.3 s per repeat view, <= 0.6 s per new 10-sentence review; 16 viewers all
rendered, the slowest within 10 s. Prints a table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app_first_paint import free_port, start_server  # bench/ is on sys.path when a script of it runs

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
TITLES = {  # the page's URL path -> its title as drawn
    "Models": "Hierarchical Attention Networks",
    "Document": "Document",
    "Word_attention": "Word attention by rating",
    "Compare": "The variants side by side",
    "Faithfulness": "Is the attention faithful?",
    "Data_set": "Data set",
}
DONE = "document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state') === 'notRunning'"
TICKS = os.sysconf("SC_CLK_TCK")
# a review of ten sentences of our own words; {n} makes each one a text the server has not seen
SENTENCES = [
    "We came for dinner on a Tuesday, visit number {n}.",
    "The soup was warm and the bread tasted fresh.",
    "Our waiter forgot the drinks twice.",
    "The noodles were salty but generous.",
    "Dessert was the best part of the evening.",
    "Prices are a little high for the portions.",
    "The room was loud and the chairs were hard.",
    "Parking nearby is easy after six.",
    "I would order the dumplings again.",
    "Overall a decent place, not a great one.",
]


def review(n: int) -> str:
    return " ".join(SENTENCES).format(n=n)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def open_page(browser, url: str, title: str):
    """A new session on `url`; returns (page, seconds until its title is drawn and its script has finished)."""
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    start = time.perf_counter()
    await page.goto(url, wait_until="commit", timeout=300_000)
    await page.wait_for_function(f"document.body.innerText.includes({title!r}) && {DONE}", timeout=300_000)
    await page.wait_for_timeout(300)  # a rerun that st.navigation starts right after the first one
    await page.wait_for_function(DONE, timeout=300_000)
    return page, time.perf_counter() - start


async def paste(page, text: str) -> float:
    """Choose "Paste text", submit `text`; seconds until its heatmap and prediction are drawn."""
    start = time.perf_counter()
    await page.get_by_text("Paste text", exact=True).click()
    await page.wait_for_selector("textarea", timeout=300_000)
    await page.fill("textarea", text)
    await page.get_by_role("button", name="Explain").click()
    marker = text.split(",")[0].split()[-1]  # "number": in the heatmap once the new review is drawn
    ready = f"document.querySelector('.han-doc')?.innerText.includes('{marker}') && {DONE}"
    await page.wait_for_function(f"document.body.innerText.includes('visit') && {ready}", timeout=300_000)
    await page.wait_for_timeout(300)
    await page.wait_for_function(DONE, timeout=300_000)
    return time.perf_counter() - start


async def wave(browser, pid: int, base: str, path: str, viewers: int, counter: list[int]) -> list[str]:
    """N sessions open `path` together (and on Document paste a new review each): the table's rows."""
    url = f"{base}/{'' if path == 'Models' else path}"
    before = cpu_seconds(pid)
    opened = await asyncio.gather(*(open_page(browser, url, TITLES[path]) for _ in range(viewers)))
    spent = cpu_seconds(pid) - before
    seconds = [s for _, s in opened]
    rows = [row(path, "repeat", viewers, spent, seconds)]
    if path == "Document":
        before = cpu_seconds(pid)
        counter[0] += viewers
        texts = [review(counter[0] - i) for i in range(viewers)]
        seconds = await asyncio.gather(*(paste(page, text) for (page, _), text in zip(opened, texts, strict=True)))
        rows.append(row(path, "new review", viewers, cpu_seconds(pid) - before, list(seconds)))
    for page, _ in opened:
        await page.close()
    return rows


def row(path: str, view: str, viewers: int, cpu: float, seconds: list[float]) -> str:
    return (
        f"{path:<15} {view:<11} {viewers:>3} {cpu / viewers:>10.2f} "
        f"{statistics.median(seconds):>10.1f} {max(seconds):>8.1f}"
    )


async def memory(browser, pid: int, base: str, views: int) -> None:
    """One session pastes `views` different reviews in turn; resident memory every views/10."""
    page, _ = await open_page(browser, f"{base}/Document", TITLES["Document"])
    print(f"\nserver memory over {views} views of different reviews (MB): start {resident_mb(pid):.0f}", end="")
    for n in range(1, views + 1):
        await paste(page, review(10_000 + n))
        if n % max(1, views // 10) == 0:
            print(f", {n}: {resident_mb(pid):.0f}", end="", flush=True)
    print()
    await page.close()


async def run(args: argparse.Namespace) -> None:
    from playwright.async_api import async_playwright

    log = Path(tempfile.mkdtemp(prefix="han-app-load-")) / "streamlit.log"
    port = free_port()
    server = start_server(port, log, tuple(args.server_flag))
    sampler = None
    if args.profile:  # every thread, without pausing the server
        command = ["py-spy", "record", "--pid", str(server.pid), "--format", "raw", "--output", args.profile]
        sampler = subprocess.Popen([*command, "--nonblocking", "--rate", "50"], stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            for path in args.pages:  # warm: every model loaded, every page's default content computed once
                page, seconds = await open_page(browser, f"{base}/{'' if path == 'Models' else path}", TITLES[path])
                print(f"warm-up {path}: {seconds:.1f} s", file=sys.stderr)
                await page.close()
            print(f"{'page':<15} {'view':<11} {'N':>3} {'CPU s/view':>10} {'median s':>10} {'max s':>8}")
            counter = [0]
            for path in args.pages:
                for viewers in args.viewers:
                    for line in await wave(browser, server.pid, base, path, viewers, counter):
                        print(line, flush=True)
            if args.memory_views:
                await memory(browser, server.pid, base, args.memory_views)
            await browser.close()
    finally:
        if sampler:
            sampler.send_signal(signal.SIGINT)  # py-spy writes its file
            sampler.wait(timeout=60)
        server.terminate()
        server.wait(timeout=30)
    print(f"server log: {log}", file=sys.stderr)
    if args.profile:
        top_functions(Path(args.profile))


def top_functions(stacks: Path, shown: int = 25) -> None:
    """The functions present in most samples of the script threads (py-spy's raw format: a stack and a count)."""
    samples: dict[str, int] = {}
    total = 0
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "script_runner.py" not in stack:  # the event loop and idle threads: not a view's script
            continue
        total += int(count)
        for frame in set(stack.split(";")):
            if any(part in frame for part in ("han/", "views/", "plotly", "pickle", "matplotlib", "PIL", "torch")):
                samples[frame] = samples.get(frame, 0) + int(count)
    print(f"\nscript threads: {total} samples; functions in the most of them:")
    for frame, hits in sorted(samples.items(), key=lambda kv: -kv[1])[:shown]:
        print(f"{hits / max(total, 1):6.1%}  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 8, 16], help="sessions opened together")
    parser.add_argument("--pages", nargs="+", choices=list(TITLES), default=list(TITLES), help="pages to load")
    parser.add_argument("--memory-views", type=int, default=0, help="views of different reviews for the memory row")
    parser.add_argument("--profile", help="run the server under cProfile and write its statistics here")
    parser.add_argument(
        "--server-flag",
        action="append",
        default=[],
        help="a flag for `streamlit run`, e.g. --server-flag=--server.fileWatcherType=auto (default: none)",
    )
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit("Debian's chromium is missing: apt-get install -y chromium chromium-driver")
    if args.profile and shutil.which("py-spy") is None:
        raise SystemExit("--profile samples the server with py-spy: pip install py-spy")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    if os.getloadavg()[0] > 0.8:  # say so (RESULTS.md's report reads this phrase): the seconds are then pessimistic
        print("note: another process used the other core during this run")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
