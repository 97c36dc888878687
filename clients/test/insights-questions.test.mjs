// A team lead's four questions, each answered from the insights page's DOM in a real
// browser (Debian's Chromium through playwright-core), against the API's own answers:
//   (a) are we resolving more tickets than last month?
//   (b) which problem domains have no good flow coverage, and what to do?
//   (c) which flows need attention, and why?
//   (d) how much work reaches ConnectWise?
// and the page on a phone (390 px), a comparison with a window before the data, a refused
// token and a failed request, and axe-core's accessibility rules.
//
// Run by tests/clients/test_insights_page.py against a live server with the demo data in
// safelist mode, with the flow editor's link templates set: FLOWPILOT_BASE_URL,
// FLOWPILOT_TOKEN, FLOWPILOT_TODAY (the account's today), FLOWPILOT_FLOW_EDITOR_URL,
// FLOWPILOT_CREATE_FLOW_URL and FLOWPILOT_CHROMIUM (default /usr/bin/chromium).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

const base = process.env.FLOWPILOT_BASE_URL;
const token = process.env.FLOWPILOT_TOKEN;
const today = process.env.FLOWPILOT_TODAY;
const editorTemplate = process.env.FLOWPILOT_FLOW_EDITOR_URL;
const createTemplate = process.env.FLOWPILOT_CREATE_FLOW_URL;
const executablePath = process.env.FLOWPILOT_CHROMIUM || "/usr/bin/chromium";
assert.ok(base && token && today && editorTemplate && createTemplate, "FLOWPILOT_* environment is not set");
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf-8");

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

const exact = (value) => (value === null || value === undefined ? "null" : String(value));

