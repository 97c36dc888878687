// The insights page in the embedded demo: it carries the demo team admin's token, so the
// numbers come at once, without asking for a token.
//
// Run by tests/clients/test_insights_page.py against a live server in demo mode:
// FLOWPILOT_BASE_URL and FLOWPILOT_CHROMIUM (default /usr/bin/chromium).

import assert from "node:assert/strict";
import { test } from "node:test";

import { chromium } from "playwright-core";

const base = process.env.FLOWPILOT_BASE_URL;
const executablePath = process.env.FLOWPILOT_CHROMIUM || "/usr/bin/chromium";
assert.ok(base, "FLOWPILOT_BASE_URL is not set");

test("the demo page shows the numbers with the demo token, asking for none", async () => {
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    const sent = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/graphql")) sent.push(request.headers().authorization);
    });
    await page.goto(`${base}/`);
    await page.waitForSelector('#panel-overview .card[data-field="sessionCount"] .value');
    const demo = await page.getAttribute("meta[name=flowpilot-demo-authorization]", "content");
    assert.match(demo, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    assert.deepEqual(sent, [demo]);
    assert.equal(await page.isHidden("#token-panel"), true);
    assert.equal(await page.isHidden("#alert"), true);
    const sessions = await page.getAttribute('#panel-overview .card[data-field="sessionCount"] .value', "data-value");
    assert.ok(Number(sessions) > 0, sessions);
  } finally {
    await browser.close();
  }
});

test("in the demo a refused token is dropped, and a fresh demo token brings the numbers back", async () => {
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await page.goto(`${base}/`);
    await page.waitForSelector('#panel-overview .card[data-field="sessionCount"] .value');
    // A token pasted wrong is refused; the page drops it, so a reload does not send it again.
    await page.click("#token-open");
    await page.fill("#token", "not-a-token");
    await page.press("#token", "Enter");
    await page.waitForSelector("#alert:not([hidden])");
    assert.match(await page.textContent("#alert"), /^Your token was not accepted.*Get a fresh demo token, or paste a token/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("flowpilot.insights.token")), null);
    assert.equal(await page.$$eval("#panel-overview .card", (cards) => cards.length), 0);
    assert.equal(await page.isVisible("#demo-token"), true);

    // An expired demo token in the page (left open past its lifetime): the button asks the
    // server for a fresh one, which the page keeps for this tab.
    await page.evaluate(() => {
      sessionStorage.setItem("flowpilot.insights.token", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl");
    });
    await page.reload();
    await page.waitForSelector("#alert:not([hidden])");
    assert.equal(await page.isVisible("#demo-token"), true);
    await page.click("#demo-token");
    await page.waitForSelector('#panel-overview .card[data-field="sessionCount"] .value');
    assert.equal(await page.isHidden("#alert"), true);
    const kept = await page.evaluate(() => sessionStorage.getItem("flowpilot.insights.token"));
    assert.match(kept, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    assert.ok(Number(await page.getAttribute('#panel-overview .card[data-field="sessionCount"] .value', "data-value")) > 0);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
