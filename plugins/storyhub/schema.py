"""`storyhub schema`: a JSON Schema of story front matter, with the registries' ids as enums,
so editors (e.g. the YAML language server) can autocomplete and flag mistakes while typing.

The validator stays the authority: the schema approximates it (it cannot check that a
cover file exists or that a slug is unique) and flags unknown keys that the build only warns
about.
"""

from __future__ import annotations

from typing import Any

from . import load, validate
from .fields import FIELDS, REQUIRED
from .model import Registry

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# Dates as validate.parse_when accepts them: a day, optionally a time and a UTC offset.
DATE_PATTERN = (r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                r"(Z|[+-]\d{2}(:?\d{2})?)?)?$")


def _ids(records: dict[str, Any], kind: str, label: str) -> dict[str, Any]:
    if not records:
        # An empty enum is discouraged by the spec; "not {}" equally accepts nothing.
        return {"description": f"No {kind} ids are defined yet.", "not": {}}
    return {
        "type": "string",
        "enum": list(records),
        # Non-standard, read by VS Code and the YAML language server next to each completion.
        "enumDescriptions": [getattr(r, label) for r in records.values()],
    }


def _one_or_many(ref: str) -> dict[str, Any]:
    item = {"$ref": ref}
    return {"anyOf": [item, {"type": "array", "items": item, "minItems": 1, "uniqueItems": True}]}


def _text(limit: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "number"], "minLength": 1}
    if limit:
        schema["maxLength"] = limit
    return schema


def story_schema(registry: Registry) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a story's front matter for this registry."""
    credit = {
        "anyOf": [
            {"$ref": "#/$defs/team"},
            {"type": "object", "required": ["team"],
             "properties": {"team": {"$ref": "#/$defs/team"}, "note": {"type": "string"}}},
        ],
    }
    properties: dict[str, Any] = {
        "title": _text(validate.MAX_TITLE),
        "date": {"type": "string", "pattern": DATE_PATTERN},
        "team": {"$ref": "#/$defs/team"},
        "authors": _one_or_many("#/$defs/author"),
        "kpis": _one_or_many("#/$defs/kpi"),
        "featuring": _one_or_many("#/$defs/team"),
        "inspired_by": {"type": "array", "items": credit},
        "campaign": {"$ref": "#/$defs/campaign"},
        "audience": _text(60),
        "results": {
            "type": "object",
            "propertyNames": {"$ref": "#/$defs/kpi"},
            "additionalProperties": {"type": ["string", "number"]},
        },
        "summary": _text(600),
        "cover": {"type": "string", "not": {"pattern": r"^([/\\]|[a-zA-Z]:|.*://)"}},
        "cover_alt": _text(300),
        "tags": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": ["string", "integer"]}}]},
        "featured": {"type": "boolean"},
        "draft": {"type": "boolean"},
        "slug": {"type": "string", "pattern": validate.SLUG_RE.pattern},
    }
    for field in FIELDS:
        properties[field.key]["description"] = field.meaning
        example, _, _ = load.parse_yaml(field.example_for(registry), "example")
        properties[field.key]["examples"] = [example[field.key]]
    return {
        "$schema": DRAFT,
        "title": "StoryHub story front matter",
        "description": "Keys at the top of stories/<team>/<YYYY-MM-DD>-<slug>.md, between '---' lines.",
        "type": "object",
        "required": list(REQUIRED),
        "properties": properties,
        # The build only warns about unknown keys; an editor underline is the same nudge.
        "additionalProperties": False,
        "dependentRequired": {"cover": ["cover_alt"]},
        "$defs": {
            "team": _ids(registry.teams, "team", "name"),
            "kpi": _ids(registry.kpis, "KPI", "name"),
            "author": _ids(registry.authors, "author", "name"),
            "campaign": _ids(registry.campaigns, "campaign", "name"),
        },
    }
