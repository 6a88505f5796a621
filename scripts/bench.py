"""Benchmark StoryHub builds against Material's blog and plain Material pages.

    python scripts/bench.py [--sizes 100,1000,5000] [--work /tmp/storyhub-bench]
                            [--venv .cache/bench-venv] [--serve-stories 2000] [--serve-edits 5]
                            [--json results.json]

For each size N the same synthetic stories (scripts/generate_corpus.py) are built four ways,
each `mkdocs build` in its own process:

  (a) StoryHub, clean: no site folder, no cache folder;
  (b) StoryHub again, warm: the caches of (a) kept (the output folder is new);
  (c) Material's blog + tags + search + mkdocs-rss-plugin, stories converted to blog posts;
  (d) the same stories as plain Material pages (search only).

(c) and (d) run in a separate virtual environment that this script creates (pinned versions
below), so StoryHub's environment is untouched. For each build it prints wall time, peak
memory (memory of the whole process tree: the larger of the sum of proportional set sizes
sampled every 0.25 s from /proc, so that pages a forked child shares with its parent count
once, and the kernel's max RSS of the biggest process) and output size, then the ratios
and the cost per story. It also checks that (b) wrote exactly the same bytes as (a).

Before the builds it compiles the plugin's Python bytecode, as pip does for the anchors'
packages when it installs them and as Python does on a package's first import. A shell
with PYTHONDONTWRITEBYTECODE set (this project's development machines have it) otherwise
has every StoryHub build, and each of its worker processes, compile the plugin's modules
again: 0.1-0.2 s of CPU that no installed site pays.

The serve case starts `mkdocs serve` on a project of --serve-stories stories, waits for the
first build, then edits one story (title and body) several times and measures the time from
saving the file to the page served over HTTP containing the new title (what a contributor
sees on reload). The median is reported.

Not a test: numbers depend on the machine. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from generate_corpus import generate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ANCHOR_PINS = ["mkdocs==1.6.1", "mkdocs-material==9.7.6", "mkdocs-rss-plugin==1.19.0"]
MKDOCS = str(Path(sys.executable).with_name("mkdocs"))
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "true"}
# Each sample walks the page tables of every process of the build (smaps_rollup): every
# 0.05 s, that took 1.7 s of CPU during a 1,000-story clean build, on the same two cores.
SAMPLE_SECONDS = 0.25

BLOG_YML = """\
site_name: Synthetic Stories
site_url: https://intranet.example.com/stories/
theme:
  name: material
  font: false
  features:
    - navigation.tabs
nav:
  - Home: index.md
  - Blog:
      - blog/index.md
  - Tags: tags.md
plugins:
  - search
  - blog
  - tags
  - rss:
      match_path: "blog/posts/.*"
      use_git: false
      date_from_meta:
        as_creation: date.created
        as_update: date.created
      categories:
        - categories
        - tags
"""

PLAIN_YML = """\
site_name: Synthetic Stories
site_url: https://intranet.example.com/stories/
theme:
  name: material
  font: false
  features:
    - navigation.tabs
nav:
  - Home: index.md
