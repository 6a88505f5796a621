// StoryHub search page: a small UI on Pagefind's JavaScript API.
// The state (query and filters) lives in the URL, so a search can be shared and reloaded.
// Every URL is resolved against this page, so the site works from any sub-path.

const root = document.querySelector(".sh-search");
const form = document.getElementById("sh-search-form");
const input = document.getElementById("sh-search-q");
const selects = [...document.querySelectorAll("select[data-facet]")];
const status = root.querySelector(".sh-search__status");
const list = root.querySelector(".sh-hits");
const more = root.querySelector(".sh-search__more");
const clear = root.querySelector(".sh-search__clear");
const data = JSON.parse(document.getElementById("sh-search-data").textContent);
const headerForm = document.querySelector(".sh-header-search");

const PAGE_SIZE = 10;
const DEBOUNCE_MS = 120;
const bundleUrl = new URL(root.dataset.bundle, location.href);
const baseUrl = new URL(root.dataset.root, location.href).pathname;
// A large site's index comes in shards (pagefind/, pagefind-2/, ...) that Pagefind merges.
const shards = (root.dataset.merge || "").split(" ").filter(Boolean)
  .map((path) => new URL(path, location.href).href);
const dateFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric", month: "long", year: "numeric", timeZone: "UTC",
});

let pagefindPromise = null;
let counterPromise = null;  // the Pagefind instance that counts facet values
let generation = 0;  // increases with every search; stale answers are dropped
let answered = 0;  // the generation whose answer the status line shows
let results = [];
let shown = 0;

