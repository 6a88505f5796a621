"""Generate a deterministic synthetic StoryHub project with N stories.

    python scripts/generate_corpus.py N OUTDIR [--seed S] [--end YYYY-MM-DD]

Writes OUTDIR/mkdocs.yml, OUTDIR/docs/about.md and OUTDIR/stories/ (registries with 8 teams,
14 KPIs, 20 authors, campaigns and newsletters, plus N stories of about 600 words). The same
N, seed and end date always give byte-identical files, so benchmarks compare like with like.

Importable: `generate(n, outdir, seed=0)` returns the list of story paths it wrote.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

# A fixed end date (not "today") keeps the output reproducible; it is before the time the
# generator was written, so every non-draft story is published.
DEFAULT_END = date(2026, 10, 31)
SPAN_DAYS = 3 * 365

TEAMS: list[dict[str, Any]] = [
    {"id": "marketing", "name": "Marketing", "color": "#ad1457",
     "description": "Brand, content and demand generation."},
    {"id": "support", "name": "Customer Support", "color": "#00695c",
     "description": "The frontline team that answers customers by phone, chat and email."},
    {"id": "hr", "name": "People & HR", "color": "#6a1b9a",
     "description": "Recruiting, onboarding, employer brand and growth."},
    {"id": "sales", "name": "Sales", "color": "#1565c0",
     "description": "New business and account teams."},
    {"id": "product", "name": "Product", "color": "#2e7d32",
     "description": "Product management and design."},
    {"id": "comms", "name": "Internal Communications", "color": "#bf360c",
     "description": "Keeps every employee informed and involved."},
    {"id": "finance", "name": "Finance", "color": "#37474f",
     "description": "Budgets, forecasting and the cost side of growth."},
    {"id": "engineering", "name": "Engineering", "color": "#4e342e",
     "description": "Builds and runs the product."},
]
for _team in TEAMS:
    _team["owners"] = [f"@example/{_team['id']}-leads"]
    _team["contact"] = f"{_team['id']}@example.com"

KPIS: list[dict[str, Any]] = [
    {"id": "nps", "name": "Net Promoter Score", "owner": "marketing", "unit": "points", "better": "up"},
    {"id": "brand-awareness", "name": "Brand awareness", "owner": "marketing", "unit": "%",
     "better": "up"},
    {"id": "mql", "name": "Marketing qualified leads", "owner": "marketing", "unit": "count",
     "better": "up"},
    {"id": "csat", "name": "Customer satisfaction", "owner": "support", "unit": "%", "better": "up"},
    {"id": "ticket-volume", "name": "Ticket volume", "owner": "support", "unit": "count",
     "better": "down"},
    {"id": "first-response-time", "name": "First response time", "owner": "support",
     "unit": "hours", "better": "down"},
    {"id": "employee-turnover", "name": "Employee turnover", "owner": "hr", "unit": "%",
     "better": "down"},
    {"id": "time-to-hire", "name": "Time to hire", "owner": "hr", "unit": "days", "better": "down"},
    {"id": "pipeline-value", "name": "Pipeline value", "owner": "sales", "unit": "EUR",
     "better": "up"},
    {"id": "win-rate", "name": "Win rate", "owner": "sales", "unit": "%", "better": "up"},
    {"id": "feature-adoption", "name": "Feature adoption", "owner": "product", "unit": "%",
     "better": "up"},
    {"id": "employee-advocacy-reach", "name": "Employee advocacy reach", "owner": "comms",
     "unit": "people", "better": "up"},
    {"id": "cost-per-acquisition", "name": "Cost per acquisition", "owner": "finance",
     "unit": "EUR", "better": "down"},
    {"id": "uptime", "name": "Uptime", "owner": "engineering", "unit": "%", "better": "up"},
]
for _kpi in KPIS:
    _kpi["description"] = f"How the company tracks {_kpi['name'].lower()}."

FIRST = ["Mara", "Tomas", "Jana", "Nadia", "Lukas", "Chloe", "Sofia", "Daniel", "Elena", "Marcus",
         "Aiko", "Felix", "Hannah", "Omar", "Priya", "Jonas", "Lea", "Mateo", "Ingrid", "Kwame"]
LAST = ["Lindqvist", "Okafor", "Novak", "Karimi", "Meyer", "Martin", "Reyes", "Hofmann", "Rossi",
        "Webb", "Tanaka", "Schneider", "Brooks", "Haddad", "Nair", "Berg", "Dubois", "Garcia",
        "Larsen", "Mensah"]
TITLES = ["Team Lead", "Manager", "Specialist", "Analyst", "Coordinator"]
AUDIENCES = ["all", "managers", "sales", "support", "new joiners", "leadership"]

# Word lists for titles and bodies: varied enough that search results differ per query.
TOPICS = ["onboarding", "ticket trends", "employer brand", "referral programme", "release notes",
          "pricing page", "customer interviews", "help centre", "webinar series", "churn signals",
          "win stories", "field feedback", "career paths", "ambassador posts", "launch briefing",
          "survey results", "response times", "budget review", "uptime report", "demo scripts",
          "knowledge base", "mentoring circles", "partner stories", "trial conversion",
          "mobile app", "route planning", "invoice questions", "holiday rota", "social care",
          "case studies", "exit interviews", "sales playbook", "cost review", "incident review",
          "apprenticeships", "quarterly forecast", "brand guidelines", "chat widget",
          "escalation path", "payroll calendar", "dispatch board", "offline mode", "tax season",
          "warranty claims", "newsletter archive", "podcast pilot", "trade fair", "job adverts",
          "interview training", "wellbeing week", "expense policy", "vendor contracts",
          "security audit", "password resets", "data export", "calendar sync", "price increase",
          "renewal calls", "upsell offers", "loyalty scheme", "review requests", "video tutorials",
          "feature flags", "beta programme", "accessibility fixes", "translation backlog",
          "status page", "on-call rota", "customer advisory board", "annual report",
          "hiring freeze", "relocation support", "parental leave", "volunteering day",
          "sustainability report", "office move", "hybrid work", "learning budget",
          "shadowing days", "hackathon", "roadmap review", "pricing experiment"]
# Customers make the long tail of rare words a real archive has (names, places, products).
SYLLABLES = ["ka", "lo", "mer", "vin", "sto", "bra", "del", "fen", "gar", "hol", "jun", "kes",
             "lin", "mar", "nor", "ost", "pel", "quar", "ros", "sel", "tam", "ul", "ver", "wen"]
TRADES = ["Plumbing", "Electric", "Roofing", "Heating", "Gardens", "Builders", "Glazing",
          "Logistics", "Cleaning", "Joinery"]
VERBS = ["reshaped", "improved", "simplified", "inspired", "rebuilt", "explained", "shortened",
         "doubled", "rethought", "connected", "celebrated", "measured", "tested", "shared"]
NOUNS = ["customers", "colleagues", "candidates", "account teams", "agents", "managers",
         "prospects", "new joiners", "partners", "trial users", "reviewers", "engineers"]
ADJS = ["clearer", "faster", "friendlier", "shorter", "simpler", "warmer", "sharper", "calmer",
        "more honest", "more visible", "more useful", "more personal"]
PLACES = ["the DACH region", "the Nordics", "our Berlin office", "the Lisbon hub", "the help centre",
          "weekly stand-ups", "the quarterly review", "the all-hands", "the sales kick-off",
          "the support inbox", "the careers site", "the product newsletter"]
PERIODS = ["in the first quarter", "over the summer", "within six weeks", "by the end of the year",
           "in two sprints", "during the pilot", "after the launch", "before the campaign",
           "in the following month", "over three months"]
HEADINGS = ["What we noticed", "Where the idea came from", "What we changed", "How we measured it",
            "What the numbers say", "What surprised us", "Who made it happen", "What comes next",
            "Lessons for other teams", "How to try it yourself"]
TEMPLATES = [
    "At {customer}, the {topic} used to take a whole afternoon.",
    "{customer} told us the {topic} was the reason they stayed with us.",
    "Our {team} colleagues {verb} the {topic} for {noun} {period}.",
    "It started when {noun} in {place} asked why the {topic} felt so hard to follow.",
    "The {topic} is now {adj} for {noun}, and the feedback from {place} shows it.",
    "We {verb} how {noun} hear about the {topic} and kept what worked {period}.",
    "Nobody expected the {topic} to matter this much to {noun}.",
    "A small change to the {topic} made conversations with {noun} {adj}.",
    "The idea came from {place}, where {noun} kept raising the {topic}.",
    "{period_cap}, the {team} team {verb} the {topic} together with {noun}.",
    "We shared early drafts in {place} and asked {noun} what was missing.",
    "The result is {adj} work for everyone who touches the {topic}.",
    "Several {noun} told us the {topic} finally made sense.",
    "We measured the effect {period} and compared it with the year before.",
    "The {team} team wants to thank {noun} in {place} for their patience.",
    "Next, we will look at how the {topic} can help {noun} even more.",
]
RESULT_PHRASES = ["up {n}% in {q}", "down {n}% in {q}", "{n} points better in {q}",
                  "best quarter so far ({q})", "+{n}% against plan in {q}"]


@dataclass(frozen=True)
class Corpus:
    """What `generate` wrote: the story files and the ids it used."""

    stories: list[Path]
    drafts: list[Path]


def _authors() -> list[dict[str, Any]]:
    authors = []
    for index, (first, last) in enumerate(zip(FIRST, LAST, strict=True)):
        team = TEAMS[index % len(TEAMS)]
        authors.append({
            "id": f"{first}-{last}".lower(),
            "name": f"{first} {last}",
            "team": team["id"],
            "title": f"{team['name']} {TITLES[index % len(TITLES)]}",
        })
    return authors


def _campaigns(end: date) -> list[dict[str, Any]]:
    names = [("spring-launch", "Spring launch", "product"),
             ("great-place-to-grow", "A great place to grow", "hr"),
             ("people-behind-the-product", "The people behind the product", "marketing"),
             ("summer-referrals", "Summer referrals", "sales"),
             ("help-yourself", "Help yourself: the new help centre", "support"),
             ("one-voice", "One voice inside and out", "comms")]
    campaigns = []
    for index, (cid, name, owner) in enumerate(names):
        launch = end - timedelta(days=SPAN_DAYS - 120 - index * 170)
        campaigns.append({
            "id": cid, "name": name, "owner": owner,
            "briefing": (launch - timedelta(days=30)).isoformat(),
            "launch": launch.isoformat(),
            "end": (launch + timedelta(days=90)).isoformat(),
            "audience": AUDIENCES[index % len(AUDIENCES)],
            "description": f"{name}: a campaign run by {owner} with help from other teams.",
        })
    return campaigns


NEWSLETTERS: list[dict[str, Any]] = [
    {"id": "support-digest", "title": "Support digest", "description": "Support news.",
     "teams": ["support", "product"], "kpis": ["csat", "ticket-volume"],
     "campaigns": ["help-yourself"], "cadence": "weekly"},
    {"id": "people-monthly", "title": "People monthly", "description": "People and growth.",
     "teams": ["hr", "comms"], "kpis": ["employee-turnover", "time-to-hire"],
     "campaigns": ["great-place-to-grow"], "cadence": "monthly"},
    {"id": "revenue-roundup", "title": "Revenue roundup", "description": "Pipeline and wins.",
     "teams": ["sales", "marketing", "finance"], "kpis": ["pipeline-value", "win-rate"],
     "campaigns": [], "cadence": "monthly"},
]

MKDOCS_YML = """\
site_name: Synthetic Stories
site_url: https://intranet.example.com/stories/
theme:
  name: material
  font: false
  features:
    - navigation.tabs
