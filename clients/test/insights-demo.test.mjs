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