function addDays(isoDay, days) {
  const day = new Date(`${isoDay}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
}

/** A page of `width` px with the token entered; `bypassCSP` only where axe is injected. */
async function openPage({ width = 1440, height = 900, bypassCSP = false } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, bypassCSP });
  const page = await context.newPage();
  const requests = [];
  const problems = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/graphql") && request.method() === "POST") requests.push(request.postDataJSON());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  await page.goto(`${base}/`);
  await page.fill("#token", token);
  await page.press("#token", "Enter");
  return { page, requests, problems, close: () => context.close() };
}

async function loaded(page, tab, variables) {
  await page.waitForFunction(
    ([id, expected]) => {
      const panel = document.getElementById(`panel-${id}`);
      if (!panel || panel.hasAttribute("aria-busy") || !panel.dataset.variables) return false;
      const sortKeys = (value) => JSON.stringify(value, Object.keys(value).sort());
      return sortKeys(JSON.parse(panel.dataset.variables)) === sortKeys(expected);
    },
    [tab, variables],
    { timeout: 15000 },
  );
}

const card = (page, tab, field, part) => page.$(`#panel-${tab} .card[data-field="${field}"] ${part}`);

test("(a) resolved this month against last month: the exact count, and its change read as better or worse", async () => {
  const { page, problems, close } = await openPage();
  try {
    await loaded(page, "overview", { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" });
    // Calendar presets are ranges of the account's days.
    const month = { from: `${today.slice(0, 8)}01`, to: today };
    const lastMonth = { from: `${addDays(month.from, -1).slice(0, 8)}01`, to: addDays(month.from, -1) };
    await page.selectOption("#period", "LAST_MONTH");
    await loaded(page, "overview", { range: lastMonth, compareTo: "PREVIOUS_PERIOD" });
    const answer = (await api("OverviewTab", { range: lastMonth, compareTo: "PREVIOUS_PERIOD" })).overview;
    const resolved = await card(page, "overview", "resolvedCount", ".value");
    assert.equal(await resolved.getAttribute("data-value"), exact(answer.resolvedCount));
    // Numbers in the browser's locale.
    assert.equal(await resolved.textContent(), await page.evaluate((n) => new Intl.NumberFormat().format(n), answer.resolvedCount));
    const change = await card(page, "overview", "resolvedCount", ".change");
    assert.equal(await change.getAttribute("data-change"), exact(answer.changes.resolvedCount.absolute));
    assert.equal(answer.previousWindow.shareBeforeData, 0, "last month's comparison lies within the demo data");
    const better = answer.changes.resolvedCount.absolute > 0;
    assert.equal(await change.getAttribute("data-verdict"), better ? "better" : "worse");
    assert.match(await change.textContent(), better ? /\(better\)/ : /\(worse\)/);
    // Escalations going up is worse; the colour follows the meaning, not the arrow.
    const escalated = await card(page, "overview", "escalatedCount", ".change");
    const rose = answer.changes.escalatedCount.absolute > 0;
    assert.equal(await escalated.getAttribute("data-verdict"), rose ? "worse" : "better");
    // The window and the one it is compared with are both named.
    assert.equal(await page.getAttribute("#panel-overview .window-days", "data-from"), lastMonth.from);
    assert.equal(await page.getAttribute("#panel-overview .comparison-note", "data-to"), addDays(lastMonth.from, -1));
    assert.match(await page.textContent("#panel-overview .window-days"), /^Last month: /);

    await page.selectOption("#period", "THIS_MONTH");
    await loaded(page, "overview", { range: month, compareTo: "PREVIOUS_PERIOD" });
    const quarterStart = `${today.slice(0, 5)}${String(Number(today.slice(5, 7)) - ((Number(today.slice(5, 7)) - 1) % 3)).padStart(2, "0")}-01`;
    await page.selectOption("#period", "THIS_QUARTER");
    await loaded(page, "overview", { range: { from: quarterStart, to: today }, compareTo: "PREVIOUS_PERIOD" });
    // Complete days end yesterday: no day in progress.
    await page.selectOption("#period", "COMPLETE_7_DAYS");
    await loaded(page, "overview", { range: { from: addDays(today, -7), to: addDays(today, -1) }, compareTo: "PREVIOUS_PERIOD" });
    assert.equal(await page.$("#panel-overview .partial-day"), null);
    assert.equal(await page.$('#overview-trend-table tr[data-partial="true"]'), null);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("(b) knowledge gaps say which tier is red and what to do, first on the Coverage tab", async () => {
  const { page, problems, close } = await openPage();
  try {
    await page.getByRole("tab", { name: "Coverage" }).click();
    await loaded(page, "coverage", { period: "LAST_30_DAYS" });
    const { knowledgeGaps } = (await api("CoverageTab", { period: "LAST_30_DAYS" })).coverage;
    assert.ok(knowledgeGaps.some((g) => g.flowCount === 0) && knowledgeGaps.some((g) => g.flowCount > 0));
    const rows = await page.$$eval("#coverage-gaps tbody tr", (trs) =>
      trs.map((tr) => ({
        name: tr.querySelector('[data-column="name"]').textContent,
        red: tr.querySelector('[data-column="red"]').dataset.value,
        action: tr.querySelector("[data-action]").dataset.action,
        text: tr.querySelector('[data-column="action"]').textContent,
        link: tr.querySelector('[data-column="action"] a')?.getAttribute("href") ?? null,
      })),
    );
    const expected = knowledgeGaps.map((g) => ({
      name: g.name,
      red: [
        ["FLOWS", g.flowCountTier],
        ["RESOLUTION", g.resolutionTier],
        ["ESCALATION", g.escalationTier],
        ["GUIDED", g.guidedTier],
      ]
        .filter(([, tier]) => tier === "CRITICAL")
        .map(([key]) => key)
        .join(";"),
      action: g.flowCount === 0 ? "CREATE" : "REVIEW",
      link: g.flowCount === 0 ? createTemplate.replace("{domain}", encodeURIComponent(g.name)) : null,
    }));
    assert.deepEqual(rows.map(({ text, ...rest }) => rest), expected);
    for (const row of rows) {
      assert.match(row.text, row.action === "CREATE" ? /^No flow yet: create one Create flow/ : /flows? exists? but fail: review/);
    }
    // The gaps come before the heatmap.
    const order = await page.$eval("#panel-coverage", (panel) =>
      [...panel.querySelectorAll("#coverage-gaps, #coverage-heatmap")].map((element) => element.id),
    );
    assert.deepEqual(order, ["coverage-gaps", "coverage-heatmap"]);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("(c) flows needing attention come first, with reasons telling drafts and never-used flows from stale ones", async () => {
  const { page, problems, close } = await openPage();
  try {
    const variables = { period: "LAST_30_DAYS", sort: "QUALITY", direction: "DESC", first: 20, offset: 0 };
    await page.getByRole("tab", { name: "Flow Quality" }).click();
    await loaded(page, "flow-quality", variables);
    const tab = (await api("FlowQualityTab", variables)).flowQuality;
    // Where the lead looks first: the attention list is above the flow table, in the first screen.
    const box = await (await page.$("#flow-attention")).boundingBox();
    assert.ok(box.y < 900, `the attention list starts at ${box.y} px`);
    assert.ok(box.y < (await (await page.$("#flow-table")).boundingBox()).y);

    const reasonKey = (row, reason) => {
      if (reason !== "STALE") return reason;
      if (row.flow.lastMatchedAt) return "STALE";
      return row.flow.status === "DRAFT" ? "DRAFT_NEVER_USED" : "NEVER_USED";
    };
    const expected = tab.needsAttention.map((row) => row.attentionReasons.map((reason) => reasonKey(row, reason)).join(";"));
    const shown = await page.$$eval("#flow-attention tbody tr", (trs) => trs.map((tr) => tr.dataset.reasons));
    assert.deepEqual(shown, expected);
    for (const key of ["DRAFT_NEVER_USED", "NEVER_USED", "STALE", "LOW_SUCCESS_RATE"]) {
      assert.ok(expected.some((reasons) => reasons.split(";").includes(key)), `the demo has a ${key} flow`);
    }
    const texts = await page.$$eval('#flow-attention tbody [data-column="attentionReasons"]', (cells) => cells.map((c) => c.textContent));
    expected.forEach((keys, index) => {
      if (keys === "DRAFT_NEVER_USED") assert.equal(texts[index], "Draft, never used: publish it or archive it");
      if (keys === "STALE") assert.match(texts[index], /^Not used for \d+ days/);
      assert.doesNotMatch(texts[index], /30\+ days/);
    });

    // The flow table: names open the editor, top 5 and bottom 5 marked, the badge, the sample marker.
    const rows = await page.$$eval("#flow-table tbody tr", (trs) =>
      trs.map((tr) => ({
        id: tr.querySelector('[data-column="name"]').dataset.value,
        href: tr.querySelector('[data-column="name"] a')?.getAttribute("href"),
        rank: tr.className,
        badge: tr.querySelector(".badge-attention") !== null,
        sample: tr.querySelector(".badge-sample") !== null,
        lastUsed: tr.querySelector('[data-column="lastMatchedAt"]').textContent,
        title: tr.querySelector(".score").getAttribute("title"),
      })),
    );
    const top = new Set(tab.topPerformers.map((r) => r.flow.id));
    const bottom = new Set(tab.bottomPerformers.map((r) => r.flow.id));
    assert.equal(tab.smallSampleUsage, 10);
    const expectedDays = await page.evaluate(
      ([instants, zone]) =>
        instants.map((instant) => {
          if (!instant) return "never";
          const local = new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(new Date(instant));
          return new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }).format(new Date(`${local}T00:00:00Z`));
        }),
      [tab.flows.map((r) => r.flow.lastMatchedAt), tab.timeZone],
    );
    assert.deepEqual(
      rows.map(({ title, ...rest }) => rest),
      tab.flows.map((r, index) => ({
        id: r.flow.id,
        href: editorTemplate.replace("{flowId}", r.flow.id),
        rank: top.has(r.flow.id) ? "rank-top" : bottom.has(r.flow.id) ? "rank-bottom" : "",
        badge: r.needsAttention,
        sample: r.usageCount > 0 && r.usageCount < tab.smallSampleUsage,
        lastUsed: expectedDays[index],
      })),
    );
    assert.ok(rows.filter((r) => r.rank === "rank-top").length === 5, "the first page by quality holds the top 5");
    for (const row of rows) assert.match(row.title, /^Quality [\d.,]+ = 0\.5 × success .* \+ 0\.3 × guided .* \+ 0\.2 × recency /);
    assert.ok(await page.$("#flow-score-parts table"), "the score's parts as a table");
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("(d) what reaches ConnectWise: named, with the population of each number, entries and hours apart", async () => {
  const { page, problems, close } = await openPage();
  try {
    const variables = { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" };
    await page.getByRole("tab", { name: "PSA" }).click();
    await loaded(page, "psa", variables);
    const psa = (await api("PsaTab", variables)).psaActivity;
    assert.match(await page.textContent("#panel-psa h2"), /ConnectWise/);
    const entries = await page.$eval('#panel-psa .card[data-field="totalTimeEntries"]', (c) => [c.querySelector("dt").textContent, c.querySelector(".value").dataset.value]);
    assert.deepEqual(entries, ["Time entries pushed to ConnectWisepushes recorded in the period", exact(psa.totalTimeEntries)]);
    const linked = await page.$eval('#panel-psa .card[data-field="linkedRate"] dt', (dt) => dt.textContent);
    assert.equal(linked, "Linked to a ConnectWise ticketof the period's sessions");
    assert.match(await page.textContent("#psa-populations"), /pushes to ConnectWise recorded in the period; the funnel .* sessions started in the period/);
    assert.equal(await page.textContent("#psa-funnel figcaption"), "Sessions of the period reaching ConnectWise");
    const funnel = psa.pushFunnel;
    assert.deepEqual(
      await page.$$eval('#psa-funnel-table tbody [data-column="sessions"]', (cells) => cells.map((c) => c.dataset.value)),
      [funnel.totalSessions, funnel.linkedToTicket, funnel.docPushed, funnel.timeEntryLogged].map(exact),
    );
    // Entries and hours: two charts, each with its own axis and its own table.
    assert.equal(await page.$$eval("#psa-entries svg.plot, #psa-hours svg.plot", (svgs) => svgs.length), 2);
    const topTicks = await page.$$eval("#psa-entries svg .grid text, #psa-hours svg .grid text", (texts) => texts.map((t) => t.textContent));
    assert.ok(topTicks.some((t) => t.endsWith(" h")) && topTicks.some((t) => /^\d+$/.test(t)), topTicks.join("|"));
    assert.deepEqual(
      await page.$$eval('#psa-hours-table tbody [data-column="hours"]', (cells) => cells.map((c) => c.dataset.value)),
      psa.dailyTrend.map((p) => exact(p.hours)),
    );
    // The tables behind the charts read like the charts: no raw floats, no "null".
    const hourTexts = await page.$$eval('#psa-hours-table tbody [data-column="hours"]', (cells) => cells.map((c) => c.textContent));
    for (const text of hourTexts) assert.match(text, /^[\d.,]+ h$/);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("on a 390 px phone: no sideways page scroll, every tab reachable, the heatmap and chart text readable", async () => {
  const { page, problems, close } = await openPage({ width: 390, height: 844 });
  try {
    const tabs = [
      ["overview", "Overview", { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" }],
      ["coverage", "Coverage", { period: "LAST_30_DAYS" }],
      ["flow-quality", "Flow Quality", { period: "LAST_30_DAYS", sort: "QUALITY", direction: "DESC", first: 20, offset: 0 }],
      ["psa", "PSA", { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" }],
    ];
    for (const [id, name, variables] of tabs) {
      const button = page.getByRole("tab", { name });
      const box = await button.boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= 390, `${name} tab at ${box.x}+${box.width}`);
      await button.click();
      await loaded(page, id, variables);
      const widths = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth, document.body.scrollWidth]);
      assert.ok(widths[0] <= 390 && widths[2] <= 390, `${name}: the page is ${widths.join("/")} px wide`);
      const smallest = await page.$$eval(`#panel-${id} svg.plot`, (svgs) =>
        Math.min(
          Infinity,
          ...svgs.flatMap((plot) => {
            const scale = plot.getBoundingClientRect().width / plot.viewBox.baseVal.width;
            return [...plot.querySelectorAll("text")].map((text) => parseFloat(getComputedStyle(text).fontSize) * scale);
          }),
        ),
      );
      assert.ok(smallest >= 11, `${name}: chart text of ${smallest.toFixed(1)} px`);
    }
    // The heatmap: every domain a card within the screen, every tier in words.
    await page.getByRole("tab", { name: "Coverage" }).click();
    const cells = await page.$$eval("#coverage-heatmap [data-tier]", (tiers) => tiers.map((t) => t.getBoundingClientRect().right));
    assert.ok(cells.length > 0 && Math.max(...cells) <= 390, `a tier cell ends at ${Math.max(...cells)} px`);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("a comparison with a window that starts before the data is marked, and not coloured", async () => {
  const { page, problems, close } = await openPage();
  try {
    await page.selectOption("#period", "LAST_90_DAYS");
    const variables = { period: "LAST_90_DAYS", compareTo: "PREVIOUS_PERIOD" };
    await loaded(page, "overview", variables);
    const answer = (await api("OverviewTab", variables)).overview;
    const share = answer.previousWindow.shareBeforeData;
    assert.ok(share > 0 && share < 1, `the demo's previous 90 days are partly before its data (${share})`);
    const note = await page.$("#panel-overview .comparison-note");
    assert.equal(await note.getAttribute("data-partial"), "true");
    assert.equal(await note.getAttribute("data-from"), answer.previousWindow.from);
    const before = Math.round(share * 90);
    assert.match(await note.textContent(), new RegExp(`partial comparison: ${before} of its 90 days are before your data starts`));
    const verdicts = await page.$$eval("#panel-overview .card .change", (changes) => changes.map((c) => c.dataset.verdict));
    assert.ok(verdicts.length === 8 && verdicts.every((v) => v === "unfair" || v === "neutral"), verdicts.join());
    // Today is still going on: the trend's last point and row say so.
    assert.equal(answer.lastDayInProgress, true);
    assert.equal(await page.getAttribute("#overview-trend svg.plot", "data-partial-last"), "true");
    assert.equal(await page.$$eval('#overview-trend-table tbody tr[data-partial="true"]', (rows) => rows.length), 1);
    assert.match(await page.textContent("#panel-overview .partial-day"), /today so far/);

    // Thirty days compare within the data: no marker, and the changes are read.
    await page.selectOption("#period", "LAST_30_DAYS");
    await loaded(page, "overview", { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" });
    assert.equal(await page.getAttribute("#panel-overview .comparison-note", "data-partial"), "false");
    assert.equal(await page.$("#panel-overview .partial-marker"), null);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("a refused token is dropped and a pasted one recovers; a failed request keeps the numbers and retries", async () => {
  const { page, close } = await openPage();
  try {
    await loaded(page, "overview", { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" });
    const sessions = await page.getAttribute('#panel-overview .card[data-field="sessionCount"] .value', "data-value");

    // A request that fails on the way: the numbers stay (dimmed), with Retry.
    await page.route("**/graphql", (route) => route.abort("connectionreset"));
    await page.selectOption("#period", "LAST_7_DAYS");
    await page.waitForSelector("#alert-retry");
    assert.match(await page.textContent("#alert-text"), /^The numbers could not be loaded: the API could not be reached/);
    assert.equal(await page.getAttribute("#panel-overview", "data-stale"), "true");
    assert.equal(await page.getAttribute('#panel-overview .card[data-field="sessionCount"] .value', "data-value"), sessions);
    await page.unroute("**/graphql");
    await page.click("#alert-retry");
    await loaded(page, "overview", { period: "LAST_7_DAYS", compareTo: "PREVIOUS_PERIOD" });
    assert.equal(await page.getAttribute("#panel-overview", "data-stale"), null);
    assert.equal(await page.isHidden("#alert"), true);

    // A token pasted wrong: refused, dropped (a reload does not send it), another one works.
    await page.click("#token-open");
    await page.fill("#token", "not-a-token");
    await page.press("#token", "Enter");
    await page.waitForSelector("#alert:not([hidden])");
    assert.match(await page.textContent("#alert"), /^Your token was not accepted.*Paste a new token/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("flowpilot.insights.token")), null);
    assert.equal(await page.$$eval("#panel-overview .card", (cards) => cards.length), 0);
    await page.reload();
    await page.waitForSelector("#alert:not([hidden])");
    assert.match(await page.textContent("#alert"), /Paste an API token/);
    await page.fill("#token", token);
    await page.press("#token", "Enter");
    await loaded(page, "overview", { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" });
    assert.equal(await page.isHidden("#alert"), true);
  } finally {
    await close();
  }
});

test("a first load shows where the numbers will be; a period without sessions says so", async () => {
  const { page, problems, close } = await openPage();
  try {
    await loaded(page, "overview", { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" });
    // Coverage's first answer is held back: until it comes, its panel shows the skeleton.
    const held = [];
    await page.route("**/graphql", (route) => held.push(route));
    await page.getByRole("tab", { name: "Coverage" }).click();
    await page.waitForFunction(() => document.querySelector("#panel-coverage .skeleton") !== null);
    while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const route of held) await route.continue();
    await page.unroute("**/graphql");
    await loaded(page, "coverage", { period: "LAST_30_DAYS" });
    assert.equal(await page.$("#panel-coverage .skeleton"), null);

    // Two hundred days back the demo has no data: the page says there were no sessions,
    // never that there are no gaps.
    const empty = { from: addDays(today, -210), to: addDays(today, -200) };
    await page.selectOption("#period", "RANGE");
    await page.fill("#range-from", empty.from);
    await page.fill("#range-to", empty.to);
    await page.click("#range-apply");
    await loaded(page, "coverage", { range: empty });
    assert.equal(await page.textContent("#coverage-gaps"), "No sessions in this period: no domain can be rated.");
    await page.getByRole("tab", { name: "Overview" }).click();
    await loaded(page, "overview", { range: empty, compareTo: "PREVIOUS_PERIOD" });
    assert.equal(await page.getAttribute('#panel-overview .card[data-field="sessionCount"] .value', "data-value"), "0");
    assert.equal(await page.textContent("#overview-trend-empty"), "No sessions in this period.");
    assert.equal(await page.textContent("#overview-domains"), "No sessions in this period.");
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("axe-core finds no serious or critical accessibility violation on any tab, at 1440 and 390 px", async () => {
  for (const width of [1440, 390]) {
    const { page, close } = await openPage({ width, height: 900, bypassCSP: true });
    try {
      await page.evaluate(axeSource);
      for (const [id, name] of [["overview", "Overview"], ["coverage", "Coverage"], ["flow-quality", "Flow Quality"], ["psa", "PSA"]]) {
        await page.getByRole("tab", { name }).click();
        await page.waitForSelector(`#panel-${id} .tab-head`);
        await page.waitForFunction((panel) => !document.getElementById(panel).hasAttribute("aria-busy"), `panel-${id}`);
        // Open the tables behind the charts, so they are checked too.
        await page.$$eval(`#panel-${id} details`, (all) => all.forEach((d) => (d.open = true)));
        const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
        const serious = result.violations
          .filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
        assert.deepEqual(serious, [], `${name} at ${width} px`);
      }
    } finally {
      await close();
    }
  }
});
