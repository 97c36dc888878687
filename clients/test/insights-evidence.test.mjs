// Every count on the insights page opens the rows it counts, in a real browser (Debian's
// Chromium through playwright-core): on each tab a count's panel says the same total as the
// number clicked, lists exactly the sessions (or PSA pushes) the API lists for that count's
// filter and window, each of them one the filter admits; "Load more" pages to the end by the
// API's cursor; the keyboard opens and closes it and gets its focus back; the CSV link
// downloads the same list with the page's token; axe-core finds no serious violation with
// the panel open at 1440 and 390 px. Then a knowledge gap merged into another domain and
// the merge undone (the last tests: they change the data).
//
// Run by tests/clients/test_insights_page.py against a live server with a demo database of
// its own in safelist mode: FLOWPILOT_BASE_URL, FLOWPILOT_TOKEN (team_admin),
// FLOWPILOT_ADMIN_TOKEN (admin) and FLOWPILOT_CHROMIUM.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

const base = process.env.FLOWPILOT_BASE_URL;
const token = process.env.FLOWPILOT_TOKEN; // a team_admin's
const adminToken = process.env.FLOWPILOT_ADMIN_TOKEN;
const executablePath = process.env.FLOWPILOT_CHROMIUM || "/usr/bin/chromium";
assert.ok(base && token && adminToken, "FLOWPILOT_* environment is not set");
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf-8");
const ZONE = "America/New_York"; // the demo account's

let browser;
let operations;

before(async () => {
  browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  operations = await (await fetch(`${base}/insights/operations.json`)).json();
});

after(async () => {
  await browser?.close();
});

async function api(operationName, variables) {
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({
      operationName,
      variables,
      extensions: { persistedQuery: { version: 1, sha256Hash: operations[operationName].sha256Hash } },
    }),
  });
  const body = await response.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

/** Every row the API lists for a count (pages of 100), as the panel should list them. */
async function allRows(spec, window) {
  const rows = [];
  let after = null;
  for (;;) {
    const variables = { ...window, first: 100, after };
    const data = spec.kind === "sessions"
      ? (await api("SessionEvidence", { ...variables, filter: spec.filter })).sessionEvidence
      : (await api("PsaActivityEvidence", { ...variables, type: spec.type, day: spec.day })).psaActivityEvidence;
    rows.push(...data.nodes);
    if (!data.pageInfo.hasNextPage) return { total: data.totalCount, rows };
    after = data.pageInfo.endCursor;
  }
}

const exact = (value) => (value === null || value === undefined ? "null" : String(value));
const localDay = (instant) => new Intl.DateTimeFormat("en-CA", { timeZone: ZONE }).format(new Date(instant));
const domainKey = (name) => name.trim().replace(/\s+/g, " ").toLowerCase();

async function openPage({ width = 1440, height = 900, bypassCSP = false } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, bypassCSP, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  await page.goto(`${base}/`);
  await page.fill("#token", token);
  await page.press("#token", "Enter");
  return { page, problems, close: () => context.close() };
}

async function showTab(page, id, name) {
  await page.getByRole("tab", { name }).click();
  await page.waitForFunction((panel) => {
    const element = document.getElementById(panel);
    return element.dataset.variables && !element.hasAttribute("aria-busy");
  }, `panel-${id}`);
}

/** The list the panel shows now: its numbers and each row's data. */
async function panelState(page) {
  return page.evaluate(() => {
    const summary = document.getElementById("evidence-summary");
    return {
      open: document.getElementById("evidence").open,
      title: document.getElementById("evidence-title").textContent,
      count: summary.querySelector(".evidence-count")?.dataset.value,
      total: summary.querySelector(".evidence-total")?.dataset.value,
      same: summary.dataset.same,
      more: !document.getElementById("evidence-more").hidden,
      rows: [...document.querySelectorAll("#evidence-list > li")].map((li) => ({
        ...li.dataset,
        fields: Object.fromEntries([...li.querySelectorAll("dd[data-field]")].map((dd) => [dd.dataset.field, dd.dataset.value])),
      })),
    };
  });
}

async function waitForList(page, shown) {
  await page.waitForFunction(
    (count) => {
      const dialog = document.getElementById("evidence");
      return dialog.open && !dialog.hasAttribute("aria-busy") && document.querySelectorAll("#evidence-list > li").length >= count && document.querySelector("#evidence-summary .evidence-total");
    },
    shown,
    { timeout: 15000 },
  );
}

