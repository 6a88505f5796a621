"""Story images: responsive derivatives, privacy, hostile files and the content-hash cache.

Every image is generated here with Pillow; every test builds a real tiny site.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser
import pytest
from PIL import ExifTags, Image, ImageCms, ImageDraw

from conftest import Built, Project, story_text
from storyhub import images

STORY = "stories/hr/2026-03-02-x.md"


def photo(size: tuple[int, int] = (1200, 600), **save: Any) -> bytes:
    """A JPEG with a red top-left quadrant (to check orientation) and noise-free colours."""
    im = Image.new("RGB", size, (30, 60, 200))
    ImageDraw.Draw(im).rectangle((0, 0, size[0] // 2, size[1] // 2), fill=(230, 20, 20))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, **save)
    return out.getvalue()


def phone_photo() -> bytes:
    """A 'phone photo': stored sideways with EXIF orientation 6, GPS position, XMP, ICC, comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SecretXmpValue</x:xmpmeta>'
    return photo(exif=exif.tobytes(), icc_profile=icc, comment=b"SecretComment", xmp=xmp)


def png(size: tuple[int, int], mode: str = "RGB", color: Any = (0, 128, 0)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that only claims its size: signature, IHDR, an empty IDAT and IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) \
        + chunk(b"IEND", b"")


def cover_story(project: Project, image: bytes, name: str = "images/cover.jpg",
                **keys: Any) -> None:
    project.add(f"hr/{name}", image)
    project.story("hr", "2026-03-02-x", authors=["chloe"], cover=name,
                  cover_alt="What the cover shows", **keys)


def site_files(built: Built, folder: str = "media") -> list[Path]:
    return sorted(p for p in (built.site / folder).rglob("*") if p.is_file())


def resolve(built: Built, page: str, url: str) -> Path:
    """The file a page-relative URL on the page at site path `page` points to."""
    base = built.path(page).parent
    return Path(os.path.normpath(base / url))


@pytest.fixture
def quick(project: Project) -> Project:
    """A project without the search index, which these tests do not look at."""
    project.config(search_index=False)
    return project


