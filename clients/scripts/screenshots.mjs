// Screenshots of the insights page's four tabs for the README, taken with the system
// Chromium (Debian's `chromium`) through playwright-core. Run by hand against a server
// with the demo data, e.g. the embedded demo of `python main.py serve`:
//
//   node scripts/screenshots.mjs [http://127.0.0.1:8000] [output folder]
//
// FLOWPILOT_TOKEN (optional) is entered in the page's token field; without it the page
// must carry the demo token (embedded demo). Writes overview.png, coverage.png,
// flow-quality.png and psa.png (1280×800) to docs/screenshots/ by default.

import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const base = (process.argv[2] || "http://127.0.0.1:8000").replace(/\/$/, "");
const here = fileURLToPath(new URL(".", import.meta.url));
const out = resolve(process.argv[3] || join(here, "..", "..", "docs", "screenshots"));
const executablePath = process.env.FLOWPILOT_CHROMIUM || "/usr/bin/chromium";
const TABS = [
  ["overview", "Overview"],
  ["coverage", "Coverage"],
  ["flow-quality", "Flow Quality"],
  ["psa", "PSA"],
];

mkdirSync(out, { recursive: true });
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${base}/`);
  if (process.env.FLOWPILOT_TOKEN) {
    if (await page.isHidden("#token-panel")) await page.click("#token-open");
    await page.fill("#token", process.env.FLOWPILOT_TOKEN);
    await page.press("#token", "Enter");
  }
  await page.check("#compare");
  for (const [id, label] of TABS) {
    await page.getByRole("tab", { name: label }).click();
    await page.waitForSelector(`#panel-${id} .tab-head`);
    await page.waitForFunction((panel) => !document.getElementById(panel).hasAttribute("aria-busy"), `panel-${id}`);
    const file = join(out, `${id}.png`);
    await page.screenshot({ path: file });
    console.log(file);
  }
} finally {
  await browser.close();
}
