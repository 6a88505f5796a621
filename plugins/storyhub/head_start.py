"""Story Markdown converted by a forked copy of the build while the build still loads.

A clean build of many stories converts their Markdown (about 3 ms a story) only once it has
loaded and validated them all, which takes the first second and a half of a 1,000-story
build on one core while the other has nothing to do. `HeadStart` forks at the start of that:
the copy reads the story files itself and converts them, from the last file down. The build
converts from its first story on once it has them; each marks a story as taken in memory
both processes share, so they meet in between. A story both take at the same moment is
converted twice, which costs only time.

The copy's renderings are used by key only (render.Renderer.key): a story it read
differently from the validated one, could not read, or left unconverted because the copy
failed, the build converts itself.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path

from . import load, parallel, render, validate


@dataclass(frozen=True)
class StoryText:
    """The parts of a story file that its conversion reads (render.Text)."""

    path: str
    summary: str | None
    body: str


class HeadStart:
    """A forked copy converting the stories in `files`, last first (see the module)."""

    def __init__(self, renderer: render.Renderer, cache: render.RenderCache, files: list[Path],
                 root: Path, max_bytes: int):
        self.index = {load.relpath(path, root): i for i, path in enumerate(files)}
        self.taken = mmap.mmap(-1, max(1, len(files)))  # shared with the copy: one byte a file
        self.child = parallel.start_child(
            lambda: self._convert(renderer, cache, files, root, max_bytes))

    def _convert(self, renderer: render.Renderer, cache: render.RenderCache, files: list[Path],
                 root: Path, max_bytes: int) -> dict[str, render.Rendered]:
        """In the copy: the renderings of the files it took, by key."""
        done = {}
        for i in reversed(range(len(files))):
            if self.taken[i]:
                continue
            self.taken[i] = 1
            source, _ = load.load_story(files[i], root, max_bytes)
            if source is None:
                continue
            text = StoryText(source.entry.path, validate.summary_of(source.entry), source.body)
            key = renderer.key(text)
            if cache.cached(renderer, key) is None:
                done[key] = renderer.render(text)
        return done

    def take(self, path: str) -> bool:
        """In the build: whether it converts the story at `path` itself (the copy has not
        taken it, and now will not)."""
        i = self.index.get(path)
        if i is None or self.child is None:
            return True
        if self.taken[i]:
            return False
        self.taken[i] = 1
        return True

    def converted(self) -> dict[str, render.Rendered]:
        """Wait for the copy's renderings by key (none if it failed)."""
        if self.child is None:
            return {}
        done = self.child.result()
        return done if isinstance(done, dict) else {}

    def stop(self) -> None:
        """End the copy if the build does not need it (it failed before converting)."""
        if self.child is not None:
            self.child.stop()


def start(renderer: render.Renderer, cache: render.RenderCache, stories_dir: Path, root: Path,
          max_bytes: int) -> HeadStart | None:
    """A head start when many stories have no rendering in the cache, and this process can
    fork; else None."""
    if not parallel.can_fork():
        # Before listing the stories: a `mkdocs serve` rebuild (threads run) never forks, and
        # listing 5,000 story files takes 77 ms of the one-second preview.
        return None
    files, _ = load.story_paths(stories_dir) if stories_dir.is_dir() else ([], [])
    if len(files) - len(cache.entries) < render.PARALLEL_MIN:
        return None
    head_start = HeadStart(renderer, cache, files, root, max_bytes)
    return head_start if head_start.child is not None else None