def test_phone_photo_is_upright_and_carries_no_metadata(quick: Project) -> None:
    cover_story(quick, phone_photo())
    built = quick.build()
    img = built.html("stories/x/").xpath("//figure[@class='sh-story__cover']//img")[0]
    # Stored 1200×600 and turned a quarter by EXIF: upright it is 600×1200.
    assert (img.get("width"), img.get("height")) == ("600", "1200")
    derivatives = site_files(built)
    assert {p.suffix for p in derivatives} == {".webp", ".jpg"}
    for path in derivatives:
        data = path.read_bytes()
        with Image.open(path) as im:
            assert im.height == 2 * im.width, path
            assert not im.getexif(), path
            assert not {"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp"} & set(im.info)
            # The red quadrant was top-left as stored; turned clockwise it is top-right.
            rgb = im.convert("RGB")
            right = rgb.getpixel((im.width * 3 // 4, im.height // 8))
            left = rgb.getpixel((im.width // 4, im.height // 8))
            assert right[0] > 180 > left[0], path
        for secret in (b"Exif\x00\x00", b"PhoneMaker", b"SecretXmpValue", b"SecretComment",
                       b"ICC_PROFILE", b"GPS"):
            assert secret not in data, (path, secret)


def test_png_text_chunks_and_profiles_are_dropped(quick: Project) -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "SecretAuthor")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>SecretXmpValue</x:xmpmeta>")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    im = Image.new("RGBA", (700, 350), (0, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((100, 100, 300, 300), fill=(250, 200, 0, 255))
    out = io.BytesIO()
    im.save(out, "PNG", pnginfo=info, exif=exif.tobytes(), icc_profile=icc)
    cover_story(quick, out.getvalue(), name="images/screen.png")
    for path in site_files(quick.build()):
        data = path.read_bytes()
        for secret in (b"SecretAuthor", b"SecretXmpValue", b"PhoneMaker", b"iCCP", b"eXIf",
                       b"ICCP"):
            assert secret not in data, (path, secret)


def test_originals_are_never_published(quick: Project) -> None:
    cover_story(quick, phone_photo())
    built = quick.build()
    assert not [p for p in site_files(built) if p.name == "cover.jpg"]
    assert not (built.site / "media/hr/images/cover.jpg").exists()


def test_cover_html_is_responsive_with_sizes_and_no_layout_shift(quick: Project) -> None:
    cover_story(quick, photo((2400, 1350)), featured=True)
    built = quick.build()
    picture = built.html("stories/x/").xpath("//figure[@class='sh-story__cover']/picture")[0]
    source = picture.xpath("source")[0]
    img = picture.xpath(".//img")[0]  # lxml (HTML4 rules) nests it in the void <source>
    assert source.get("type") == "image/webp"
    assert [c.split()[1] for c in source.get("srcset").split(", ")] == ["480w", "960w", "1600w"]
    assert [c.split()[1] for c in img.get("srcset").split(", ")] == ["480w", "960w", "1600w"]
    assert source.get("sizes") and img.get("sizes") == source.get("sizes")
    assert (img.get("width"), img.get("height")) == ("1600", "900")  # never wider than 1600
    assert img.get("alt") == "What the cover shows"
    assert img.get("loading") == "eager"  # the story page's cover is above the fold
    for url in [img.get("src")] + [c.split()[0] for c in
                                   (source.get("srcset") + ", " + img.get("srcset")).split(", ")]:
        target = resolve(built, "stories/x/", url)
        assert target.is_file(), url
        with Image.open(target) as im:
            assert im.width in (480, 960, 1600) and im.format in ("WEBP", "JPEG")
    card_img = built.html("").xpath("//a[@class='sh-card__media']//img")[0]
    assert card_img.get("loading") == "lazy" and card_img.get("decoding") == "async"
    assert card_img.get("width") == "1600" and card_img.get("srcset")
    assert resolve(built, "", card_img.get("src")).is_file()


def test_small_images_are_never_upscaled(quick: Project) -> None:
    cover_story(quick, photo((700, 400)))
    built = quick.build()
    img = built.html("stories/x/").xpath("//figure//img")[0]
    assert [c.split()[1] for c in img.get("srcset").split(", ")] == ["480w", "700w"]
    widths = {Image.open(p).width for p in site_files(built)}
    assert widths == {480, 700}


def test_inline_images_become_lazy_pictures(quick: Project) -> None:
    quick.add("hr/images/chart.png", png((1000, 500), "P", 3))
    quick.add("hr/2026-03-02-x.md", story_text(
        authors=["chloe"],
        body='Intro.\n\n![Turnover by quarter](images/chart.png "Chart")\n\n'
             '<img src="images/chart.png" alt="Same chart, smaller" width="300">\n\n'
             "[Download the chart](images/chart.png)\n"))
    built = quick.build()
    tree = built.html("stories/x/")
    pictures = tree.xpath("//div[@class='sh-story__body']//picture")
    assert len(pictures) == 2
    first, second = (p.xpath(".//img")[0] for p in pictures)
    assert first.get("alt") == "Turnover by quarter" and first.get("title") == "Chart"
    assert first.get("loading") == "lazy" and (first.get("width"), first.get("height")) == \
        ("1000", "500")
    # An author's display width is kept, with the matching height.
    assert (second.get("width"), second.get("height"), second.get("sizes")) == \
        ("300", "150", "300px")
    # A palette graphic (a chart) stays lossless: PNG fallback, no JPEG blur.
    target = resolve(built, "stories/x/", first.get("src"))
    assert target.suffix == ".png" and target.is_file()
    link = tree.xpath("//a[text()='Download the chart']")[0].get("href")
    assert resolve(built, "stories/x/", link).is_file() and link.endswith(".png")


def test_inline_image_urls_without_directory_urls(quick: Project) -> None:
    quick.config(text=(quick.root / "mkdocs.yml").read_text() + "use_directory_urls: false\n")
    quick.add("hr/images/chart.png", png((600, 300)))
    quick.add("hr/2026-03-02-x.md", story_text(authors=["chloe"], body="![A chart](images/chart.png)"))
    built = quick.build()
    page = "stories/x/index.html"
    img = built.html(page).xpath("//div[@class='sh-story__body']//img")[0]
    assert resolve(built, page, img.get("src")).is_file()


def test_transparent_png_keeps_alpha_in_a_png_fallback(quick: Project) -> None:
    im = Image.new("RGBA", (800, 400), (255, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((100, 50, 500, 350), fill=(0, 90, 200, 255))
    out = io.BytesIO()
    im.save(out, "PNG")
    cover_story(quick, out.getvalue(), name="images/logo.png")
    built = quick.build()
    files = site_files(built)
    assert {p.suffix for p in files} == {".png", ".webp"}
    for path in files:
        with Image.open(path) as derivative:
            assert derivative.mode in ("RGBA", "LA"), path
            assert derivative.getchannel("A").getextrema() == (0, 255), path


def test_opaque_alpha_channel_becomes_jpeg(quick: Project) -> None:
    cover_story(quick, png((600, 300), "RGBA", (10, 20, 30, 255)), name="images/flat.png")
    # An alpha channel that is fully opaque is dropped: a photo-like JPEG fallback.
    assert {p.suffix for p in site_files(quick.build())} == {".jpg", ".webp"}


@pytest.mark.parametrize(("size", "detail"), [
    ((100_000, 100_000), "too large to decode safely (over 89 megapixels; the limit is 60 "
                         "megapixels)"),  # Pillow refuses to open it at all
    ((8_000, 8_000), "too large to decode safely (8000×8000 pixels; the limit is 60 megapixels)"),
])
def test_decompression_bombs_are_refused_from_the_header(
        quick: Project, size: tuple[int, int], detail: str) -> None:
    cover_story(quick, png_header(*size), name="images/bomb.png")
    error = quick.build_error()
    assert f"{STORY}:6: cover 'images/bomb.png' is {detail}" in error
    assert "scale it down" in error
    assert "Traceback" not in error


def test_truncated_and_foreign_files_are_located_problems(quick: Project) -> None:
    noisy = Image.effect_noise((800, 600), 60).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=95)
    quick.add("hr/images/cut.jpg", out.getvalue()[: len(out.getvalue()) // 2])
    quick.add("hr/images/text.png", b"this is not an image at all\n" * 20)
    quick.add("hr/2026-03-02-x.md", story_text(
        authors=["chloe"], cover="images/cut.jpg", cover_alt="Cut",
        body="Intro.\n\nMore.\n\n![A chart](images/text.png)\n"))
    error = quick.build_error()
    assert f"{STORY}:6: cover 'images/cut.jpg' is damaged or truncated (image file is " \
        "truncated" in error
    # The body starts on line 9; the image is on its fifth line.
    assert f"{STORY}:13: image 'images/text.png' is not a JPEG, PNG, WebP or GIF image, or " \
        "its header is damaged (save it again as .jpg or .png)" in error


def test_paths_leaving_the_stories_folder(quick: Project) -> None:
    (quick.root / "secret.png").write_bytes(png((10, 10)))
    outside = quick.root / "outside.png"
    outside.write_bytes(png((10, 10)))
    (quick.root / "stories/hr/images").mkdir(parents=True)
    (quick.root / "stories/hr/images/link.png").symlink_to(outside)
    quick.add("hr/images/real.png", png((10, 10)))
    (quick.root / "stories/hr/images/alias.png").symlink_to(quick.root / "stories/hr/images/real.png")
    quick.add("hr/2026-03-02-x.md", story_text(
        authors=["chloe"], cover="../../secret.png", cover_alt="x",
        body="![Secret](../../secret.png)\n![Passwords](/etc/passwd)\n"
             "<img src=\"images/link.png\" alt=\"Linked\"> ![Alias](images/alias.png)\n"
             "![](images/missing.png)\n"
             "`![Code](../../secret.png)` is fine in code.\n"
             "```\n![Fenced](../../secret.png)\n```\n"))
    error = quick.build_error()
    assert f"{STORY}:6: image path '../../secret.png' leaves the stories folder" in error
    assert f"{STORY}:9: image path '../../secret.png' leaves the stories folder " \
        "(keep images inside stories/<team>/images/)" in error
    assert f"{STORY}:10: image path '/etc/passwd' must be relative to the story" in error
    assert f"{STORY}:11: image path 'images/link.png' leaves the stories folder" in error
    assert f"{STORY}:11: image 'images/alias.png' is a symbolic link (copy the image file in " \
        "instead)" in error
    assert f"{STORY}:12: image 'images/missing.png' has no alt text" in error
    assert f"{STORY}:12: image 'images/missing.png' does not exist (add the file at " \
        "stories/hr/images/missing.png)" in error
    assert ":13:" not in error and ":15:" not in error


def test_every_problem_of_every_story_is_listed_once(quick: Project) -> None:
    quick.add("hr/images/bomb.png", png_header(100_000, 100_000))
    quick.add("hr/images/ok.png", png((600, 300)))
    quick.story("hr", "2026-03-02-x", authors=["chloe"], cover="images/bomb.png", cover_alt="b")
    quick.story("hr", "2026-03-03-y", authors=["nobody"], body="![Fine](images/ok.png)\n\n"
                "![](images/ok.png)")
    error = quick.build_error()
    assert "found 3 problem(s)" in error
    assert "2026-03-02-x.md:6: cover 'images/bomb.png' is too large" in error
    assert "2026-03-03-y.md:5: unknown author 'nobody'" in error
    assert "2026-03-03-y.md:9: image 'images/ok.png' has no alt text" in error


def counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count calls of images.derivatives (one per source image encoded)."""
    calls: list[int] = []
    original: Callable[[bytes], Any] = images.derivatives

    def counted(data: bytes) -> Any:
        calls.append(len(data))
        return original(data)

    monkeypatch.setattr(images, "derivatives", counted)
    return calls


def test_unchanged_images_are_not_encoded_again(quick: Project,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch)
    cover_story(quick, photo((1000, 500)))
    quick.add("hr/images/chart.png", png((900, 400)))
    quick.story("hr", "2026-03-03-y", authors=["chloe"], body="![A chart](images/chart.png)")
    first = quick.build(site_dir=quick.root / "one")
    assert len(calls) == 2
    second = quick.build(site_dir=quick.root / "two")  # a new plugin: only the disk cache
    assert len(calls) == 2
    assert [p.read_bytes() for p in site_files(first)] == [p.read_bytes() for p in site_files(second)]
    quick.add("hr/images/chart.png", png((900, 400), color=(200, 0, 0)))
    quick.build(site_dir=quick.root / "three")
    assert len(calls) == 3


def test_derivatives_are_byte_identical_from_a_cold_cache(project: Project) -> None:
    project.config(search_index=False, cache_dir=str(project.root / "cache-a"))
    cover_story(project, phone_photo())
    one = project.build(site_dir=project.root / "one")
    project.config(search_index=False, cache_dir=str(project.root / "cache-b"))
    two = project.build(site_dir=project.root / "two")
    assert [p.name for p in site_files(one)] == [p.name for p in site_files(two)]
    assert [p.read_bytes() for p in site_files(one)] == [p.read_bytes() for p in site_files(two)]


def test_cache_stays_outside_docs_and_stories(quick: Project) -> None:
    cover_story(quick, photo())
    before = sorted(p.relative_to(quick.root) for p in (quick.root / "stories").rglob("*"))
    quick.build()
    assert sorted(p.relative_to(quick.root) for p in (quick.root / "stories").rglob("*")) == before
    assert not list((quick.root / "docs").rglob("*"))
    assert list((quick.root / ".cache" / "images").rglob("*.webp"))


def test_feeds_announce_a_published_derivative(quick: Project) -> None:
    cover_story(quick, phone_photo())
    built = quick.build()
    feed = feedparser.parse(built.path("feeds/all/rss.xml").read_bytes())
    enclosure = feed.entries[0].enclosures[0]
    assert enclosure.type == "image/jpeg"
    site_url = "https://intranet.example.com/stories/"
    assert enclosure.href.startswith(site_url)
    served = built.site / enclosure.href[len(site_url):]
    assert served.is_file() and int(enclosure.length) == served.stat().st_size
    with Image.open(served) as im:
        assert im.width == 600 and not im.getexif()


def test_feed_image_helper(quick: Project) -> None:
    key = "k" * 64
    processed = images.Processed(key, 1600, 900, tuple(
        images.Variant(w, w * 9 // 16, f"{key}-{w}.webp", f"{key}-{w}.jpg") for w in (480, 960, 1600)))
    store = images.ImageStore(quick.root / "cache")
    store.path(f"{key}-960.jpg").parent.mkdir(parents=True)
    store.path(f"{key}-960.jpg").write_bytes(b"x" * 123)
    image_set = images.ImageSet({"stories/hr/images/a.jpg": processed}, store,
                                lambda p: "media/" + p.split("/", 1)[1])
    assert image_set.feed_image("stories/hr/images/a.jpg") == \
        ("media/hr/images/a-960.kkkkkkkkkkkk.jpg", 123, "image/jpeg")


def test_plan_widths() -> None:
    assert images.plan_widths(4000) == [480, 960, 1600]
    assert images.plan_widths(1000) == [480, 1000]
    assert images.plan_widths(300) == [300]


def test_storyhub_check_decodes_images_like_the_build(project: Project) -> None:
    from storyhub import cli

    project.add("hr/images/bomb.png", png_header(100_000, 100_000))
    project.story("hr", "2026-03-02-x", authors=["chloe"], cover="images/bomb.png", cover_alt="b")
    out = io.StringIO()
    code = cli.main(["check", "--root", str(project.root)], stdout=out, stderr=io.StringIO())
    assert code == 1
    assert f"{STORY}:6: cover 'images/bomb.png' is too large to decode safely" in out.getvalue()


def test_builds_without_a_cache_folder(project: Project) -> None:
    text = (project.root / "mkdocs.yml").read_text()
    project.config(text=text.replace(f"cache_dir: {project.root / '.cache'}", "cache_dir: ''")
                   .replace("      timezone: Europe/Berlin\n",
                            "      timezone: Europe/Berlin\n      search_index: false\n"))
    cover_story(project, photo((800, 400)))
    built = project.build()
    img = built.html("stories/x/").xpath("//figure//img")[0]
    assert resolve(built, "stories/x/", img.get("src")).is_file()
    assert not (project.root / ".cache").exists()


def test_old_unused_cache_entries_are_pruned(quick: Project) -> None:
    cover_story(quick, photo((800, 400)))
    quick.build()
    cache = quick.root / ".cache"

    def entries() -> set[Path]:
        return {p for folder in ("images", "cards") for p in (cache / folder).rglob("*")
                if p.is_file()}

    first = entries()
    cover_story(quick, photo((810, 400)))  # a new version of the same file
    quick.build()
    assert first < entries()  # a replaced image's entries stay a while: another build may use them
    week_ago = os.stat(next(iter(first))).st_mtime - 8 * 86400
    for path in first:
        os.utime(path, (week_ago, week_ago))
    built = quick.build()
    assert not [p for p in first if p.exists()]
    assert entries()
    img = built.html("stories/x/").xpath("//figure//img")[0]
    assert resolve(built, "stories/x/", img.get("src")).is_file()
    assert built.exists("assets/cards/x.png")


def test_preview_lists_a_bad_image_and_keeps_the_other_stories(quick: Project) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    quick.add("hr/images/bomb.png", png_header(100_000, 100_000))
    quick.story("hr", "2026-03-02-x", authors=["chloe"], cover="images/bomb.png", cover_alt="b")
    quick.add("hr/images/fine.jpg", photo((800, 400)))
    quick.story("hr", "2026-03-03-fine", title="Fine", authors=["chloe"], cover="images/fine.jpg",
                cover_alt="Fine cover")
    site = quick.root / "live"
    config = load_config(str(quick.root / "mkdocs.yml"), site_dir=str(site))
    config.plugins.on_startup(command="serve", dirty=False)
    try:
        build(config, serve_url="http://127.0.0.1:8000/")
    finally:
        config.plugins.on_shutdown()
    preview = Built(site)
    banner = preview.html("stories/fine/").xpath("//section[contains(@class,'sh-problems')]")[0]
    assert "is too large to decode safely" in banner.text_content()
    assert not preview.exists("stories/x/")
    img = preview.html("stories/fine/").xpath("//figure//img")[0]
    assert resolve(preview, "stories/fine/", img.get("src")).is_file()
