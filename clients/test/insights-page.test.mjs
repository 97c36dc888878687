// The insights page in a real browser (Debian's Chromium through playwright-core): each tab
// shows the numbers the API returns for the demo account, the period picker and the
// comparison toggle change them, sorting and paging the flow table ask the API again, and
// a refused token says so. The server runs in safelist mode, so the page must send the
// first-party operations by hash.
//
// Run by tests/clients/test_insights_page.py against a live server with the demo data:
// FLOWPILOT_BASE_URL, FLOWPILOT_TOKEN, FLOWPILOT_EXPIRED_TOKEN, FLOWPILOT_TODAY (YYYY-MM-DD),
// and FLOWPILOT_CHROMIUM (default /usr/bin/chromium).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

const base = process.env.FLOWPILOT_BASE_URL;
const token = process.env.FLOWPILOT_TOKEN;
const expiredToken = process.env.FLOWPILOT_EXPIRED_TOKEN;
const today = process.env.FLOWPILOT_TODAY;
const executablePath = process.env.FLOWPILOT_CHROMIUM || "/usr/bin/chromium";
assert.ok(base && token && expiredToken && today, "FLOWPILOT_* environment is not set");

let browser;
let operations;

before(async () => {
  browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  operations = await (await fetch(`${base}/insights/operations.json`)).json();
});

after(async () => {
  await browser?.close();
});

/**
 * What the API answers for an operation, asked directly (by hash, as the page does). Counts
 * and rates must equal what the page shows; scores that decay with time (recency, quality)
 * are compared with the answer the page itself received.
 */
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

