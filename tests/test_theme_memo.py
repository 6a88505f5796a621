"""Material's navigation, tabs and texts are rendered once a build, with the same bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

from conftest import MKDOCS_YML, Project, differences
from storyhub import theme_memo

NAV_CONFIG = MKDOCS_YML.replace("  font: false\n", """\
  font: false
  features:
    - navigation.tabs
nav:
  - Home: index.md
  - Teams: teams/index.md
  - Guides:
    - Writing: guides/writing.md
    - Stories in depth: guides/deep/more.md
  - Archive: archive/index.md
""")


def nav_project(root: Path, directory_urls: bool) -> Project:
    project = Project(root)
    text = NAV_CONFIG.format(cache_dir=root / ".cache", extra_plugin="")
    project.config(text=f"{text}use_directory_urls: {str(directory_urls).lower()}\n", page_size=2)
    # guides/extra.md is not in the nav: without directory URLs it shares its folder, and so
    # its links, with guides/writing.md, whose entry is active on its own page only.
    for path in ("guides/writing.md", "guides/deep/more.md", "guides/extra.md"):
        (root / "docs" / path).parent.mkdir(parents=True, exist_ok=True)
        (root / "docs" / path).write_text(f"# {path}\n\nText.\n", "utf-8")
    for day in range(1, 8):
        project.story(("hr", "support")[day % 2], f"2026-01-0{day}-s{day}",
                      title=f"Story {day}", authors=[("chloe", "ben")[day % 2]])
    return project


def counting_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the partials each time one is rendered for real."""
    rendered: list[str] = []
    init = theme_memo.NavMemo.__init__

    def spy(self: theme_memo.NavMemo, env: jinja2.Environment, render: Any) -> None:
        def counted(context: Any) -> Any:
            rendered.append(context.name)
            return render(context)
        init(self, env, counted)

    monkeypatch.setattr(theme_memo.NavMemo, "__init__", spy)
    return rendered


@pytest.mark.parametrize("directory_urls", [True, False])
def test_pages_are_the_same_bytes_with_and_without_the_memo(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, directory_urls: bool) -> None:
    """Nav pages at three depths, stories, paginated listings: only the partials of pages
    outside the nav are reused, and every page comes out as Material renders it."""
    rendered = counting_renders(monkeypatch)
    with_memo = nav_project(tmp_path / "a", directory_urls).build()
    with monkeypatch.context() as patch:
        patch.setattr(theme_memo, "PARTIALS", ())
        without = nav_project(tmp_path / "b", directory_urls).build()
    assert differences(with_memo.site, without.site) == []
    pages = len(list(with_memo.site.rglob("*.html")))
    assert 0 < rendered.count("partials/nav.html") < pages / 3
    assert 0 < rendered.count("partials/tabs.html") < pages / 3
    # The nav page's own entry is active on it, and on no other page.
    html = "/" if directory_urls else ".html"
    for url, active in ((f"guides/writing{html}", True), (f"guides/extra{html}", False),
                        (with_memo.plugin.site.catalog.stories[0].url, False)):
        page = with_memo.html(url)
        assert bool(page.xpath("//li[contains(@class,'md-nav__item--active')]")) == active


def test_a_partial_a_theme_override_replaces_is_not_memoized(project: Project) -> None:
    overrides = project.root / "overrides" / "partials"
    overrides.mkdir(parents=True)
    (overrides / "nav.html").write_text('<nav class="mine">{{ page.title }}</nav>', "utf-8")
    text = (project.root / "mkdocs.yml").read_text("utf-8")
    (project.root / "mkdocs.yml").write_text(
        text.replace("  font: false\n", f"  font: false\n  custom_dir: {overrides.parent}\n"),
        "utf-8")
    for day in (1, 2):
        project.story("hr", f"2026-01-0{day}-s{day}", title=f"Story {day}", authors=["chloe"])
    built = project.build()
    for story in built.plugin.site.catalog.stories:
        assert built.html(story.url).xpath("//nav[@class='mine']/text()") == [story.title]


class FakePage:
    def __init__(self, url: str):
        self.url = url


class FakeNav:
    def __init__(self, pages: list[FakePage]):
        self.pages = pages


def test_a_partial_that_passes_other_urls_on_another_page_stops_the_memo() -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({
        "main.html": '{% include "partials/nav.html" %}',
        "partials/nav.html": '<a href="{{ "home/" | url }}">{{ page.url | url }}</a>',
    }))
    env.filters["url"] = jinja2.pass_context(
        lambda context, value: f"{context['page'].url}>{value}")
    theme_memo.remember(env, ["/nowhere"], None)
    assert not isinstance(env.get_template("partials/nav.html").root_render_func,
                          theme_memo.NavMemo)  # not a file of the theme's folders
    template = env.get_template("partials/nav.html")
    memo = theme_memo.NavMemo(env, template.root_render_func)
    template.root_render_func = memo  # type: ignore[method-assign]
    listed, pages = FakePage("in/"), [FakePage("a/"), FakePage("b/"), FakePage("a/")]
    nav = FakeNav([listed])
    out = [env.get_template("main.html").render(page=p, nav=nav) for p in [listed, *pages]]
    assert out == [f'<a href="{p.url}>home/">{p.url}>{p.url}</a>' for p in [listed, *pages]]
    assert memo.stopped


def test_translations_are_the_same_with_and_without_the_memo(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Material's texts in the site's language (here German), looked up once a key."""
    memos: list[theme_memo.TranslationMemo] = []
    init = theme_memo.TranslationMemo.__init__

    def noted(self: theme_memo.TranslationMemo, render: Any) -> None:
        init(self, render)
        memos.append(self)

    monkeypatch.setattr(theme_memo.TranslationMemo, "__init__", noted)
    built = []
    for name, partials in (("a", theme_memo.PARTIALS), ("b", ())):
        monkeypatch.setattr(theme_memo, "PARTIALS", partials)
        project = nav_project(tmp_path / name, True)
        text = (project.root / "mkdocs.yml").read_text("utf-8")
        (project.root / "mkdocs.yml").write_text(
            text.replace("  font: false\n", "  font: false\n  language: de\n"), "utf-8")
        built.append(project.build())
    assert differences(built[0].site, built[1].site) == []
    assert len(memos) == 1 and memos[0].texts["toc"] == "Inhaltsverzeichnis"
    story = built[0].text(built[0].plugin.site.catalog.stories[0].url)
    assert 'aria-label="Inhaltsverzeichnis"' in story and "Table of contents" not in story
    assert '<html lang="de"' in story