nav:
  - Home: index.md
  - Teams: teams/index.md
  - Archive: archive/index.md
  - Search: search/index.md
  - About: about.md
plugins:
  - storyhub:
      timezone: UTC
"""

ABOUT = """\
# About these stories

This site is generated from synthetic stories so that StoryHub can be measured at scale.
Every team, KPI and author is made up; the words are picked from small lists.
"""


def customers(count: int = 3000) -> list[str]:
    """Made-up customer names, the same for every run."""
    rng = random.Random(12345)
    names: set[str] = set()
    while len(names) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
        names.add(f"{word.capitalize()} {rng.choice(TRADES)}")
    return sorted(names)


class _Writer:
    """Builds story text quickly: a few random choices per sentence, not per word.

    Like real stories, each one keeps to its own few topics and customers; other topics only
    come up now and then. So a topic word is in a minority of stories, as in a real archive,
    rather than in nearly all of them.
    """

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.customers = customers()
        self.focus: list[str] = TOPICS[:3]
        self.names: list[str] = self.customers[:2]

    def start_story(self, main_topic: str) -> None:
        """Pick the topics and customers the next story talks about."""
        self.focus = [main_topic, *self.rng.sample(TOPICS, 2)]
        self.names = self.rng.sample(self.customers, 2)

    def topic(self) -> str:
        roll = self.rng.random()
        if roll < 0.65:
            return self.focus[0]
        if roll < 0.95:
            return self.focus[1] if roll < 0.8 else self.focus[2]
        return self.rng.choice(TOPICS)

    def sentence(self, team: str) -> str:
        rng = self.rng
        period = rng.choice(PERIODS)
        return rng.choice(TEMPLATES).format(
            team=team, verb=rng.choice(VERBS), topic=self.topic(), noun=rng.choice(NOUNS),
            adj=rng.choice(ADJS), place=rng.choice(PLACES), period=period,
            period_cap=period[0].upper() + period[1:], customer=rng.choice(self.names),
        )

    def paragraph(self, team: str, sentences: int) -> str:
        return " ".join(self.sentence(team) for _ in range(sentences))

    def body(self, team: str, topic: str, words: int = 600) -> str:
        rng = self.rng
        parts = [f"This story is about the {topic}. " + self.paragraph(team, 3), "<!-- more -->"]
        headings = rng.sample(HEADINGS, 4)
        count = 60
        for index, heading in enumerate(headings):
            parts.append(f"## {heading}")
            parts.append(self.paragraph(team, rng.randint(3, 5)))
            if index == 1:
                parts.append("\n".join(f"- {self.sentence(team)}" for _ in range(rng.randint(3, 4))))
            if index == 2:
                parts.append("\n".join(f"{n}. {self.sentence(team)}"
                                       for n in range(1, rng.randint(3, 4) + 1)))
            count = sum(part.count(" ") + 1 for part in parts)
        while count < words:
            paragraph = self.paragraph(team, 4)
            parts.append(paragraph)
            count += paragraph.count(" ") + 1
        return "\n\n".join(parts) + "\n"


def _quoted(value: str) -> str:
    # JSON strings are valid YAML scalars and much faster to write than yaml.safe_dump.
    return json.dumps(value, ensure_ascii=False)


def _front_matter(data: dict[str, Any]) -> str:
    lines = ["---"]
    for key, value in data.items():
        if isinstance(value, bool):
            lines.append(f"{key}: {'true' if value else 'false'}")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{key}:")
            for item in value:
                lines.append(f"  - team: {_quoted(item['team'])}")
                lines.append(f"    note: {_quoted(item['note'])}")
        elif isinstance(value, list):
            lines.append(f"{key}: [{', '.join(_quoted(v) for v in value)}]")
        elif isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {k}: {_quoted(v)}" for k, v in value.items())
        else:
            lines.append(f"{key}: {_quoted(str(value))}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def story(index: int, rng: random.Random, writer: _Writer, authors: list[dict[str, Any]],
          campaigns: list[dict[str, Any]], end: date) -> tuple[str, str, bool]:
    """One story: (relative path under stories/, file text, is_draft)."""
    team_entry = TEAMS[rng.randrange(len(TEAMS))]
    team, name = team_entry["id"], team_entry["name"]
    day = end - timedelta(days=rng.randrange(SPAN_DAYS))
    topic = rng.choice(TOPICS)
    writer.start_story(topic)
    title = f"How {rng.choice(NOUNS)} {rng.choice(VERBS)} the {topic}"
    title = title[0].upper() + title[1:]
    slug = "-".join(title.lower().replace("&", "and").split()) + f"-{index:05d}"
    own = [a["id"] for a in authors if a["team"] == team]
    writers = rng.sample(own, 1)
    if rng.random() < 0.3:
        writers.append(rng.choice([a["id"] for a in authors if a["id"] not in writers]))
    own_kpis = [k["id"] for k in KPIS if k["owner"] == team]
    others = [k["id"] for k in KPIS if k["owner"] != team]
    kpis = rng.sample(own_kpis, 1) + rng.sample(others, rng.randint(0, 2))
    other_teams = [t["id"] for t in TEAMS if t["id"] != team]
    data: dict[str, Any] = {"title": title, "date": day.isoformat(), "authors": writers,
                            "kpis": kpis}
    if rng.random() < 0.6:
        data["featuring"] = rng.sample(other_teams, rng.randint(1, 3))
    if rng.random() < 0.35:
        credit = rng.choice(other_teams)
        data["inspired_by"] = [{"team": credit, "note": f"Their {rng.choice(TOPICS)} gave us the idea."}]
    running = [c["id"] for c in campaigns
               if date.fromisoformat(c["briefing"]) <= day <= date.fromisoformat(c["end"])]
    if running and rng.random() < 0.7:
        data["campaign"] = rng.choice(running)
    data["audience"] = rng.choice(AUDIENCES)
    if rng.random() < 0.4:
        quarter = f"Q{(day.month - 1) // 3 + 1} {day.year}"
        data["results"] = {kpi: rng.choice(RESULT_PHRASES).format(n=rng.randint(2, 30), q=quarter)
                           for kpi in kpis[: rng.randint(1, len(kpis))]}
    if rng.random() < 0.5:
        data["summary"] = f"{writer.sentence(name)} {writer.sentence(name)}"
    data["tags"] = sorted({topic.split()[0], writer.focus[1].split()[0]})
    if rng.random() < 0.04:
        data["featured"] = True
    draft = rng.random() < 0.02
    if draft:
        data["draft"] = True
    text = _front_matter(data) + "\n" + writer.body(name, topic)
    return f"{team}/{day.isoformat()}-{slug}.md", text, draft


def generate(n: int, outdir: Path | str, seed: int = 0, end: date = DEFAULT_END) -> Corpus:
    """Write a complete project with `n` stories into `outdir` (its stories/ is replaced)."""
    out = Path(outdir)
    rng = random.Random(seed)
    authors = _authors()
    campaigns = _campaigns(end)
    (out / "docs").mkdir(parents=True, exist_ok=True)
    if (out / "stories").exists():
        shutil.rmtree(out / "stories")
    stories_dir = out / "stories"
    stories_dir.mkdir()
    (out / "mkdocs.yml").write_text(MKDOCS_YML, "utf-8")
    (out / "docs" / "about.md").write_text(ABOUT, "utf-8")
    registries = {"teams": TEAMS, "kpis": KPIS, "authors": authors, "campaigns": campaigns,
                  "newsletters": NEWSLETTERS}
    for name, entries in registries.items():
        (stories_dir / f"{name}.yml").write_text(
            yaml.safe_dump(entries, sort_keys=False, allow_unicode=True), "utf-8")
    for team in TEAMS:
        (stories_dir / team["id"]).mkdir()
    writer = _Writer(rng)
    written: list[Path] = []
    drafts: list[Path] = []
    for index in range(n):
        relpath, text, draft = story(index, rng, writer, authors, campaigns, end)
        path = stories_dir / relpath
        path.write_text(text, "utf-8")
        written.append(path)
        if draft:
            drafts.append(path)
    return Corpus(written, drafts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of stories")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--end", type=date.fromisoformat, default=DEFAULT_END,
                        help="date of the newest possible story (YYYY-MM-DD)")
    args = parser.parse_args()
    corpus = generate(args.n, args.outdir, args.seed, args.end)
    print(f"{len(corpus.stories)} stories ({len(corpus.drafts)} drafts) in {args.outdir}")


if __name__ == "__main__":
    main()