function daysBefore(isoDay, days) {
  const day = new Date(`${isoDay}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() - days);
  return day.toISOString().slice(0, 10);
}

const exact = (value) => (value === null || value === undefined ? "null" : String(value));
const percent = (value) => `${(value * 100).toFixed(1)}%`;

/** A page with the token entered in its token field; records every GraphQL request body. */
async function openPage(withToken = token) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const requests = [];
  const answers = [];
  const problems = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/graphql") && request.method() === "POST") requests.push(request.postDataJSON());
  });
  page.on("response", (response) => {
    const request = response.request();
    if (request.url().endsWith("/graphql") && request.method() === "POST") {
      answers.push({ sent: request.postDataJSON(), response }); // body read when asked
    }
  });
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  await page.goto(`${base}/`);
  // Outside the embedded demo the page holds no token: it asks for one at once.
  assert.equal(await page.$("meta[name=flowpilot-demo-authorization]"), null);
  assert.equal(await page.isVisible("#token-panel"), true);
  assert.match(await page.textContent("#alert"), /Paste an API token/);
  await page.fill("#token", withToken);
  await page.press("#token", "Enter");
  /** The data of the newest answer the page received for `operationName`. */
  const received = async (operationName) => {
    const answer = answers.filter((entry) => entry.sent.operationName === operationName).at(-1);
    assert.ok(answer, `the page sent no ${operationName}`);
    const body = await answer.response.json();
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data;
  };
  return { page, requests, received, problems, close: () => context.close() };
}

/** Waits until the tab's panel shows the answer for exactly `variables`. */
async function loaded(page, tab, variables) {
  await page.waitForFunction(
    ([id, expected]) => {
      const panel = document.getElementById(`panel-${id}`);
      if (!panel || panel.hasAttribute("aria-busy") || !panel.dataset.variables) return false;
      const shown = JSON.parse(panel.dataset.variables);
      const sortKeys = (value) => JSON.stringify(value, Object.keys(value).sort());
      return sortKeys(shown) === sortKeys(expected);
    },
    [tab, variables],
    { timeout: 15000 },
  );
}

async function cardValue(page, tab, field) {
  return page.getAttribute(`#panel-${tab} .card[data-field="${field}"] .value`, "data-value");
}

async function columnValues(page, tableSelector, column) {
  return page.$$eval(`${tableSelector} tbody [data-column="${column}"]`, (cells) =>
    cells.map((cell) => cell.dataset.value ?? cell.textContent),
  );
}

test("Overview shows the API's numbers, and the period picker and comparison change them", async () => {
  const { page, requests, problems, close } = await openPage();
  try {
    // The comparison is on at first: the headline numbers come with their change.
    const thirty = (await api("OverviewTab", { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" })).overview;
    await loaded(page, "overview", { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" });
    for (const field of ["sessionCount", "resolutionRate", "escalationRate", "guidedRate", "mttrMinutes", "avgRating"]) {
      assert.equal(await cardValue(page, "overview", field), exact(thirty[field]), field);
      assert.equal(
        await page.getAttribute(`#panel-overview .card[data-field="${field}"] .change`, "data-change"),
        exact(thirty.changes[field].absolute),
        field,
      );
    }
    const shownRate = await page.textContent('#panel-overview .card[data-field="resolutionRate"] .value');
    assert.equal(shownRate, percent(thirty.resolutionRate));
    assert.deepEqual(await columnValues(page, "#overview-trend-table", "date"), thirty.dailyTrend.map((p) => p.date));
    assert.deepEqual(await columnValues(page, "#overview-trend-table", "sessions"), thirty.dailyTrend.map((p) => exact(p.sessions)));
    assert.deepEqual(await columnValues(page, "#overview-trend-table", "mttrMinutes"), thirty.dailyTrend.map((p) => exact(p.mttrMinutes)));
    assert.deepEqual(
      await columnValues(page, "#overview-tiers-table", "sessions"),
      ["guided", "exploring", "discovery", "unknown"].map((key) => exact(thirty.confidenceTiers[key])),
    );
    assert.deepEqual(await columnValues(page, "#overview-domains", "name"), thirty.domains.map((d) => d.name));
    assert.deepEqual(await columnValues(page, "#overview-domains", "resolutionRate"), thirty.domains.map((d) => exact(d.resolutionRate)));

    // Every chart is an image with a text alternative, and its numbers are a table.
    for (const figure of await page.$$("#panel-overview figure.chart")) {
      const label = await figure.$eval("svg", (svg) => [svg.getAttribute("role"), svg.getAttribute("aria-label")]);
      assert.equal(label[0], "img");
      assert.ok(label[1].length > 20, label[1]);
      assert.ok(await figure.$("details table"), "a chart without its numbers");
    }

    await page.selectOption("#period", "LAST_7_DAYS");
    await loaded(page, "overview", { period: "LAST_7_DAYS", compareTo: "PREVIOUS_PERIOD" });
    const seven = (await api("OverviewTab", { period: "LAST_7_DAYS", compareTo: "PREVIOUS_PERIOD" })).overview;
    assert.notEqual(seven.sessionCount, thirty.sessionCount);
    assert.equal(await cardValue(page, "overview", "sessionCount"), exact(seven.sessionCount));
    assert.equal(
      await page.getAttribute('#panel-overview .card[data-field="sessionCount"] .change', "data-change"),
      exact(seven.changes.sessionCount.absolute),
    );
    assert.equal(await page.$$eval("#overview-trend-table tbody tr", (rows) => rows.length), 7);

    await page.uncheck("#compare");
    await loaded(page, "overview", { period: "LAST_7_DAYS" });
    assert.equal(await cardValue(page, "overview", "sessionCount"), exact(seven.sessionCount));
    assert.equal(await page.$$eval("#panel-overview .card .change", (changes) => changes.length), 0);
    await page.check("#compare");
    await loaded(page, "overview", { period: "LAST_7_DAYS", compareTo: "PREVIOUS_PERIOD" });

    const range = { from: daysBefore(today, 20), to: daysBefore(today, 6) };
    await page.selectOption("#period", "RANGE");
    await page.fill("#range-from", range.from);
    await page.fill("#range-to", range.to);
    await page.click("#range-apply");
    await loaded(page, "overview", { range, compareTo: "PREVIOUS_PERIOD" });
    const ranged = (await api("OverviewTab", { range, compareTo: "PREVIOUS_PERIOD" })).overview;
    assert.equal(await cardValue(page, "overview", "sessionCount"), exact(ranged.sessionCount));
    assert.equal(await page.$$eval("#overview-trend-table tbody tr", (rows) => rows.length), 15);

    // Safelist mode: every request named a first-party hash and sent no document.
    assert.ok(requests.length >= 4);
    for (const body of requests) {
      assert.equal(body.query, undefined);
      assert.equal(body.extensions.persistedQuery.sha256Hash, operations[body.operationName].sha256Hash);
    }
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("Coverage colours the heatmap by the API's tiers and lists gaps and unmapped sessions", async () => {
  const { page, requests, problems, close } = await openPage();
  try {
    await page.getByRole("tab", { name: "Coverage" }).click();
    await loaded(page, "coverage", { period: "LAST_30_DAYS" });
    const coverage = (await api("CoverageTab", { period: "LAST_30_DAYS" })).coverage;
    assert.deepEqual(await columnValues(page, "#coverage-heatmap", "name"), coverage.domains.map((d) => d.name));
    const tiers = await page.$$eval("#coverage-heatmap tbody tr", (rows) =>
      rows.map((row) => [...row.querySelectorAll("[data-tier]")].map((cell) => [cell.dataset.tier, cell.dataset.value, cell.className])),
    );
    const fromApi = coverage.domains.map((d) => [
      [d.flowCountTier, d.flowCount],
      [d.resolutionTier, d.resolutionRate],
      [d.escalationTier, d.escalationRate],
      [d.guidedTier, d.guidedRate],
    ]);
    tiers.forEach((cells, row) =>
      cells.forEach(([tier, value, className], column) => {
        const [expectedTier, expectedValue] = fromApi[row][column];
        assert.equal(tier, expectedTier ?? "NONE");
        assert.equal(value, exact(expectedValue));
        assert.ok(className.includes(`tier-${(expectedTier ?? "none").toLowerCase()}`), className);
      }),
    );
    assert.ok(tiers.flat().some(([tier]) => tier === "CRITICAL") && tiers.flat().some(([tier]) => tier === "GOOD"));
    assert.deepEqual(await columnValues(page, "#coverage-gaps", "name"), coverage.knowledgeGaps.map((g) => g.name));
    assert.equal(await page.getAttribute("#coverage-unmapped", "data-value"), exact(coverage.unmappedSessionCount));

    // A range the API would refuse (more than 366 days) is not sent: the picker says why,
    // and the numbers shown stay those of the window they belong to.
    const sentBefore = requests.length;
    await page.selectOption("#period", "RANGE");
    assert.equal(await page.getAttribute("#range-to", "max"), today);
    await page.fill("#range-from", daysBefore(today, 400));
    await page.fill("#range-to", today);
    await page.click("#range-apply");
    await page.waitForSelector("#alert:not([hidden])");
    assert.equal(await page.textContent("#alert-text"), "Choose at most 366 days, none after today.");
    assert.equal(requests.length, sentBefore);
    assert.equal(await page.getAttribute("#panel-coverage", "data-variables"), JSON.stringify({ period: "LAST_30_DAYS" }));
    await page.selectOption("#period", "LAST_90_DAYS");
    await loaded(page, "coverage", { period: "LAST_90_DAYS" });
    assert.equal(await page.isHidden("#alert"), true);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("Flow Quality sorts and pages through the API, with performers and reasons", async () => {
  const { page, requests, received, problems, close } = await openPage();
  const byId = (rows) => rows.map((r) => [r.flow.id, r.usageCount, r.successRate]).sort();
  try {
    const variables = { period: "LAST_30_DAYS", sort: "QUALITY", direction: "DESC", first: 20, offset: 0 };
    await page.getByRole("tab", { name: "Flow Quality" }).click();
    await loaded(page, "flow-quality", variables);
    const quality = (await received("FlowQualityTab")).flowQuality;
    const direct = (await api("FlowQualityTab", variables)).flowQuality;
    assert.deepEqual(byId(quality.flows), byId(direct.flows));
    assert.equal(quality.flows.length, 20);
    assert.deepEqual(await columnValues(page, "#flow-table", "name"), quality.flows.map((r) => r.flow.id));
    assert.deepEqual(await columnValues(page, "#flow-table", "qualityScore"), quality.flows.map((r) => exact(r.qualityScore)));
    assert.deepEqual(await columnValues(page, "#flow-table", "successRate"), quality.flows.map((r) => exact(r.successRate)));
    assert.deepEqual(await columnValues(page, "#flow-top", "name"), quality.topPerformers.map((r) => r.flow.id));
    assert.deepEqual(await columnValues(page, "#flow-bottom", "name"), quality.bottomPerformers.map((r) => r.flow.id));
    assert.deepEqual(
      await columnValues(page, "#flow-attention", "attentionReasons"),
      quality.needsAttention.map((r) => r.attentionReasons.join(";")),
    );
    assert.equal(await cardValue(page, "flow-quality", "needsAttentionCount"), exact(direct.needsAttentionCount));

    const before = requests.length;
    await page.click('#flow-table button[data-sort="USAGE"]');
    const byUsage = { ...variables, sort: "USAGE" };
    await loaded(page, "flow-quality", byUsage);
    assert.deepEqual(requests.slice(before).map((body) => body.variables), [byUsage]);
    const usage = (await api("FlowQualityTab", byUsage)).flowQuality;
    assert.deepEqual(await columnValues(page, "#flow-table", "usageCount"), usage.flows.map((r) => exact(r.usageCount)));
    assert.deepEqual(await columnValues(page, "#flow-table", "name"), (await received("FlowQualityTab")).flowQuality.flows.map((r) => r.flow.id));
    assert.equal(await page.getAttribute('#flow-table th:has(button[data-sort="USAGE"])', "aria-sort"), "descending");

    await page.click('#flow-table button[data-sort="USAGE"]');
    const ascending = { ...byUsage, direction: "ASC" };
    await loaded(page, "flow-quality", ascending);
    const usageAsc = (await api("FlowQualityTab", ascending)).flowQuality;
    assert.deepEqual(await columnValues(page, "#flow-table", "usageCount"), usageAsc.flows.map((r) => exact(r.usageCount)));
    assert.equal(await page.getAttribute('#flow-table th:has(button[data-sort="USAGE"])', "aria-sort"), "ascending");

    assert.ok(usageAsc.totalFlows > 20, "the demo has more than one page of flows");
    await page.click("#flow-next");
    const second = { ...ascending, offset: 20 };
    await loaded(page, "flow-quality", second);
    const page2 = (await received("FlowQualityTab")).flowQuality;
    assert.deepEqual(await columnValues(page, "#flow-table", "name"), page2.flows.map((r) => r.flow.id));
    assert.deepEqual(byId(page2.flows), byId((await api("FlowQualityTab", second)).flowQuality.flows));
    assert.equal(await page.textContent("#flow-range"), `Flows 21–${20 + page2.flows.length} of ${page2.totalFlows}`);

    // The comparison does not change this tab's document: no new request, the page stays.
    const sentBefore = requests.length;
    await page.uncheck("#compare");
    await page.getByRole("tab", { name: "Overview" }).click();
    await loaded(page, "overview", { period: "LAST_30_DAYS" });
    assert.deepEqual(requests.slice(sentBefore).map((body) => body.operationName), ["OverviewTab"]);
    assert.equal(await page.getAttribute("#panel-flow-quality", "data-variables"), JSON.stringify(second));
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("PSA shows entries, hours, the funnel and the daily trend, compared when asked", async () => {
  const { page, problems, close } = await openPage();
  try {
    await page.getByRole("tab", { name: "PSA" }).click();
    const variables = { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" };
    await loaded(page, "psa", variables);
    const psa = (await api("PsaTab", variables)).psaActivity;
    for (const field of ["totalTimeEntries", "totalHoursLogged", "avgHoursPerSession"]) {
      assert.equal(await cardValue(page, "psa", field), exact(psa[field]), field);
      assert.equal(
        await page.getAttribute(`#panel-psa .card[data-field="${field}"] .change`, "data-change"),
        exact(psa.changes[field].absolute),
      );
    }
    const funnel = psa.pushFunnel;
    assert.deepEqual(
      await columnValues(page, "#psa-funnel-table", "sessions"),
      [funnel.totalSessions, funnel.linkedToTicket, funnel.docPushed, funnel.timeEntryLogged].map(exact),
    );
    assert.deepEqual(
      await columnValues(page, "#psa-funnel-table", "rate"),
      [null, funnel.linkedRate, funnel.docPushedRate, funnel.timeEntryRate].map(exact),
    );
    assert.deepEqual(await columnValues(page, "#psa-hours-table", "hours"), psa.dailyTrend.map((p) => exact(p.hours)));
    assert.deepEqual(await columnValues(page, "#psa-trend-table", "entries"), psa.dailyTrend.map((p) => exact(p.entries)));

    await page.selectOption("#period", "LAST_90_DAYS");
    await loaded(page, "psa", { period: "LAST_90_DAYS", compareTo: "PREVIOUS_PERIOD" });
    const ninety = (await api("PsaTab", { period: "LAST_90_DAYS", compareTo: "PREVIOUS_PERIOD" })).psaActivity;
    assert.notEqual(ninety.totalTimeEntries, psa.totalTimeEntries);
    assert.equal(await cardValue(page, "psa", "totalTimeEntries"), exact(ninety.totalTimeEntries));
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test("the tabs work from the keyboard", async () => {
  const { page, close } = await openPage();
  try {
    await loaded(page, "overview", { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" });
    await page.focus("#tab-overview");
    await page.keyboard.press("ArrowRight");
    assert.equal(await page.evaluate(() => document.activeElement.id), "tab-coverage");
    assert.equal(await page.getAttribute("#tab-coverage", "aria-selected"), "true");
    assert.equal(await page.$eval("#panel-coverage", (panel) => panel.hidden), false);
    assert.equal(await page.$eval("#panel-overview", (panel) => panel.hidden), true);
    await page.keyboard.press("End");
    assert.equal(await page.evaluate(() => document.activeElement.id), "tab-psa");
    await loaded(page, "psa", { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" });
  } finally {
    await close();
  }
});

test("an expired token shows a clear message and asks for a new one", async () => {
  const { page, close } = await openPage(expiredToken);
  try {
    await page.waitForSelector("#alert:not([hidden])");
    const message = await page.textContent("#alert");
    assert.match(message, /^Your token has expired\. Paste a new token/);
    assert.equal(await page.isVisible("#token-panel"), true);
    assert.equal(await page.evaluate(() => document.activeElement.id), "token");
    assert.equal(await page.$$eval("#panel-overview .card", (cards) => cards.length), 0);

    // A valid token then brings the numbers.
    await page.fill("#token", token);
    await page.press("#token", "Enter");
    await loaded(page, "overview", { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" });
    assert.equal(await page.isHidden("#alert"), true);
  } finally {
    await close();
  }
});
