"""Story images: safe decoding, metadata-free responsive derivatives, and their HTML.

Every cover and inline image is decoded once, turned upright (EXIF orientation), converted
to sRGB, stripped of all metadata (EXIF with GPS, XMP, ICC, comments) and written as WebP
plus a JPEG fallback (PNG for transparency and for palette graphics such as charts) at a few
widths, never wider than the source. Results are kept in a content-hash cache outside docs/
and stories/, so an unchanged image is never encoded twice. Originals are never published.

Bad files (decompression bombs, damaged or truncated data, formats we do not take) become
`ImageError`s, which `check` turns into located `Problem`s before anything renders.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import json
import posixpath
import re
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import PIL
from markupsafe import Markup
from mkdocs.utils import get_relative_url
from PIL import Image, ImageCms, ImageOps

from .atomic import write_atomic
from .model import ImageRef, Problem, Story
from .render import Rendered
from .validate import IMAGE_SUFFIXES

WIDTHS = (480, 960, 1600)
FEED_WIDTH = 960  # feed readers get one JPEG/PNG of about this width
MAX_PIXELS = 60_000_000  # 60 megapixels: any phone photo, not a decompression bomb
MAX_BYTES = 50_000_000
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
WEBP_QUALITY = 80
JPEG_QUALITY = 82
# Everything that changes the bytes we write; part of every cache key.
PARAMS = {
    "version": 2, "pillow": PIL.__version__, "widths": WIDTHS, "webp": WEBP_QUALITY,
    "jpeg": JPEG_QUALITY, "max_pixels": MAX_PIXELS,
}
# `sizes` per place an image appears: how wide it is drawn, so browsers pick a width.
SIZES = {
    "sh-cover": "(min-width: 76.25em) 1180px, 100vw",
    "sh-card__cover": "(min-width: 76.25em) 400px, (min-width: 45em) 50vw, 100vw",
    "body": "(min-width: 76.25em) 1180px, 100vw",
}
PRUNE_DAYS = 7  # unused cache entries older than this are deleted
MIME = {".webp": "image/webp", ".jpg": "image/jpeg", ".png": "image/png"}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def media_path(project_path: str) -> str:
    """Site path of a file under stories/: 'stories/hr/images/a.jpg' -> 'media/hr/images/a.jpg'."""
    return "media/" + project_path.split("/", 1)[1]


def inline_url(root: Path, stories_dir: str, story_page: str) -> Callable[[str], str | None]:
    """For render.Renderer: the URL, relative to a story page at `story_page`, of an image a
    story's body shows by its project path (`stories/hr/images/a.jpg`); None for any other
    target, which the Markdown keeps as written."""
    prefix = stories_dir.rstrip("/") + "/"

    def to_url(target: str) -> str | None:
        path = root / target
        if not target.startswith(prefix) or path.suffix.lower() not in IMAGE_SUFFIXES \
                or not path.is_file():
            return None
        return get_relative_url(media_path(target), story_page)

    return to_url


class ImageError(Exception):
    """An image we will not publish: what is wrong with it and how to fix it."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Variant:
    """One width of an image: its size and the cache file names of both encodings."""

    width: int
    height: int
    webp: str
    fallback: str


@dataclass(frozen=True)
class Processed:
    """The derivatives of one source image (upright size, narrowest variant first)."""

    key: str
    width: int
    height: int
    variants: tuple[Variant, ...]

    @property
    def largest(self) -> Variant:
        return self.variants[-1]

    def for_feed(self) -> Variant:
        """The widest variant not wider than FEED_WIDTH (or the narrowest)."""
        fitting = [v for v in self.variants if v.width <= FEED_WIDTH]
        return fitting[-1] if fitting else self.variants[0]


def source_key(data: bytes) -> str:
    """Cache key of a source image: its bytes plus every processing parameter."""
    digest = hashlib.sha256(json.dumps(PARAMS, sort_keys=True).encode())
    digest.update(data)
    return digest.hexdigest()


def plan_widths(width: int) -> list[int]:
    """Widths to make for a source `width` px wide: never upscaled, no near-duplicates."""
    smaller = [w for w in WIDTHS[:-1] if w < width * 0.9]
    return [*smaller, min(width, WIDTHS[-1])]


