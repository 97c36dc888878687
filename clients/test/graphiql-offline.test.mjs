// GraphiQL as a developer opens it, with no internet: Debian's Chromium (driven by
// playwright-core) may reach only the service's own origin. The page must load its
// scripts from the service, start without a CSP violation, and run the preloaded
// Overview tab against the live API.
//
// Run by tests/clients/test_graphiql_offline.py: FLOWPILOT_API_URL (the /graphql URL of a
// demo-mode server, so the tabs carry a token), FLOWPILOT_CHROMIUM (the browser).

import assert from "node:assert/strict";
import { test } from "node:test";

import { chromium } from "playwright-core";

const apiUrl = process.env.FLOWPILOT_API_URL;
const executablePath = process.env.FLOWPILOT_CHROMIUM;
assert.ok(apiUrl && executablePath, "FLOWPILOT_API_URL and FLOWPILOT_CHROMIUM must be set");

test("GraphiQL loads offline and runs the preloaded Overview tab", async (t) => {
  const origin = new URL(apiUrl).origin;
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  t.after(() => browser.close());
  const context = await browser.newContext({ serviceWorkers: "block" });
  const blocked = [];
  const problems = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    blocked.push(url);
    return route.abort("internetdisconnected");
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });

  const response = await page.goto(apiUrl, { waitUntil: "load" });
  assert.equal(response.status(), 200);
  assert.match(response.headers()["content-security-policy"], /script-src 'self'/);

  const run = page.locator(".graphiql-execute-button");
  await run.waitFor({ state: "visible", timeout: 30_000 });
  const tabs = await page.locator(".graphiql-tab").allInnerTexts();
  console.log(`tabs: ${tabs.map((text) => text.trim()).join(", ")}`);
  assert.ok(tabs.some((text) => text.includes("OverviewTab")), `tabs: ${tabs}`);

  await run.click();
  const result = page.locator(".graphiql-response .CodeMirror");
  await page.waitForFunction(
    () => document.querySelector(".graphiql-response .CodeMirror")?.CodeMirror?.getValue().includes('"sessionCount"'),
    null,
    { timeout: 30_000 },
  );
  const text = await result.evaluate((element) => element.CodeMirror.getValue());
  const body = JSON.parse(text);
  assert.equal(body.errors, undefined, text);
  assert.equal(typeof body.data.overview.sessionCount, "number");
  console.log(`result: overview.sessionCount = ${body.data.overview.sessionCount}`);

  assert.deepEqual(blocked, [], "the page asked for something outside the service");
  assert.deepEqual(problems, []);
});
