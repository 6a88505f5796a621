"""Benchmark search at scale: build synthetic sites, then measure the search page in Chromium.

    python scripts/bench_search.py [--sizes 1000 10000] [--work /tmp/bench-search] [--keep]

For each size N: generate N stories (scripts/generate_corpus.py), build with `mkdocs build`
(timed; the Pagefind share is read from the build log), serve the site from a sub-path over
HTTP, and in headless Chromium (a fresh browser context each time, so nothing is cached)
measure the bytes downloaded (file bodies the server sent, the Pagefind worker's included) and
the time until the first result is on screen:

- url:     open /search/?q=WORD (a shared link), from navigation start;
- typed:   open /search/, then submit WORD in the box, from the submit;
- filter:  open /search/?q=WORD&team=hr, from navigation start;
- refine:  after `url`, pick a KPI in the filter, until the new results are shown;
- broad:   like `typed`, for a word that nearly every story contains (the worst case).

Not a test: it prints a table and writes JSON next to the work folder.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).parent))
from generate_corpus import generate  # noqa: E402

from storyhub.search_index import bundles  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SUB = "intranet/"
WORD = "onboarding"  # a topic word: in about 6% of the synthetic stories
BROAD = "customers"  # a word nearly every story has: the worst case for ranking
MKDOCS = str(Path(sys.executable).with_name("mkdocs"))
# Records when the first result appears, so polling by the test driver does not add to it.
OBSERVER = """
window.__firstHit = null;
new MutationObserver((_, observer) => {
  if (document.querySelector('.sh-hit')) { window.__firstHit = performance.now(); observer.disconnect(); }
}).observe(document, {childList: true, subtree: true});
"""


class Served:
    """What the server sent: (path, body bytes) per file, counted on the server side so that
    requests made by Pagefind's web worker count too."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[tuple[str, int]] = []

    def add(self, path: str, size: int) -> None:
        with self.lock:
            self.sent.append((path, size))

    def mark(self) -> int:
        with self.lock:
            return len(self.sent)

    def since(self, mark: int) -> list[tuple[str, int]]:
        with self.lock:
            return self.sent[mark:]


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    served: Served

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def copyfile(self, source: Any, outputfile: Any) -> None:
        self.served.add(self.path, os.fstat(source.fileno()).st_size)
        super().copyfile(source, outputfile)


@contextmanager
def serve(folder: Path, served: Served) -> Iterator[str]:
    handler = type("Handler", (CountingHandler,), {"served": served})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{SUB}"
    finally:
        server.shutdown()
        server.server_close()


def build(project: Path, site: Path) -> dict[str, float]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "true"}
    shutil.rmtree(project / ".cache", ignore_errors=True)  # a clean build, no render cache
    started = time.perf_counter()
    done = subprocess.run([MKDOCS, "build", "--strict", "-d", str(site)], cwd=project, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"build failed:\n{done.stderr[-3000:]}")
    found = re.search(r"indexed (\d+) pages for search in ([\d.]+) s", done.stderr)
    return {"build_s": seconds, "indexed_pages": float(found.group(1)) if found else 0.0,
            "pagefind_s": float(found.group(2)) if found else 0.0}


class Meter:
    """Bytes the server sent since the meter was made (the whole page and its search)."""

    def __init__(self, served: Served):
        self.served = served
        self.start = served.mark()

    def files(self) -> list[tuple[str, int]]:
        return self.served.since(self.start)

    @property
    def total(self) -> int:
        return sum(size for _, size in self.files())

    @property
    def search(self) -> int:
        return sum(size for path, size in self.files()
                   if re.search(r"/pagefind(-\d+)?/", path) or path.endswith("search.js"))

    @property
    def requests(self) -> int:
        return len(self.files())


def wait_searched(page: Page, after: int) -> None:
    page.wait_for_function(
        "n => Number(document.querySelector('.sh-search').dataset.searched || 0) > n",
        arg=after, timeout=30_000)


def searched(page: Page) -> int:
    return int(page.eval_on_selector(".sh-search", "el => el.dataset.searched || 0"))