def check_header(path: Path) -> None:
    """Reject what must not be decoded, reading only the file header.

    Raises ImageError for huge files, unknown formats and decompression bombs.
    """
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ImageError(f"is {size / 1e6:.0f} MB, over the {MAX_BYTES / 1e6:.0f} MB limit",
                         "export it smaller (1600-3000 px wide is plenty)")
    # Pillow warns, then refuses, above its own pixel limit; both mean "a bomb" to us.
    # Called from one thread at a time: `catch_warnings` changes global state.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=FORMATS) as im:
                width, height = im.size
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
            # Pillow stops before telling the size; its own limit is the most we can say.
            limit = Image.MAX_IMAGE_PIXELS or MAX_PIXELS
            raise _too_big(f"over {limit // 1_000_000} megapixels") from error
        except Image.UnidentifiedImageError as error:
            raise ImageError("is not a JPEG, PNG, WebP or GIF image, or its header is damaged",
                             "save it again as .jpg or .png") from error
        except (OSError, ValueError, SyntaxError, EOFError) as error:
            raise ImageError(f"cannot be read ({error})", "save it again as .jpg or .png") \
                from error
    if width * height > MAX_PIXELS:
        raise _too_big(f"{width}×{height} pixels")


def _too_big(detail: str) -> ImageError:
    return ImageError(f"is too large to decode safely ({detail}; the limit is "
                      f"{MAX_PIXELS // 1_000_000} megapixels)",
                      "scale it down before adding it, e.g. to 3000 px wide")


def upright_rgb(im: Image.Image) -> tuple[Image.Image, bool]:
    """The decoded image turned upright, in sRGB, as RGB or RGBA; and whether it has alpha."""
    im = ImageOps.exif_transpose(im) or im
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    target = "RGBA" if has_alpha else "RGB"
    icc = im.info.get("icc_profile")
    if im.mode not in ("RGB", "RGBA", "CMYK"):
        im = im.convert(target)  # palette, grey, 16-bit
    if icc:
        # An unusable profile, or one that does not fit the pixels: take them as sRGB.
        with contextlib.suppress(ImageCms.PyCMSError, OSError, ValueError, TypeError):
            im = ImageCms.profileToProfile(
                im, ImageCms.ImageCmsProfile(io.BytesIO(icc)), _SRGB,
                outputMode="RGBA" if im.mode == "RGBA" else "RGB",
            ) or im
    if im.mode != target:
        im = im.convert(target)
    if has_alpha and im.getchannel("A").getextrema()[0] == 255:
        im, has_alpha = im.convert("RGB"), False  # an alpha channel nobody uses
    return im, has_alpha


def _encode(image: Image.Image, kind: str, lossless: bool) -> bytes:
    """Encode one derivative without any metadata (the info dict is emptied first).

    Only `lossless` WebP ignores quality; JPEG and PNG are chosen by `kind`.
    """
    image.info = {}
    out = io.BytesIO()
    if kind == "webp":
        if lossless:
            image.save(out, "WEBP", lossless=True, quality=80, method=4)
        else:
            image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    elif kind == "png":
        image.save(out, "PNG", compress_level=6)  # "optimize": 10x the time, ~1% smaller
    else:
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def derivatives(data: bytes) -> tuple[int, int, str, list[tuple[int, int, bytes, bytes]]]:
    """Decode `data` and make every variant: (width, height, fallback suffix,
    [(w, h, webp bytes, fallback bytes)])."""
    with Image.open(io.BytesIO(data), formats=FORMATS) as opened:
        graphic = opened.mode in ("P", "1") or opened.format == "GIF"
        if opened.format == "JPEG":
            # Decode a phone photo at 1/2, 1/4 or 1/8 scale when that still covers the
            # largest width: much faster, and we downscale anyway.
            sideways = opened.getexif().get(0x0112) in (5, 6, 7, 8)
            wide = opened.height if sideways else opened.width
            scale = min(1.0, WIDTHS[-1] / wide)
            opened.draft("RGB", (round(opened.width * scale), round(opened.height * scale)))
        opened.load()
        image, alpha = upright_rgb(opened)
    # Charts and screenshots (palette images) stay lossless and crisp; photos are lossy.
    suffix = ".png" if alpha or graphic else ".jpg"
    width, height = image.size
    made = []
    current = image
    for target in reversed(plan_widths(width)):
        size = (target, max(1, round(height * target / width)))
        if current.size != size:
            current = current.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        made.append((size[0], size[1], _encode(current, "webp", graphic),
                     _encode(current, suffix[1:], graphic)))
    return width, height, suffix, list(reversed(made))