not_in_nav: |
  /stories/*
plugins:
  - search
"""

# A tiny local avatar: Material's blog requires one per author.
AVATAR = ('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32">'
          '<circle cx="16" cy="16" r="16" fill="#888"/></svg>\n')


# --- the anchors' virtual environment -------------------------------------------------------

def ensure_venv(venv: Path) -> Path:
    """Create (once) a virtual environment with the pinned anchors; return its mkdocs."""
    mkdocs = venv / "bin" / "mkdocs"
    marker = venv / "storyhub-bench-pins.txt"
    if mkdocs.is_file() and marker.is_file() and marker.read_text() == "\n".join(ANCHOR_PINS):
        return mkdocs
    print(f"creating the anchors' virtual environment in {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", *ANCHOR_PINS], check=True)
    marker.write_text("\n".join(ANCHOR_PINS))
    return mkdocs


def compile_plugin() -> Path:
    """Compile the bytecode of the StoryHub package the builds import (see the module)."""
    spec = importlib.util.find_spec("storyhub")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the storyhub package is not importable: pip install -e .")
    folder = Path(next(iter(spec.submodule_search_locations)))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder)], check=True)
    return folder


# --- converting our story layout into theirs -----------------------------------------------

def read_story(path: Path) -> tuple[dict[str, Any], str]:
    _, front, body = path.read_text("utf-8").split("---\n", 2)
    return yaml.safe_load(front), body


def convert(project: Path, blog: Path, plain: Path) -> int:
    """Write the stories of a StoryHub project as Material blog posts and as plain pages.

    Drafts are left out of the plain pages (they have no drafts) and marked `draft` in the
    blog, which then leaves them out too. Returns the number of stories converted.
    """
    stories_dir = project / "stories"
    teams = {t["id"]: t["name"] for t in yaml.safe_load((stories_dir / "teams.yml").read_text())}
    authors = yaml.safe_load((stories_dir / "authors.yml").read_text())
    for root in (blog, plain):
        shutil.rmtree(root, ignore_errors=True)
    posts = blog / "docs" / "blog" / "posts"
    pages = plain / "docs" / "stories"
    posts.mkdir(parents=True)
    pages.mkdir(parents=True)
    (blog / "mkdocs.yml").write_text(BLOG_YML)
    (plain / "mkdocs.yml").write_text(PLAIN_YML)
    (blog / "docs" / "index.md").write_text("# Synthetic stories\n\nThe blog has them all.\n")
    (blog / "docs" / "blog" / "index.md").write_text("# Blog\n")
    (blog / "docs" / "tags.md").write_text("# Tags\n\n<!-- material/tags -->\n")
    (blog / "docs" / "assets").mkdir()
    (blog / "docs" / "assets" / "avatar.svg").write_text(AVATAR)
    (blog / "docs" / "blog" / ".authors.yml").write_text(yaml.safe_dump({"authors": {
        a["id"]: {"name": a["name"], "description": a["title"], "avatar": "/assets/avatar.svg"}
        for a in authors}}, sort_keys=False))
    (plain / "docs" / "index.md").write_text("# Synthetic stories\n\nOne page per story.\n")
    count = 0
    for path in sorted(stories_dir.glob("*/*.md")):
        meta, body = read_story(path)
        day = date.fromisoformat(str(meta["date"]))
        slug = path.stem[len("YYYY-MM-DD-"):]
        heading = f"# {meta['title']}\n\n"
        post: dict[str, Any] = {
            "date": day, "authors": meta["authors"],
            "categories": [teams[path.parent.name]],
            "tags": [*meta.get("tags", []), *meta.get("kpis", [])],
        }
        if meta.get("draft"):
            post["draft"] = True
        (posts / f"{slug}.md").write_text(
            f"---\n{yaml.safe_dump(post, sort_keys=False)}---\n\n{heading}{body}", "utf-8")
        if not meta.get("draft"):
            (pages / f"{slug}.md").write_text(f"{heading}{body}", "utf-8")
        count += 1
    return count


# --- measuring one process tree -------------------------------------------------------------

def _memory(pid: int, rss: int) -> int:
    """A process's proportional set size: pages it shares with others (a forked child shares
    most of its parent's) count once across them. Its RSS where /proc has no smaps_rollup."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss


def _tree_memory(root: int) -> int:
    """Memory (bytes) of a process and all its descendants, from /proc (see _memory)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in rss:
            total += _memory(pid, rss[pid])
        todo.extend(children.get(pid, []))
    return total


@dataclass
class Run:
    seconds: float
    cpu_s: float  # user + system time of the whole process tree
    peak_mb: float
    out_mb: float
    files: int


def folder_size(folder: Path) -> tuple[int, int]:
    sizes = [p.stat().st_size for p in folder.rglob("*") if p.is_file()]
    return len(sizes), sum(sizes)