/**
 * Opens the count `button` and checks the panel against the API: the total beside the
 * number, equal to it; the first page's rows are the API's first 50; each row passes `admits`.
 * With `toEnd`, pages with Load more to the last row. Returns the panel's state and the spec.
 */
async function checkCount(page, button, window, admits, { toEnd = false } = {}) {
  const number = await button.getAttribute("data-value");
  const spec = JSON.parse(await button.getAttribute("data-evidence"));
  await button.click();
  await waitForList(page, Math.min(Number(number), 1));
  const expected = await allRows(spec, window);
  let state = await panelState(page);
  assert.equal(state.count, number, spec.title);
  assert.equal(state.total, number, `${spec.title}: the panel's total is the number on the tab`);
  assert.equal(expected.total, Number(number), `${spec.title}: the API's totalCount for the same filter`);
  assert.equal(state.same, "true");
  assert.deepEqual(state.rows.map((r) => r.id), expected.rows.slice(0, 50).map((r) => r.id), spec.title);
  if (toEnd) {
    let pages = 1;
    while (state.more) {
      await page.click("#evidence-more");
      pages += 1;
      await waitForList(page, Math.min(pages * 50, expected.rows.length));
      state = await panelState(page);
    }
    assert.equal(state.rows.length, Number(number), `${spec.title}: every row, paged to the end`);
    assert.deepEqual(state.rows.map((r) => r.id), expected.rows.map((r) => r.id));
    assert.equal(new Set(state.rows.map((r) => r.id)).size, state.rows.length, "no row twice");
  }
  for (const row of state.rows) assert.ok(admits(row), `${spec.title}: ${JSON.stringify(row)}`);
  return { state, spec };
}

async function closePanel(page) {
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => !document.getElementById("evidence").open);
}

const LAST_30 = { period: "LAST_30_DAYS" };

/** The count button in the row of `table` whose first cell reads `name`. */
async function rowCount(page, table, name) {
  const row = page.locator(`${table} tbody tr`).filter({ has: page.locator("th", { hasText: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) }) });
  assert.equal(await row.count(), 1, `one row for ${name} in ${table}`);
  return row.locator("button.count").first().elementHandle();
}

