// Screenshots of the insights page's four tabs for the docs, at 1440 px (a desk) and
// 390 px (a phone), taken with the system Chromium (Debian's `chromium`) through
// playwright-core. Run by hand against a server with the demo data, e.g. the embedded
// demo of `python main.py serve`:
//
//   node scripts/screenshots.mjs [http://127.0.0.1:8000] [output folder]
//
// FLOWPILOT_TOKEN (optional) is entered in the page's token field; without it the page
// must carry the demo token (embedded demo). Writes <tab>-1440.png (the first 1,100 px of
// the page) and <tab>-390.png (the whole page) to docs/screenshots/ by default, then
// evidence-<width>.png: the Overview's Resolved count opened, and merge-<width>.png: the
// "Same as …" control of the M365 knowledge gap (the screen only), and prints any error the
// page logged.

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
const SIZES = [
  { width: 1440, height: 1100, fullPage: false },
  { width: 390, height: 844, fullPage: true },
];

mkdirSync(out, { recursive: true });
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
try {
  for (const size of SIZES) {
    const page = await browser.newPage({ viewport: { width: size.width, height: size.height } });
    page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") console.error(`console: ${message.text()}`);
    });
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
      const file = join(out, `${id}-${size.width}.png`);
      await page.screenshot({ path: file, fullPage: size.fullPage });
      console.log(file);
    }
    await page.getByRole("tab", { name: "Overview" }).click();
    await page.click('#panel-overview .card[data-field="resolvedCount"] button.count');
    await page.waitForFunction(() => document.querySelectorAll("#evidence-list > li").length > 0 && !document.getElementById("evidence").hasAttribute("aria-busy"));
    const file = join(out, `evidence-${size.width}.png`);
    await page.screenshot({ path: file });
    console.log(file);
    await page.keyboard.press("Escape");
    // A team lead's "Same as …" on the M365 gap (the demo token is a team_admin's).
    await page.getByRole("tab", { name: "Coverage" }).click();
    const control = '#coverage-gaps details.same-as[data-domain="M365"]';
    await page.waitForSelector(control);
    await page.click(`${control} summary`);
    await page.$eval(control, (details) => details.closest("tr").scrollIntoView({ block: "center" }));
    const merge = join(out, `merge-${size.width}.png`);
    await page.screenshot({ path: merge });
    console.log(merge);
    await page.close();
  }
} finally {
  await browser.close();
}
