"""Corrections to the theme's own page HTML, so that every page is valid HTML.

Material for MkDocs writes its drawer and search toggles as
`<input type="checkbox" ... autocomplete="off">`, but HTML allows `autocomplete` only on
text-like inputs, so the Nu HTML Checker reports an error on every page. The theme added it
to stop Firefox from restoring a toggle's state on reload; without it a reload may at worst
reopen the drawer the reader had open, which is an acceptable price for valid pages.
"""

from __future__ import annotations

import re

_TOGGLE_AUTOCOMPLETE = re.compile(
    r'(<input class="md-toggle"[^>]*\btype="checkbox"[^>]*?) autocomplete="off"'
)


def valid_html(output: str) -> str:
    """The page with the theme's invalid attributes removed (nothing else changes)."""
    return _TOGGLE_AUTOCOMPLETE.sub(r"\1", output)