test("Overview: headline counts, a trend day, a tier and a domain each open exactly their sessions", async () => {
  const { page, problems, close } = await openPage();
  try {
    await showTab(page, "overview", "Overview");
    const tab = (await api("OverviewTab", LAST_30)).overview;
    const card = (field) => page.$(`#panel-overview .card[data-field="${field}"] button.count`);

    await checkCount(page, await card("sessionCount"), LAST_30, (r) => localDay(r.startedAt) >= tab.from && localDay(r.startedAt) <= tab.to);
    await closePanel(page);
    await checkCount(page, await card("resolvedCount"), LAST_30, (r) => r.status === "resolved");
    await closePanel(page);
    await checkCount(page, await card("escalatedCount"), LAST_30, (r) => r.status === "escalated");
    await closePanel(page);

    // A trend day (the busiest complete one) opens the sessions started on that local day.
    const busiest = tab.dailyTrend.slice(0, -1).reduce((best, p) => (p.sessions > best.sessions ? p : best));
    await page.$$eval("#panel-overview details", (all) => all.forEach((d) => (d.open = true)));
    const row = await page.$(`#overview-trend-table tbody tr:has(th[data-value="${busiest.date}"])`);
    await checkCount(page, await row.$('[data-column="sessions"] button.count'), LAST_30, (r) => localDay(r.startedAt) === busiest.date);
    await closePanel(page);
    await checkCount(page, await row.$('[data-column="escalated"] button.count'), LAST_30, (r) => localDay(r.startedAt) === busiest.date && r.status === "escalated");
    await closePanel(page);

    // A confidence tier.
    const tiers = await page.$$('#overview-tiers-table tbody [data-column="sessions"] button.count');
    assert.equal(tiers.length, 4);
    await checkCount(page, tiers[1], LAST_30, (r) => r.fields.confidenceTier === "exploring");
    await closePanel(page);
    await checkCount(page, tiers[3], LAST_30, (r) => !["guided", "exploring", "discovery"].includes(r.fields.confidenceTier));
    await closePanel(page);

    // A domain, paged to the end: every spelling with the domain's key, nothing else.
    const domain = tab.domains.filter((d) => d.sessionCount > 100).at(-1);
    const cell = await rowCount(page, "#overview-domains", domain.name);
    const { state } = await checkCount(page, cell, LAST_30, (r) => r.fields.domainKey === domainKey(domain.name), { toEnd: true });
    const spellings = new Set(state.rows.map((r) => r.fields.problemDomain));
    assert.ok(spellings.size > 1, `the demo spells ${domain.name} more than one way: ${[...spellings]}`);
    await closePanel(page);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("Coverage: unmapped sessions, a knowledge gap's sessions and a flow preview's usage", async () => {
  const { page, problems, close } = await openPage();
  try {
    await showTab(page, "coverage", "Coverage");
    const tab = (await api("CoverageTab", LAST_30)).coverage;
    assert.ok(tab.unmappedSessionCount > 0);
    await checkCount(page, await page.$('#panel-coverage .card[data-field="unmappedSessionCount"] button.count'), LAST_30, (r) => r.fields.domainKey === "null");
    await closePanel(page);
    // The sentence under the heatmap opens the same list.
    assert.equal(await page.getAttribute("#coverage-unmapped button.count", "data-value"), exact(tab.unmappedSessionCount));

    const gap = tab.knowledgeGaps[0];
    const gapButton = await rowCount(page, "#coverage-gaps", gap.name);
    await checkCount(page, gapButton, LAST_30, (r) => r.fields.domainKey === domainKey(gap.name));
    await closePanel(page);

    const domain = tab.domains.find((d) => d.flows.some((f) => f.usageCount > 0));
    const flow = domain.flows.find((f) => f.usageCount > 0);
    const usage = await page.$(`#coverage-heatmap tbody button.count[data-evidence*='${flow.flow.id}']`);
    await checkCount(page, usage, LAST_30, (r) => r.fields.matchedFlowId === flow.flow.id);
    await closePanel(page);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("Flow Quality: a flow's usage opens the sessions matched to it", async () => {
  const { page, problems, close } = await openPage();
  try {
    await showTab(page, "flow-quality", "Flow Quality");
    const variables = { ...LAST_30, sort: "QUALITY", direction: "DESC", first: 20, offset: 0 };
    const tab = (await api("FlowQualityTab", variables)).flowQuality;
    const flow = tab.flows.find((r) => r.usageCount > 50) ?? tab.flows[0];
    const button = await page.$(`#flow-table tbody tr:has([data-value="${flow.flow.id}"]) [data-column="usageCount"] button.count`);
    const { state } = await checkCount(page, button, LAST_30, (r) => r.fields.matchedFlowId === flow.flow.id, { toEnd: true });
    // Success rate = resolved ÷ usage: the listed sessions' statuses give it back.
    const resolved = state.rows.filter((r) => r.status === "resolved").length;
    assert.equal(resolved / flow.usageCount, flow.successRate);
    await closePanel(page);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("PSA: time entries, an activity kind, a day's entries and each funnel step", async () => {
  const { page, problems, close } = await openPage();
  try {
    const window = { ...LAST_30, compareTo: "PREVIOUS_PERIOD" };
    await showTab(page, "psa", "PSA");
    const tab = (await api("PsaTab", window)).psaActivity;
    await checkCount(page, await page.$('#panel-psa .card[data-field="totalTimeEntries"] button.count'), LAST_30, (r) => r.type === "TIME_ENTRY_POSTED");
    await closePanel(page);
    const notes = await page.$(`#psa-activity tbody tr:has(th[data-value="NOTE_POSTED"]) button.count`);
    await checkCount(page, notes, LAST_30, (r) => r.type === "NOTE_POSTED");
    await closePanel(page);

    const day = tab.dailyTrend.slice(0, -1).findLast((p) => p.entries > 0);
    await page.$$eval("#panel-psa details", (all) => all.forEach((d) => (d.open = true)));
    const entries = await page.$(`#psa-trend-table tbody tr:has(th[data-value="${day.date}"]) button.count`);
    const { state } = await checkCount(page, entries, LAST_30, (r) => r.type === "TIME_ENTRY_POSTED" && localDay(r.createdAt) === day.date);
    // The hours of that day's entries add up to the day's hours.
    const hours = state.rows.reduce((sum, r) => sum + Number(r.fields.hours), 0);
    assert.ok(Math.abs(hours - day.hours) < 1e-9, `${hours} h listed, ${day.hours} h on the tab`);
    await closePanel(page);

    const steps = await page.$$('#psa-funnel-table tbody [data-column="sessions"] button.count');
    assert.equal(steps.length, 4);
    await checkCount(page, steps[0], LAST_30, () => true);
    await closePanel(page);
    await checkCount(page, steps[1], LAST_30, (r) => r.fields.psaTicketId !== "null");
    await closePanel(page);
    await checkCount(page, steps[2], LAST_30, (r) => r.fields.psaTicketId !== "null" && r.fields.pushes.split(";").includes("NOTE_POSTED"));
    await closePanel(page);
    await checkCount(page, steps[3], LAST_30, (r) => ["NOTE_POSTED", "TIME_ENTRY_POSTED"].every((t) => r.fields.pushes.split(";").includes(t)));
    await closePanel(page);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("the keyboard opens a count with Enter or Space, Esc and Close shut it, and the focus goes back to the count", async () => {
  const { page, problems, close } = await openPage({ width: 390, height: 844 });
  try {
    await showTab(page, "overview", "Overview");
    const count = '#panel-overview .card[data-field="resolvedCount"] button.count';
    await page.focus(count);
    await page.keyboard.press("Enter");
    await waitForList(page, 1);
    assert.equal(await page.evaluate(() => document.activeElement.id), "evidence-close");
    // A dialog on a phone: the whole screen, nothing sideways.
    const box = await page.$eval("#evidence", (d) => d.getBoundingClientRect().toJSON());
    assert.ok(box.x === 0 && box.width === 390, JSON.stringify(box));
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390));
    await page.keyboard.press("Escape");
    await page.waitForFunction(() => !document.getElementById("evidence").open);
    assert.equal(await page.evaluate(() => document.activeElement.closest(".card")?.dataset.field), "resolvedCount");

    await page.keyboard.press(" ");
    await waitForList(page, 1);
    await page.keyboard.press("Enter"); // on Close, which has the focus
    await page.waitForFunction(() => !document.getElementById("evidence").open);
    assert.equal(await page.evaluate(() => document.activeElement.closest(".card")?.dataset.field), "resolvedCount");

    // Tab from the count reaches the next count; its visible focus ring is drawn.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement.closest(".card")?.dataset.field), "escalatedCount");
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.equal(outline, "solid");

    // Load more by keyboard: the first new row takes the focus.
    await page.focus('#panel-overview .card[data-field="sessionCount"] button.count');
    await page.keyboard.press("Enter");
    await waitForList(page, 50);
    await page.focus("#evidence-more");
    await page.keyboard.press("Enter");
    await waitForList(page, 100);
    const focused = await page.evaluate(() => [...document.querySelectorAll("#evidence-list > li")].indexOf(document.activeElement));
    assert.equal(focused, 50);
    await closePanel(page);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("the CSV link downloads the same list with the page's token, 100 rows a file", async () => {
  const { page, problems, close } = await openPage();
  try {
    await showTab(page, "overview", "Overview");
    const button = await page.$('#panel-overview .card[data-field="resolvedCount"] button.count');
    const number = await button.getAttribute("data-value");
    await button.click();
    await waitForList(page, 50);
    const expected = await allRows({ kind: "sessions", filter: { outcome: "RESOLVED" } }, LAST_30);
    assert.ok(expected.total > 200, "the demo resolves more than 200 sessions in 30 days");
    // A plain GET of the link (no token) is refused: the page fetches it with the token.
    const href = await page.getAttribute("#evidence-csv", "href");
    assert.equal((await fetch(`${base}${href}`)).status, 401);
    assert.match(await page.textContent("#evidence-csv"), /^Download sessions 1–100 as CSV$/);
    const ids = [];
    for (const file of [1, 2]) {
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#evidence-csv")]);
      const text = readFileSync(await download.path(), "utf-8");
      const lines = text.trim().split("\r\n");
      const header = lines[0].split(",");
      const first = lines[1].split(",");
      assert.equal(first[header.indexOf("section")], "session-evidence");
      assert.equal(first[header.indexOf("totalCount")], number);
      const nodes = lines.slice(1).map((l) => l.split(",")).filter((cells) => cells[0] === "nodes");
      ids.push(...nodes.map((cells) => cells[header.indexOf("id")]));
      assert.equal(download.suggestedFilename(), `session-evidence-${file === 1 ? 1 : 101}.csv`);
      await page.waitForFunction((n) => document.getElementById("evidence-status").textContent.startsWith("Saved"), file);
    }
    assert.deepEqual(ids, expected.rows.slice(0, 200).map((r) => r.id));
    assert.match(await page.textContent("#evidence-csv"), /^Download sessions 201–300 as CSV$/);
    await closePanel(page);

    // A list of at most 100 is one file, and stays one file to download again.
    await showTab(page, "coverage", "Coverage");
    const unmapped = await page.$('#panel-coverage .card[data-field="unmappedSessionCount"] button.count');
    const count = Number(await unmapped.getAttribute("data-value"));
    assert.ok(count > 0 && count <= 100, `${count} sessions without a domain`);
    await unmapped.click();
    await waitForList(page, 1);
    for (const round of [1, 2]) {
      assert.equal(await page.textContent("#evidence-csv"), "Download as CSV", `round ${round}`);
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#evidence-csv")]);
      const lines = readFileSync(await download.path(), "utf-8").trim().split("\r\n");
      assert.equal(lines.filter((line) => line.startsWith("nodes,")).length, count);
      await page.waitForFunction(() => document.getElementById("evidence-status").textContent.startsWith("Saved"));
    }
    await closePanel(page);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("axe-core finds no serious or critical violation with the panel open, at 1440 and 390 px", async () => {
  for (const width of [1440, 390]) {
    const { page, close } = await openPage({ width, height: 900, bypassCSP: true });
    try {
      await page.evaluate(axeSource);
      for (const [id, name, selector] of [
        ["overview", "Overview", '.card[data-field="sessionCount"] button.count'],
        ["coverage", "Coverage", "#coverage-gaps button.count"],
        ["flow-quality", "Flow Quality", "#flow-table button.count"],
        ["psa", "PSA", "#psa-activity button.count"],
      ]) {
        await showTab(page, id, name);
        await page.click(`#panel-${id} ${selector}`);
        await waitForList(page, 1);
        const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
        const serious = result.violations
          .filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
        assert.deepEqual(serious, [], `${name} at ${width} px`);
        await closePanel(page);
      }
    } finally {
      await close();
    }
  }
});

// Merging a knowledge gap into the domain it spells: the page's "Same as …" control with the
// API's suggestion, the tabs after it (by hand: the gap's sessions added to the target's), the
// undo, and no control for a token that is no team lead's. Runs last: it changes the data.

const cells = (page, table) =>
  page.$$eval(`${table} tbody tr`, (rows) =>
    Object.fromEntries(rows.map((tr) => [tr.querySelector("th").textContent, Number(tr.querySelector('[data-column="sessionCount"]').dataset.value)])),
  );

async function coverageNumbers(page) {
  await showTab(page, "coverage", "Coverage");
  return {
    gaps: await cells(page, "#coverage-gaps"),
    heatmap: await cells(page, "#coverage-heatmap"),
    domains: Number(await page.getAttribute('#panel-coverage .card[data-field="totalDomains"] .value', "data-value")),
    unmapped: Number(await page.getAttribute('#panel-coverage .card[data-field="unmappedSessionCount"] .value', "data-value")),
  };
}

async function overviewNumbers(page) {
  await showTab(page, "overview", "Overview");
  return {
    domains: await cells(page, "#overview-domains"),
    sessions: Number(await page.getAttribute('#panel-overview .card[data-field="sessionCount"] .value', "data-value")),
  };
}

test("a knowledge gap merged into the domain it spells: the tabs change by exactly its sessions, and Undo restores them", async () => {
  const { page, problems, close } = await openPage();
  try {
    const before = await coverageNumbers(page);
    const overview = await overviewNumbers(page);
    const spelling = "M365";
    const target = "Microsoft 365";
    const moved = before.gaps[spelling];
    assert.ok(moved > 0 && before.heatmap[target] > 0, JSON.stringify(before));
    const { domainAliasSuggestions } = await api("DomainAliases", LAST_30);
    assert.ok(domainAliasSuggestions.some((s) => s.spelling === spelling && s.targetName === target && s.sessionCount === moved));

    await showTab(page, "coverage", "Coverage");
    const control = `#coverage-gaps details.same-as[data-domain="${spelling}"]`;
    assert.equal(await page.textContent(`${control} summary`), `Same as ${target}? (merge ${spelling} into another domain)`);
    await page.click(`${control} summary`);
    assert.equal(await page.$eval(`${control} select`, (s) => s.value), target);
    assert.match(await page.textContent(`${control} .merge-effect`), new RegExp(`Its ${moved} sessions of the period will count as “${target}” in every tab`));
    // Any other domain of the period can be chosen too.
    const choices = await page.$$eval(`${control} option`, (options) => options.map((o) => o.value).filter(Boolean));
    assert.deepEqual(new Set(choices), new Set(Object.keys(before.heatmap).filter((name) => name !== spelling)));
    await page.click(`${control} button[type="submit"]`);
    await page.waitForSelector("#coverage-aliases");
    await page.waitForFunction(() => !document.getElementById("panel-coverage").hasAttribute("aria-busy"));
    assert.equal(await page.evaluate(() => document.activeElement.dataset.spelling), spelling, "Undo takes the focus");

    // Coverage: the gap is gone, the target holds both counts, nothing else moved.
    const merged = await coverageNumbers(page);
    assert.equal(merged.gaps[spelling], undefined);
    assert.equal(merged.heatmap[spelling], undefined);
    assert.equal(merged.heatmap[target], before.heatmap[target] + moved);
    assert.equal(merged.domains, before.domains - 1);
    assert.equal(merged.unmapped, before.unmapped);
    // The target (still a gap here) takes no alias of its own: aliases stay flat.
    assert.ok(merged.gaps[target] > 0);
    assert.equal(await page.$(`#coverage-gaps details.same-as[data-domain="${target}"]`), null);
    assert.equal(await page.textContent(`#coverage-gaps tr:has(.merge-target) th`), target);
    for (const [name, count] of Object.entries(before.heatmap)) {
      if (name !== spelling && name !== target) assert.equal(merged.heatmap[name], count, name);
    }
    // The target's sessions now list the merged spelling's, counted under the target's key.
    const button = await rowCount(page, "#coverage-heatmap", target);
    const { state } = await checkCount(page, button, LAST_30, (r) => r.fields.domainKey === domainKey(target), { toEnd: true });
    assert.equal(state.rows.filter((r) => domainKey(r.fields.problemDomain) === domainKey(spelling)).length, moved);
    await closePanel(page);

    // Overview: the same move in its domain breakdown; the total does not change.
    const after = await overviewNumbers(page);
    assert.equal(after.sessions, overview.sessions);
    assert.equal(after.domains[spelling], undefined);
    assert.equal(after.domains[target], overview.domains[target] + overview.domains[spelling]);

    // Undo: every number as before.
    await showTab(page, "coverage", "Coverage");
    await page.click(`#coverage-aliases button.undo[data-spelling="${spelling}"]`);
    await page.waitForFunction(() => !document.getElementById("coverage-aliases"));
    await page.waitForFunction(() => !document.getElementById("panel-coverage").hasAttribute("aria-busy"));
    assert.equal(await page.evaluate(() => document.activeElement.closest("details")?.dataset.domain), spelling);
    assert.deepEqual(await coverageNumbers(page), before);
    assert.deepEqual(await overviewNumbers(page), overview);
    assert.deepEqual((await api("DomainAliases", LAST_30)).domainAliases, []);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("the merge control is a team lead's: an admin token sees the gaps without it; axe passes with it open", async () => {
  const admin = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  try {
    const page = await admin.newPage();
    await page.goto(`${base}/`);
    await page.fill("#token", adminToken);
    await page.press("#token", "Enter");
    await showTab(page, "coverage", "Coverage");
    assert.ok((await page.$$("#coverage-gaps tbody tr")).length > 0);
    assert.equal(await page.$("#coverage-gaps details.same-as"), null);
    assert.equal(await page.$('#coverage-gaps th[data-column="sameAs"]'), null);
  } finally {
    await admin.close();
  }
  for (const width of [1440, 390]) {
    const { page, close } = await openPage({ width, height: 900, bypassCSP: true });
    try {
      await page.evaluate(axeSource);
      await showTab(page, "coverage", "Coverage");
      await page.$$eval("#coverage-gaps details.same-as", (all) => all.forEach((d) => (d.open = true)));
      const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
      const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
      assert.deepEqual(serious, [], `Coverage with the merge controls open at ${width} px`);
    } finally {
      await close();
    }
  }
});