def measure(command: list[str], cwd: Path, site: Path) -> Run:
    """Run one build; its wall time, peak memory of its process tree and output size."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(SAMPLE_SECONDS):
            peak = max(peak, _tree_memory(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert process.stdout is not None
    log = process.stdout.read()  # drains the pipe so the child never blocks on it
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stop.set()
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed in {cwd}:\n{log.decode(errors='replace')[-4000:]}")
    # ru_maxrss (KiB) is the largest single process of the tree; the samples sum the tree.
    peak = max(peak, usage.ru_maxrss * 1024)
    files, size = folder_size(site)
    # wait4's usage covers the child and every descendant it waited for (Pagefind, threads).
    return Run(seconds, usage.ru_utime + usage.ru_stime, peak / 2**20, size / 2**20, files)


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- the builds ------------------------------------------------------------------------------

def bench_size(n: int, work: Path, anchor_mkdocs: Path) -> dict[str, Any]:
    base = work / f"n{n}"
    project, blog, plain = base / "storyhub", base / "material-blog", base / "material-plain"
    corpus = generate(n, project)
    convert(project, blog, plain)
    published = n - len(corpus.drafts)
    print(f"[{n}] generated {n} stories ({len(corpus.drafts)} drafts)", flush=True)
    cache = project / ".cache"
    clean_site, warm_site = base / "site-clean", base / "site-warm"
    for folder in (cache, clean_site, warm_site, blog / "site", plain / "site", blog / ".cache"):
        shutil.rmtree(folder, ignore_errors=True)
    runs: dict[str, Run] = {}
    runs["clean"] = measure([MKDOCS, "build", "--strict", "-d", str(clean_site)], project, clean_site)
    print(f"[{n}] (a) StoryHub clean  {runs['clean']}", flush=True)
    runs["warm"] = measure([MKDOCS, "build", "--strict", "-d", str(warm_site)], project, warm_site)
    print(f"[{n}] (b) StoryHub warm   {runs['warm']}", flush=True)
    identical = tree_digest(clean_site) == tree_digest(warm_site)
    runs["blog"] = measure([str(anchor_mkdocs), "build", "-d", str(blog / "site")], blog,
                           blog / "site")
    print(f"[{n}] (c) Material blog   {runs['blog']}", flush=True)
    runs["plain"] = measure([str(anchor_mkdocs), "build", "-d", str(plain / "site")], plain,
                            plain / "site")
    print(f"[{n}] (d) Material pages  {runs['plain']}", flush=True)
    return {"n": n, "published": published, "identical": identical,
            **{k: asdict(v) for k, v in runs.items()}}


# --- the serve case --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode("utf-8", errors="replace"))
    except (urllib.error.URLError, OSError):
        return None


def bench_serve(n: int, edits: int, work: Path) -> dict[str, Any]:
    """Median seconds from saving an edited story to the served page showing the edit."""
    project = work / f"serve-{n}"
    corpus = generate(n, project)
    shutil.rmtree(project / ".cache", ignore_errors=True)
    target = next(p for p in corpus.stories if p not in corpus.drafts)
    slug = target.stem[len("YYYY-MM-DD-"):]
    port = free_port()
    process = subprocess.Popen(
        [MKDOCS, "serve", "--dev-addr", f"127.0.0.1:{port}"], cwd=project, env=ENV,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(
        line.decode(errors="replace") for line in iter(process.stderr.readline, b"")  # type: ignore[union-attr]
    ), daemon=True).start()
    # The synthetic site_url has a path (/stories/), which mkdocs serve mounts the site under.
    url = f"http://127.0.0.1:{port}/stories/stories/{slug}/"
    started = time.perf_counter()
    try:
        while fetch(url) is None:
            if process.poll() is not None or time.perf_counter() - started > 600:
                sys.exit("mkdocs serve did not come up:\n" + "".join(log[-40:]))
            time.sleep(0.2)
        first = time.perf_counter() - started
        print(f"[serve {n}] first build served after {first:.1f} s", flush=True)
        original = target.read_text("utf-8")
        latencies: list[float] = []
        rebuilds: list[float] = []
        for number in range(1, edits + 1):
            time.sleep(1.0)  # let the watcher settle between edits
            title = f"Edited title number {number} {time.time_ns()}"
            text = original.replace('title: "', f'title: "{title} ', 1)
            text += f"\nAn added paragraph for edit {number}.\n"
            done_before = sum("Documentation built" in line for line in log)
            saved = time.perf_counter()
            target.write_text(text, "utf-8")
            while title not in (fetch(url) or ""):
                if time.perf_counter() - saved > 300:
                    sys.exit("the edit never showed up:\n" + "".join(log[-40:]))
                time.sleep(0.02)
            latencies.append(time.perf_counter() - saved)
            built = [line for line in log if "Documentation built" in line][done_before:]
            if built:
                rebuilds.append(float(built[-1].rsplit(" in ", 1)[1].split()[0]))
            print(f"[serve {n}] edit {number}: visible after {latencies[-1]:.2f} s", flush=True)
        target.write_text(original, "utf-8")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    return {"n": n, "first_build_s": first, "edits_s": latencies,
            "median_s": statistics.median(latencies),
            "rebuild_s": statistics.median(rebuilds) if rebuilds else None}


# --- the report ------------------------------------------------------------------------------

def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def report(sizes: list[dict[str, Any]], serve: dict[str, Any] | None) -> str:
    def cell(run: dict[str, Any]) -> str:
        return (f"{run['seconds']:.1f} s ({run['cpu_s']:.1f} s CPU) · {run['peak_mb']:.0f} MB · "
                f"{run['out_mb']:.0f} MB")

    lines = [
        "| stories | (a) StoryHub clean | (b) StoryHub warm | (c) Material blog + tags + "
        "search + rss | (d) Material pages + search | (c)/(a) | (b)/(d) | ms/story (a) · (b) · (c) "
        "· (d) | warm = clean |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|:--:|",
    ]
    for row in sizes:
        per = " · ".join(f"{row[k]['seconds'] * 1000 / row['n']:.1f}"
                         for k in ("clean", "warm", "blog", "plain"))
        lines.append(
            f"| {row['n']:,} | {cell(row['clean'])} | {cell(row['warm'])} | {cell(row['blog'])} | "
            f"{cell(row['plain'])} | {ratio(row['blog']['seconds'], row['clean']['seconds'])} | "
            f"{ratio(row['warm']['seconds'], row['plain']['seconds'])} | {per} | "
            f"{'yes' if row['identical'] else '**NO**'} |")
    lines.append("")
    lines.append("Cells: wall time (CPU time of the process tree) · peak memory of the process "
                 "tree · output size. Ratios and ms/story use wall time.")
    if serve:
        rebuild = f"{serve['rebuild_s']:.2f} s" if serve["rebuild_s"] is not None else "n/a"
        lines += [
            "",
            "| serve case | stories | first build served | edit → page served (median) | "
            "all edits | MkDocs' own rebuild time (median) |",
            "|---|---:|---:|---:|---|---:|",
            f"| `mkdocs serve`, one story's title and body edited | {serve['n']:,} | "
            f"{serve['first_build_s']:.1f} s | {serve['median_s']:.2f} s | "
            f"{', '.join(f'{s:.2f}' for s in serve['edits_s'])} s | {rebuild} |",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000",
                        help="comma-separated story counts (default 100,1000,5000)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/storyhub-bench"))
    parser.add_argument("--venv", type=Path, default=ROOT / ".cache" / "bench-venv",
                        help="virtual environment for Material blog and mkdocs-rss-plugin")
    parser.add_argument("--serve-stories", type=int, default=2000, help="0 skips the serve case")
    parser.add_argument("--serve-edits", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    anchor = ensure_venv(args.venv.resolve())
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"StoryHub benchmark, {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs", flush=True)
    print(f"StoryHub from {compile_plugin()} (bytecode compiled)", flush=True)
    rows = [bench_size(n, args.work, anchor) for n in sizes]
    serve = bench_serve(args.serve_stories, args.serve_edits, args.work) \
        if args.serve_stories else None
    table = report(rows, serve)
    print("\n" + table)
    if args.json:
        args.json.write_text(json.dumps({"sizes": rows, "serve": serve}, indent=2))


if __name__ == "__main__":
    main()