function loadPagefind() {
  if (!pagefindPromise) {
    pagefindPromise = import(new URL("pagefind.js", bundleUrl).href).then(async (pagefind) => {
      await pagefind.options({ baseUrl, excerptLength: 26 });
      for (const shard of shards) await pagefind.mergeIndex(shard, { baseUrl });
      await pagefind.init();
      return pagefind;
    });
  }
  return pagefindPromise;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function readState() {
  const filters = {};
  for (const select of selects) {
    if (select.value) filters[select.dataset.facet] = select.value;
  }
  return { query: input.value.trim(), filters };
}

function restoreState() {
  const params = new URLSearchParams(location.search);
  input.value = params.get("q") || "";
  for (const select of selects) {
    const wanted = params.get(select.dataset.facet) || "";
    const known = [...select.options].some((option) => option.value === wanted);
    select.value = known ? wanted : "";
  }
  if (headerForm) headerForm.elements.q.value = input.value;
}

function writeUrl({ query, filters }) {
  const params = new URLSearchParams();
  if (query) params.set("q", query);
  for (const [key, value] of Object.entries(filters)) params.set(key, value);
  const search = params.toString();
  history.replaceState(history.state, "", search ? `?${search}` : location.pathname);
}

function label(key, value) {
  return (data.labels[key] && data.labels[key][value]) || value;
}

// Pagefind's excerpt is HTML with <mark> around matches. Parse it inert and keep only text
// and <mark>, so nothing from a story can become markup on this page.
function excerptNodes(excerpt) {
  const template = document.createElement("template");
  template.innerHTML = excerpt || "";
  return [...template.content.childNodes].map((node) =>
    node.nodeName === "MARK" ? el("mark", "", node.textContent) : document.createTextNode(node.textContent));
}

function renderResult(page) {
  const item = el("li", "sh-hit");
  const team = page.filters && page.filters.team ? page.filters.team[0] : null;
  const info = team ? data.teams[team] : null;
  if (info) item.style.setProperty("--sh-team", info.color);
  const title = el("h2", "sh-hit__title");
  const link = el("a", "", (page.meta && page.meta.title) || page.url);
  link.href = page.url;
  title.append(link);
  const meta = el("p", "sh-hit__meta");
  meta.append(info ? el("span", "sh-team", info.name) : el("span", "sh-hit__kind", "Page"));
  if (page.meta && page.meta.date) {
    const time = el("time", "", dateFormat.format(new Date(`${page.meta.date}T00:00:00Z`)));
    time.dateTime = page.meta.date;
    meta.append(" ", time);
  }
  const kpis = (page.filters && page.filters.kpi) || [];
  if (kpis.length) meta.append(` · ${kpis.map((kpi) => label("kpi", kpi)).join(", ")}`);
  const excerpt = el("p", "sh-hit__excerpt");
  excerpt.append(...excerptNodes(page.excerpt));
  item.append(title, meta, excerpt);
  return item;
}

async function showMore(current) {
  const slice = results.slice(shown, shown + PAGE_SIZE);
  const pages = await Promise.all(slice.map((result) => result.data()));
  if (current !== generation) return;
  list.append(...pages.map(renderResult));
  shown += slice.length;
  more.hidden = shown >= results.length;
  if (!more.hidden) more.textContent = `Show more results (${results.length - shown} left)`;
}

function describe(count, { query, filters }) {
  const parts = Object.entries(filters).map(([key, value]) => label(key, value));
  const what = count === 1 ? "1 result" : `${count.toLocaleString("en")} results`;
  const words = query ? ` for “${query}”` : "";
  const within = parts.length ? ` in ${parts.join(" · ")}` : "";
  return `${what}${words}${within}`;
}

// Facet counts come from a second Pagefind instance. Once an instance has the filter chunks
// it counts every facet on every search, which makes a search with words several times
// slower at 10,000 stories; the instance that finds the results loads only the filters the
// reader picks.
function loadCounter() {
  if (!counterPromise) {
    counterPromise = loadPagefind().then(async (pagefind) => {
      const counter = pagefind.createInstance({ baseUrl });
      for (const shard of shards) await counter.mergeIndex(shard, { baseUrl });
      await counter.init();
      return { counter, totals: await counter.filters() };
    });
  }
  return counterPromise;
}

// Counts next to each option: how many results picking it would give, keeping the query and
// the other facets. For a facet that is already set, that needs a search without it.
async function updateCounts(state, current) {
  const { counter, totals } = await loadCounter();
  const anything = (filters) => state.query || Object.keys(filters).length;
  const all = anything(state.filters)
    ? (await counter.search(state.query || null, { filters: state.filters })).filters
    : totals;
  for (const select of selects) {
    const key = select.dataset.facet;
    let counts = all[key];
    if (key in state.filters) {
      const rest = { ...state.filters };
      delete rest[key];
      counts = anything(rest)
        ? (await counter.search(state.query || null, { filters: rest })).filters[key]
        : totals[key];
    }
    if (current !== generation) return;
    for (const option of select.options) {
      if (!option.value) continue;
      const count = (counts && counts[option.value]) || 0;
      option.textContent = `${label(key, option.value)} (${count})`;
      option.disabled = count === 0 && option.value !== select.value;
    }
  }
}

// With words, best matches first; with filters only, newest first. Pagefind sorts each shard
// on its own and merges shards by score, which for a sort is the rank within the shard; the
// shards hold consecutive date ranges, newest first, so one search per shard (each page
// carries a "shard" filter) put one after the other gives the order across them.
async function find(pagefind, { query, filters }) {
  if (query) return (await pagefind.search(query, { filters })).results;
  const sort = { date: "desc" };
  if (!shards.length) return (await pagefind.search(null, { filters, sort })).results;
  const found = [];
  for (let shard = 1; shard <= shards.length + 1; shard++) {
    const search = await pagefind.search(null, { filters: { ...filters, shard: String(shard) }, sort });
    found.push(...search.results);
  }
  return found;
}

async function run() {
  const current = ++generation;
  const state = readState();
  writeUrl(state);
  clear.hidden = Object.keys(state.filters).length === 0;
  if (headerForm) headerForm.elements.q.value = state.query;
  root.setAttribute("aria-busy", "true");
  // Words found in nearly every story take Pagefind a second or two at 10,000 stories.
  setTimeout(() => {
    if (current === generation && answered !== current) status.textContent = "Searching…";
  }, 300);
  try {
    const pagefind = await loadPagefind();
    if (current !== generation) return;
    list.replaceChildren();
    results = [];
    shown = 0;
    more.hidden = true;
    if (!state.query && Object.keys(state.filters).length === 0) {
      status.textContent = "Type a word or pick a filter to see matching stories.";
      answered = current;
      await updateCounts(state, current);
      return;
    }
    results = await find(pagefind, state);
    if (current !== generation) return;
    status.textContent = results.length ? describe(results.length, state) : `No stories match: ${describe(0, state)}.`;
    answered = current;
    await showMore(current);
    if (current !== generation) return;
    await updateCounts(state, current);
  } catch (error) {
    status.textContent = "Search could not load its index. Reload the page to try again.";
    answered = current;
    console.error(error);
  } finally {
    if (current === generation) {
      root.removeAttribute("aria-busy");
      root.dataset.searched = String(current);  // lets tests and benchmarks wait for an answer
    }
  }
}

let timer = 0;
input.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(run, DEBOUNCE_MS);
});
input.addEventListener("focus", () => { loadPagefind(); }, { once: true });
form.addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(timer);
  run();
});
for (const select of selects) select.addEventListener("change", run);
clear.addEventListener("click", () => {
  for (const select of selects) select.value = "";
  run();
});
more.addEventListener("click", () => showMore(generation));
if (headerForm) {
  // On this page the header box drives the same search instead of reloading the page.
  headerForm.addEventListener("submit", (event) => {
    event.preventDefault();
    input.value = headerForm.elements.q.value;
    run();
  });
}

restoreState();
run();
