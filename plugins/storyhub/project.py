"""A StoryHub project on disk, read the way the build reads it, for the command line.

The command line must validate exactly like `mkdocs build`, so it takes the stories folder
and time zone from the storyhub plugin's options in mkdocs.yml. It reads that file with a
plain YAML loader rather than MkDocs' own, so `storyhub check` stays fast and does not
import themes or other plugins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from . import images, load, validate
from .model import Problem

# The plugin's defaults (plugin.StoryHubConfig); a test keeps the two in step.
DEFAULT_STORIES_DIR = "stories"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_CACHE_DIR = ".cache/storyhub"
CONFIG_NAME = "mkdocs.yml"


class SettingsError(Exception):
    """mkdocs.yml cannot be used: the message says why and how to fix it."""


@dataclass(frozen=True)
class Settings:
    root: Path  # the folder of mkdocs.yml; problem paths are relative to it
    stories_dir: Path
    timezone: ZoneInfo
    max_story_bytes: int = load.DEFAULT_MAX_BYTES
    config_file: Path | None = None
    serve_url: str = "http://127.0.0.1:8000/"  # where `mkdocs serve` shows the site

    def display(self, path: Path) -> str:
        return load.relpath(path.resolve(), self.root)

    @property
    def registry_files(self) -> set[str]:
        return registry_files(self.stories_dir, self.root)


def registry_files(stories_dir: Path, root: Path) -> set[str]:
    """Display paths of the registries, as problems name them."""
    return {load.relpath(stories_dir / f"{name}.yml", root) for name in load.REGISTRIES}


class _ConfigLoader(yaml.SafeLoader):
    """Reads mkdocs.yml while ignoring tags such as !ENV or !!python/name we do not need."""


def _ignore_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    return None


_ConfigLoader.add_multi_constructor("", _ignore_tag)


def plugin_options(config: dict[str, Any]) -> dict[str, Any] | None:
    """The storyhub plugin's options, or None when mkdocs.yml does not use the plugin."""
    plugins = config.get("plugins") or []
    if isinstance(plugins, dict):
        plugins = [{name: options} for name, options in plugins.items()]
    if not isinstance(plugins, list):
        return None
    for item in plugins:
        if item == "storyhub":
            return {}
        if isinstance(item, dict) and "storyhub" in item:
            options = item["storyhub"]
            return options if isinstance(options, dict) else {}
    return None


def serve_url(config: dict[str, Any]) -> str:
    """Where `mkdocs serve` puts the site: dev_addr, under the path of site_url."""
    address, site_url = config.get("dev_addr"), config.get("site_url")
    address = address if isinstance(address, str) else "127.0.0.1:8000"
    path = urlsplit(site_url if isinstance(site_url, str) else "").path.rstrip("/") + "/"
    return f"http://{address}{path}"


def find_config(start: Path) -> Path | None:
    """The nearest mkdocs.yml in `start` or a folder above it."""
    for folder in [start, *start.parents]:
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def read_settings(root: Path | None = None, config_file: Path | None = None,
                  cwd: Path | None = None) -> Settings:
    """Settings from `config_file`, else `root`/mkdocs.yml, else the nearest mkdocs.yml above
    `cwd`; without any mkdocs.yml, the plugin's defaults under `root` (or `cwd`)."""
    cwd = (cwd or Path.cwd()).resolve()
    if config_file is not None:
        config_file = (cwd / config_file).resolve()
        if not config_file.is_file():
            raise SettingsError(f"{config_file}: no such file (pass --config path/to/mkdocs.yml)")
    elif root is not None:
        candidate = (cwd / root).resolve() / CONFIG_NAME
        config_file = candidate if candidate.is_file() else None
    else:
        config_file = find_config(cwd)
    base = config_file.parent if config_file else (cwd / root).resolve() if root else cwd
    options: dict[str, Any] = {}
    config: Any = {}
    if config_file is not None:
        try:
            config = yaml.load(config_file.read_text("utf-8-sig"), Loader=_ConfigLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise SettingsError(f"{config_file}: cannot read it: {error}") from error
        options = plugin_options(config if isinstance(config, dict) else {}) or {}
    stories_dir = options.get("stories_dir", DEFAULT_STORIES_DIR)
    zone = options.get("timezone", DEFAULT_TIMEZONE)
    max_bytes = options.get("max_story_bytes", load.DEFAULT_MAX_BYTES)
    if not isinstance(stories_dir, str) or not isinstance(zone, str) or not isinstance(max_bytes, int):
        raise SettingsError(f"{config_file}: the storyhub options stories_dir, timezone and "
                            "max_story_bytes must be text, text and a number")
    try:
        timezone = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise SettingsError(f"{config_file}: unknown timezone {zone!r} (use an IANA name such as "
                            "'Europe/Berlin' or 'UTC')") from error
    folder = (base / stories_dir).resolve()
    if not folder.is_dir():
        raise SettingsError(f"{folder}: no stories folder here (run in the project folder, or pass "
                            "--root or --config)")
    return Settings(base, folder, timezone, max_bytes, config_file,
                    serve_url(config if isinstance(config, dict) else {}))


def load_project(settings: Settings) -> load.Loaded:
    return load.load_all(settings.stories_dir, settings.root, settings.max_story_bytes)


def check(settings: Settings, loaded: load.Loaded | None = None) -> validate.Validated:
    """Load (unless given) and validate everything, exactly as the build does."""
    loaded = loaded if loaded is not None else load_project(settings)
    checked = validate.validate(loaded, settings.stories_dir, settings.root, settings.timezone)
    # Images are decoded as the build decodes them, into the build's default image cache,
    # so a check before a build leaves the build nothing to encode.
    store = images.ImageStore(settings.root / DEFAULT_CACHE_DIR / "images")
    checked.problems.extend(images.check(checked.images, settings.root, store)[0])
    return checked


def registry_problems(checked: validate.Validated, settings: Settings) -> list[Problem]:
    """Problems in the registry files, which every command that uses the ids must respect."""
    files = settings.registry_files
    return [p for p in checked.problems if p.path in files]
