"""Which generated pages a forked copy of the build renders (plugin.py, parallel.fork_copy).

MkDocs renders pages one after the other on one core, and in a clean build of a thousand
stories that is most of the time. Once MkDocs has written the first page (the theme's
templates are compiled then, and the other files written), a copy of the build made by
`fork` goes on through the same pages and renders the listings after the story pages
(archive, team, KPI, campaign, author pages...), while this process renders the story pages.
Each skips the other's pages as it skips the pages kept from the last build (page_cache.py);
this process writes the copy's pages from the copy's page pack when it reaches them.

The story pages stay here: the search index starts from their content as soon as the first
page is written (search_index.py). Giving the copy part of them too (their theme template
only) did not make builds faster: at 5,000 stories the copy already ends last.

Measured at 1,000 stories (1,000 story pages, 546 listings), clean builds alternating on
this 2-core machine: 10.6, 10.6, 12.7 s with the copy, 12.1, 11.6, 14.6 s without. A copy
forked before the pages' content is rendered did worse (14.0, 13.2, 11.0 s): it compiled
the theme's templates again and slowed the feeds and cards.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

# Fewer pages than this are not worth a copy of the build: forking it and going through the
# remaining pages once more cost about as much as rendering 50 of them.
SPLIT_MIN = 200


def copy_pages(specs: Sequence[Any]) -> list[str]:
    """The src_uri of the pages (pages.PageSpec to render, in build order) the copy renders:
    the listings after the last story page, if there are at least SPLIT_MIN of them. (This
    process writes the copy's pages when it reaches them; a listing before the story pages,
    the home page, would make it wait for the copy.)"""
    tail = [spec.src_uri for spec in itertools.takewhile(lambda spec: not spec.searched,
                                                            reversed(specs))]
    return tail[::-1] if len(tail) >= SPLIT_MIN else []