class ImageStore:
    """Derivatives on disk under `folder`, by content key; survives builds and serve rebuilds."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.encoded = 0  # sources encoded by this store (the cache misses)
        self._memory: dict[str, Processed] = {}
        self._keys: dict[Path, tuple[int, int, str]] = {}  # path -> (mtime, size, key)
        self._lock = threading.Lock()
        self._temporary: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def temporary(cls) -> ImageStore:
        """A store in a temporary folder removed at exit, for builds without a cache_dir."""
        folder = tempfile.TemporaryDirectory(prefix="storyhub-")
        store = cls(Path(folder.name) / "images")
        store._temporary = folder
        return store

    def path(self, name: str) -> Path:
        return self.folder / name[:2] / name

    def key_of(self, path: Path) -> str:
        """Content key of a file, remembered while its mtime and size are unchanged."""
        stat = path.stat()
        known = self._keys.get(path)
        if known and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return known[2]
        key = source_key(path.read_bytes())
        self._keys[path] = (stat.st_mtime_ns, stat.st_size, key)
        return key

    def lookup(self, key: str) -> Processed | None:
        """A finished entry for `key`, from memory or from disk, if all its files exist."""
        found = self._memory.get(key)
        if found is None:
            try:
                raw = json.loads(self.path(f"{key}.json").read_text("utf-8"))
                found = Processed(key, raw["width"], raw["height"],
                                  tuple(Variant(**v) for v in raw["variants"]))
            except (OSError, ValueError, KeyError, TypeError):
                return None  # missing or damaged: encode again
        if not all(self.path(v.webp).is_file() and self.path(v.fallback).is_file()
                   for v in found.variants):
            return None
        self._memory[key] = found
        return found

    def encode(self, path: Path, key: str) -> Processed:
        """Make and store the derivatives of `path` (whose header passed check_header)."""
        data = path.read_bytes()
        try:
            width, height, suffix, made = derivatives(data)
        except ImageError:
            raise
        except MemoryError as error:
            raise _too_big("out of memory") from error
        except Exception as error:
            # Pillow's parsers raise many exception types on hostile or damaged bytes;
            # each is a located problem for the story, never a crash of the build.
            detail = str(error) or type(error).__name__
            raise ImageError(f"is damaged or truncated ({detail})",
                             "export or download the image again") from error
        variants = []
        for w, h, webp, fallback in made:
            names = (f"{key}-{w}.webp", f"{key}-{w}{suffix}")
            for name, content in zip(names, (webp, fallback), strict=True):
                write_atomic(self.path(name), content)
            variants.append(Variant(w, h, *names))
        processed = Processed(key, width, height, tuple(variants))
        write_atomic(self.path(f"{key}.json"), json.dumps(
            {"width": width, "height": height,
             "variants": [v.__dict__ for v in variants]}, sort_keys=True).encode())
        with self._lock:
            self.encoded += 1
            self._memory[key] = processed
        return processed


def prune(folder: Path, keep: set[str], older_than_days: float = PRUNE_DAYS) -> int:
    """Delete cache files whose content key is not in `keep` and that are older than
    `older_than_days`; returns how many. Every file name starts with its 64-hex key.

    The age limit keeps what a build running at the same time (a preview with drafts, or
    another checkout sharing the cache) has just written.
    """
    cutoff = time.time() - older_than_days * 86400
    removed = 0
    for path in folder.glob("??/*") if folder.is_dir() else ():
        if path.name[:64] not in keep and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def process_all(paths: Iterable[Path], store: ImageStore,
                workers: int = 2) -> dict[Path, Processed | ImageError]:
    """Derivatives for every path (cache hits first, then misses on up to `workers` threads)."""
    results: dict[Path, Processed | ImageError] = {}
    misses: list[tuple[Path, str]] = []
    for path in dict.fromkeys(paths):
        try:
            key = store.key_of(path)
            found = store.lookup(key)
            if found is None:
                check_header(path)
                misses.append((path, key))
            else:
                results[path] = found
        except ImageError as error:
            results[path] = error
        except OSError as error:
            results[path] = ImageError(f"cannot be read ({error.strerror or error})",
                                       "check that the file exists and is readable")

    def run(item: tuple[Path, str]) -> Processed | ImageError:
        try:
            return store.encode(*item)
        except ImageError as error:
            return error

    # Pillow releases the GIL while decoding, resizing and encoding, so threads use both cores.
    count = max(1, min(workers, len(misses)))
    with ThreadPoolExecutor(max_workers=count) as pool:
        for (path, _), outcome in zip(misses, pool.map(run, misses), strict=True):
            results[path] = outcome
    return results


def check(refs: Iterable[ImageRef], root: Path, store: ImageStore) -> tuple[
        list[Problem], dict[str, Processed]]:
    """Decode and process every referenced image; problems name the story file and line.

    Returns the problems and the processed images by project path.
    """
    refs = list(refs)
    outcomes = process_all((root / ref.path for ref in refs), store)
    problems = []
    processed: dict[str, Processed] = {}
    for ref in refs:
        outcome = outcomes[root / ref.path]
        if isinstance(outcome, ImageError):
            problems.append(Problem(ref.story, ref.line,
                                    f"{ref.what} {ref.written!r} {outcome.message}", outcome.hint))
        else:
            processed[ref.path] = outcome
    return problems, processed


@dataclass
class ImageSet:
    """The images of one build: where each derivative is served and the HTML that shows it."""

    processed: dict[str, Processed]  # by project path, e.g. 'stories/hr/images/a.jpg'
    store: ImageStore
    original_path: Callable[[str], str]  # project path -> site path it had as an original
    _by_original: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_original = {self.original_path(p): p for p in self.processed}

    def site_path(self, project_path: str, name: str) -> str:
        """Site path of a derivative: next to where the original would be, e.g.
        'media/hr/images/a-960.<key prefix>.webp' (the key busts browser caches)."""
        original = PurePosixPath(self.original_path(project_path))
        width_key, suffix = name.rsplit(".", 1)
        key, width = width_key.rsplit("-", 1)
        return str(original.with_name(f"{original.stem}-{width}.{key[:12]}.{suffix}"))

    def files(self, project_paths: Iterable[str]) -> list[tuple[str, Path]]:
        """(site path, cache file) of every derivative of these images, to publish."""
        found = []
        for project_path in sorted(set(project_paths)):
            processed = self.processed.get(project_path)
            for variant in processed.variants if processed else ():
                for name in (variant.webp, variant.fallback):
                    found.append((self.site_path(project_path, name), self.store.path(name)))
        return found

    def feed_path(self, project_path: str) -> str:
        """Site path of the JPEG/PNG derivative that stands for an image in feeds and emails
        (this is `pages.Site.media_url`). An image that failed (in a preview) keeps the
        path of its unpublished original."""
        processed = self.processed.get(project_path)
        if processed is None:
            return self.original_path(project_path)
        return self.site_path(project_path, processed.for_feed().fallback)

    def served_file(self, project_path: str) -> Path:
        """The file published at `feed_path(project_path)` (for its size in bytes)."""
        return self.store.path(self.processed[project_path].for_feed().fallback)

    def feed_image(self, project_path: str) -> tuple[str, int, str]:
        """A cover as feeds announce it: (site path, size in bytes, MIME type).

        The site path is relative to the site root (make it absolute with site_url); the
        file is a metadata-free JPEG (PNG for transparent images) about 960 px wide.
        """
        name = self.processed[project_path].for_feed().fallback
        return (self.site_path(project_path, name), self.store.path(name).stat().st_size,
                MIME[Path(name).suffix])

    def picture(self, project_path: str, alt: str, url: Callable[[str], str],
                class_name: str = "", eager: bool = False, sizes: str | None = None,
                attributes: dict[str, str] | None = None) -> str:
        """<picture> with a WebP <source> and a JPEG/PNG <img>, both with srcset.

        `url` turns a site path into the URL to write (page-relative). width/height give
        the aspect ratio so nothing shifts while loading; only `eager` images (the story
        page's cover, above the fold) load at once.
        """
        processed = self.processed[project_path]
        sizes = sizes or SIZES.get(class_name, SIZES["body"])

        def srcset(kind: str) -> str:
            return ", ".join(
                f"{url(self.site_path(project_path, getattr(v, kind)))} {v.width}w"
                for v in processed.variants)

        fallback = processed.for_feed().fallback if not eager else processed.largest.fallback
        attrs: dict[str, str] = {"src": url(self.site_path(project_path, fallback)),
                                 "srcset": srcset("fallback"), "sizes": sizes,
                                 "width": str(processed.largest.width),
                                 "height": str(processed.largest.height), "alt": alt}
        if class_name:
            attrs["class"] = class_name
        attrs.update(attributes or {})
        if eager:
            # The story page's cover is the largest thing above the fold: fetch it first.
            attrs.update(loading="eager", fetchpriority="high")
        else:
            attrs.update(loading="lazy", decoding="async")
        img = "<img " + " ".join(f'{k}="{html.escape(v)}"' for k, v in attrs.items()) + ">"
        return (f'<picture><source type="image/webp" srcset="{html.escape(srcset("webp"))}" '
                f'sizes="{html.escape(sizes)}">{img}</picture>')

    def image_html(self, project_path: str, alt: str | None, url: Callable[[str], str],
                   class_name: str, eager: bool) -> Markup:
        """The `pages.Site.image_html` hook used by the templates' `cover` macro."""
        if project_path not in self.processed:
            return Markup("")  # only in a preview whose image has a problem (shown in the banner)
        return Markup(self.picture(project_path, alt or "", url, class_name, eager))

    def responsive_body(self, fragment: str, page_path: str) -> str:
        """Story HTML with each local <img> as a <picture> and links to images pointed at
        a derivative. URLs in `fragment` are relative to the site path `page_path`."""

        def site_of(url: str) -> str | None:
            url = html.unescape(url)
            if not url or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^/|^#", url):
                return None
            target = posixpath.normpath(posixpath.join(posixpath.dirname(page_path), url))
            return self._by_original.get(target)

        def relative(site_path: str) -> str:
            return get_relative_url(site_path, page_path)

        def swap_img(match: re.Match[str]) -> str:
            attrs = {k: html.unescape(v or "") for k, v in _ATTR.findall(match.group(1))}
            project_path = site_of(attrs.get("src", ""))
            if project_path is None:
                return match.group(0)
            processed = self.processed[project_path]
            keep = {k: v for k, v in attrs.items() if k in ("class", "id", "title", "lang", "dir")}
            sizes = None
            if attrs.get("width", "").isdigit():
                # The author asked for a smaller display width: keep it and the aspect ratio.
                shown = min(int(attrs["width"]), processed.largest.width)
                keep["width"] = str(shown)
                keep["height"] = str(max(1, round(shown * processed.height / processed.width)))
                sizes = f"{shown}px"
            return self.picture(project_path, attrs.get("alt", ""), relative,
                                attrs.get("class", ""), sizes=sizes, attributes=keep)

        def swap_href(match: re.Match[str]) -> str:
            project_path = site_of(match.group(2))
            if project_path is None:
                return match.group(0)
            largest = self.processed[project_path].largest.fallback
            return match.group(1) + html.escape(relative(self.site_path(project_path, largest))) \
                + match.group(3)

        return _HREF.sub(swap_href, _IMG.sub(swap_img, fragment))


def late_refs(stories: Iterable[Story], rendered: dict[str, Rendered],
              processed: dict[str, Processed]) -> list[ImageRef]:
    """Images the rendered stories use that validation did not see (reference-style
    images, links to image files), located at the start of the story's body."""
    return [ImageRef(story.path, story.body_line, path, path)
            for story in stories for path in rendered[story.slug].images
            if path not in processed]


def responsive_stories(rendered: dict[str, Rendered], images: ImageSet,
                       page_path: str) -> dict[str, Rendered]:
    """Rendered stories whose HTML shows derivatives (see ImageSet.responsive_body).

    Applied after the render cache, so cached HTML stays independent of image processing.
    """
    return {slug: replace(r, html=images.responsive_body(r.html, page_path)) if r.images else r
            for slug, r in rendered.items()}


_IMG = re.compile(r"<img\b([^>]*)>")
_ATTR = re.compile(r'([^\s=/]+)(?:="([^"]*)")?')
_HREF = re.compile(r'(<a\b[^>]*?\shref=")([^"]*)(")')


def feed_image(site: Any, project_path: str) -> tuple[str, int, str] | None:
    """For feeds: a cover's (site path, size in bytes, MIME type), or None without images.

    `site` is the build's `pages.Site`; the plugin keeps the ImageSet in
    `site.extra["images"]`. The file is a metadata-free JPEG (PNG when transparent).
    """
    images: ImageSet | None = site.extra.get("images")
    if images is None or project_path not in images.processed:
        return None
    return images.feed_image(project_path)
