"""The story front-matter keys explained: one list read by the /write/ guide, the JSON Schema
and `storyhub new`, so the documentation cannot drift from what the validator accepts."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Registry


@dataclass(frozen=True)
class Field:
    key: str
    required: bool
    meaning: str
    example: str  # a YAML snippet; {team}, {kpi}... are filled with real ids by `example_for`
    registry: str = ""  # registry file whose ids the value must use, e.g. "teams.yml"

    def example_for(self, registry: Registry) -> str:
        """The example with ids taken from the registry, so it can be copied as is."""
        return self.example.format(**example_ids(registry))


FIELDS: tuple[Field, ...] = (
    Field("title", True, "The headline, up to 200 characters. Quote it if it contains ': ' or '#'.",
          'title: "Support tickets became our blog"'),
    Field("date", True, "Publication date, or date and time with a time zone. A future date schedules "
          "the story: it goes live with the first nightly build on or after that day.",
          "date: 2026-03-02"),
    Field("team", False, "The team telling the story. Defaults to the folder the file is in and must "
          "agree with it when given.", "team: {team}", "teams.yml"),
    Field("authors", True, "Who wrote it: one or more author ids.", "authors: [{author}]", "authors.yml"),
    Field("kpis", False, "The KPIs this story moved or supports, including other teams' KPIs.",
          "kpis: [{kpi}, {kpi2}]", "kpis.yml"),
    Field("featuring", False, "Other teams that took part in the work.", "featuring: [{other_team}]",
          "teams.yml"),
    Field("inspired_by", False, "Credit to the teams whose work inspired this story, each with an "
          "optional note saying what they gave you.",
          "inspired_by:\n  - team: {other_team}\n    note: The weekly ticket digest.", "teams.yml"),
    Field("campaign", False, "The campaign this story belongs to.", "campaign: {campaign}", "campaigns.yml"),
    Field("audience", False, "Who the story is for, in a few words; shown on cards and filterable.",
          "audience: managers"),
    Field("results", False, "Outcome per KPI, in a short phrase; every KPI here must also be in "
          "kpis.", "results:\n  {kpi}: +6 points in Q3"),
    Field("summary", False, "One or two sentences for cards and feeds. Without it, the text above "
          "<!-- more --> is used, else the first paragraph.",
          "summary: Ten ticket topics became ten articles."),
    Field("cover", False, "Cover image, relative to the story file (keep images in the team's "
          "images/ folder): .jpg, .png, .webp or .gif.", "cover: images/blog-cover.jpg"),
    Field("cover_alt", False, "What the cover image shows, for people who cannot see it. Required "
          "when there is a cover.", "cover_alt: A support agent and a writer at one desk"),
    Field("tags", False, "Free words for search and grouping.", "tags: [content, onboarding]"),
    Field("featured", False, "Show the story in Featured stories on the home page.", "featured: true"),
    Field("draft", False, "Never published; visible with a Draft badge in mkdocs serve.",
          "draft: true"),
    Field("slug", False, "The story's URL, /stories/<slug>/. Defaults to the file name without the "
          "date; lowercase letters, digits and hyphens.", "slug: tickets-to-blog"),
)

REQUIRED = tuple(f.key for f in FIELDS if f.required)


def example_ids(registry: Registry) -> dict[str, str]:
    """Real ids for the examples: a team with authors and KPIs if there is one."""
    teams = list(registry.teams)
    team = next((a.team for a in registry.authors.values() if a.team in registry.teams),
                teams[0] if teams else "marketing")
    owned = [k for k, kpi in registry.kpis.items() if kpi.owner == team]
    kpis = list(dict.fromkeys([*owned, *registry.kpis, "nps", "csat"]))
    return {
        "team": team,
        "other_team": next((t for t in teams if t != team), "support"),
        "author": next((a for a, author in registry.authors.items() if author.team == team),
                       "your-author-id"),
        "kpi": kpis[0],
        "kpi2": kpis[1],
        "campaign": next(iter(registry.campaigns), "spring"),
    }