def measure(browser: Any, base: str, served: Served) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def fresh() -> tuple[Any, Page, Meter]:
        # A new context has an empty cache: every byte of the page and the index is fetched.
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.add_init_script(OBSERVER)
        return context, page, Meter(served)

    # A shared link: navigation start to the first result on screen.
    context, page, meter = fresh()
    page.goto(f"{base}search/?q={WORD}")
    page.wait_for_function("window.__firstHit !== null", timeout=30_000)
    wait_searched(page, 0)
    page.wait_for_load_state("networkidle")
    out["url"] = {"ms": page.evaluate("window.__firstHit"), "kb": meter.total / 1024,
                  "search_kb": meter.search / 1024, "requests": meter.requests,
                  "results": page.inner_text(".sh-search__status")}
    # Refine: pick a KPI; until the new list is on screen.
    kb_before = meter.total
    before = searched(page)
    started = page.evaluate("performance.now()")
    kpi = page.eval_on_selector("select[name=kpi]",
                                "s => [...s.options].find(o => o.value && !o.disabled).value")
    page.select_option("select[name=kpi]", kpi)
    wait_searched(page, before)
    out["refine"] = {"ms": page.evaluate("performance.now()") - started,
                     "kb": (meter.total - kb_before) / 1024,
                     "results": page.inner_text(".sh-search__status")}
    context.close()

    # Typed: the page is loaded, the reader submits a word.
    for key, word in (("typed", WORD), ("broad", BROAD)):
        context, page, meter = fresh()
        page.goto(f"{base}search/")
        wait_searched(page, 0)
        page.wait_for_load_state("networkidle")
        loaded_kb = meter.total / 1024
        page.fill("#sh-search-q", word)
        started = page.evaluate("(() => { const t = performance.now(); document.getElementById("
                                "'sh-search-form').requestSubmit(); return t; })()")
        page.wait_for_function("window.__firstHit !== null", timeout=30_000)
        wait_searched(page, 1)
        page.wait_for_load_state("networkidle")
        out[key] = {"ms": page.evaluate("window.__firstHit") - started, "kb": meter.total / 1024,
                    "page_load_kb": loaded_kb, "results": page.inner_text(".sh-search__status")}
        context.close()

    # A shared link with a filter.
    context, page, meter = fresh()
    page.goto(f"{base}search/?q={WORD}&team=hr")
    page.wait_for_function("window.__firstHit !== null", timeout=30_000)
    wait_searched(page, 0)
    page.wait_for_load_state("networkidle")
    out["filter"] = {"ms": page.evaluate("window.__firstHit"), "kb": meter.total / 1024,
                     "search_kb": meter.search / 1024,
                     "results": page.inner_text(".sh-search__status")}
    context.close()
    return out


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-search"))
    parser.add_argument("--keep", action="store_true", help="keep the generated sites")
    parser.add_argument("--measure-only", action="store_true",
                        help="reuse the sites a --keep run left (build times from its JSON)")
    args = parser.parse_args()
    report = args.work / "bench_search.json"
    earlier = json.loads(report.read_text("utf-8")) if report.exists() else {}
    results: dict[int, dict[str, Any]] = {}
    for n in args.sizes:
        project = args.work / f"project-{n}"
        www = args.work / f"www-{n}"
        if args.measure_only:
            timing = {k: earlier[str(n)][k] for k in ("build_s", "indexed_pages", "pagefind_s")}
        else:
            started = time.perf_counter()
            corpus = generate(n, project)
            generated = time.perf_counter() - started
            print(f"[{n}] generated {len(corpus.stories)} stories in {generated:.1f} s", flush=True)
            shutil.rmtree(www, ignore_errors=True)
            timing = build(project, www / SUB)
        # All index shards (pagefind/, pagefind-2/, ...: search_index.plan_shards).
        sizes = [folder_size(bundle) for bundle in bundles(www / SUB)]
        files, size = sum(f for f, _ in sizes), sum(b for _, b in sizes)
        print(f"[{n}] built in {timing['build_s']:.1f} s (Pagefind {timing['pagefind_s']:.1f} s, "
              f"{timing['indexed_pages']:.0f} pages; index {files} files, {size / 2**20:.1f} MiB)",
              flush=True)
        served = Served()
        with serve(www, served) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            measure(browser, base, served)  # warm the OS file cache and Chromium itself
            runs = [measure(browser, base, served) for _ in range(5)]
            browser.close()
        # The median run of each case: the machine is shared, so single runs are noisy.
        best = {key: sorted((r[key] for r in runs), key=lambda v: v["ms"])[len(runs) // 2]
                for key in runs[0]}
        results[n] = {"stories": n, **timing, "index_files": files, "index_mib": size / 2**20,
                      "runs": runs, "best": best}
        for key, value in best.items():
            print(f"[{n}] {key:7s} {value['ms']:7.0f} ms  {value['kb']:7.0f} KiB  "
                  f"{value.get('results', '')}", flush=True)
        if not args.keep and not args.measure_only:
            shutil.rmtree(www, ignore_errors=True)
    print("\n| stories | build | Pagefind | index | shared link: time / KiB (search part) "
          "| typed query: time / KiB | with filter: time / KiB | refine: time / KiB "
          "| broad word typed: time |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in results.items():
        b = r["best"]
        print(f"| {n:,} | {r['build_s']:.0f} s | {r['pagefind_s']:.1f} s | {r['index_files']} files, "
              f"{r['index_mib']:.1f} MiB | {b['url']['ms']:.0f} ms / {b['url']['kb']:.0f} "
              f"({b['url']['search_kb']:.0f}) | {b['typed']['ms']:.0f} ms / {b['typed']['kb']:.0f} "
              f"| {b['filter']['ms']:.0f} ms / {b['filter']['kb']:.0f} "
              f"| {b['refine']['ms']:.0f} ms / {b['refine']['kb']:.0f} "
              f"| {b['broad']['ms']:.0f} ms |")
    report.write_text(json.dumps(results, indent=2), "utf-8")
    print(f"\nraw numbers: {report}")


if __name__ == "__main__":
    main()
