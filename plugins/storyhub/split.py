"""Which generated pages a forked copy of the build renders (plugin.py, parallel.fork_copy).

MkDocs renders pages one after the other on one core, and in a clean build of a thousand
stories that is most of the time. Once MkDocs has written the first page (the theme's
templates are compiled then, and the other files written), a copy of the build made by
`fork` goes on through the same pages and renders most listings after the story pages
(archive, team, KPI, campaign, author pages...), while this process renders the story pages
and then the first of those listings (MAIN_LISTINGS).
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
# How many of those listings (the first ones) this process renders itself, after the story
# pages, while the copy renders the rest (at most half of them). With none, this process
# waited for the copy: 1.1-1.5 s at 1,000 stories, about 2 s at 5,000. Clean builds of
# 1,000 stories (546 listings), alternating (host drifting): 12.4, 12.6, 10.4 s with none,
# 11.9, 11.2, 9.8 s with 82, 10.4, 10.5, 9.7 s with 164. The copy then ends first, and
# Pagefind (which runs at a lower priority) takes its core. A share of 30% instead (735 of
# 2,450 at 5,000 stories) left this process 8 s behind the copy.
MAIN_LISTINGS = 160


def copy_pages(specs: Sequence[Any]) -> list[str]:
    """The src_uri of the pages (pages.PageSpec to render, in build order) the copy renders:
    the listings after the last story page but the first MAIN_LISTINGS, if there are at
    least SPLIT_MIN listings there. (This process writes the copy's pages when it
    reaches them; a listing before the story pages, the home page, would make it wait for
    the copy.)"""
    tail = [spec.src_uri for spec in itertools.takewhile(lambda spec: not spec.searched,
                                                            reversed(specs))]
    if len(tail) < SPLIT_MIN:
        return []
    return tail[::-1][min(MAIN_LISTINGS, len(tail) // 2):]
