// Pieces shared by the tabs: headline cards with their change, tier cells, headings,
// the comparison note and the loading skeleton.

import { h } from "./dom.js";
import * as fmt from "./format.js";
import { API_PERIODS, PRESETS } from "./periods.js";

/**
 * Whether a rise is good news for a metric: `up: "good"` (resolved, rates of success),
 * `up: "bad"` (escalations, time to resolve) or `up: null` (volume: neither).
 */
function verdict(metricChange, up, fair) {
  if (!metricChange || !metricChange.absolute || up === null) return "neutral";
  if (!fair) return "unfair";
  const rose = metricChange.absolute > 0;
  return rose === (up === "good") ? "better" : "worse";
}

const VERDICT_WORDS = {
  better: "better",
  worse: "worse",
  neutral: "neither better nor worse",
  unfair: "not comparable: the previous period is partly before your data",
};

/**
 * A count, marked with the field it counts. With `evidence` (evidence.sessions() or
 * evidence.pushes()) it is a button that opens the rows it counts; the page's one click
 * handler (main.js) reads the spec from data-evidence and the exact number from data-value.
 */
export function countValue(text, field, evidence = null, value = null) {
  if (!evidence) return h("span", { className: "count", dataset: { counts: field } }, text);
  return h(
    "button",
    {
      type: "button",
      className: "count",
      "aria-haspopup": "dialog",
      "aria-label": `${text}, ${evidence.title}: open the list`,
      dataset: { counts: field, evidence: JSON.stringify(evidence), value: fmt.exact(value) },
    },
    text,
  );
}

/**
 * Headline numbers: `items` are {key, label, note?, value, format, kind, change, up,
 * evidence?} (evidence: what the count opens, see countValue);
 * each value carries its exact number in data-value, its change in data-change and the
 * change's reading in data-verdict (words for screen readers, colour for the eye).
 */
export function metricCards(items, { fair = true } = {}) {
  return h(
    "dl",
    { className: "cards" },
    items.map((item) => {
      const reading = item.change ? verdict(item.change, item.up ?? null, fair) : "neutral";
      return h(
        "div",
        { className: "card", dataset: { field: item.key } },
        h("dt", {}, item.label, item.note ? h("span", { className: "card-note" }, item.note) : null),
        h(
          "dd",
          { className: "value", dataset: { value: fmt.exact(item.value) } },
          countValue(item.format(item.value), item.key, item.evidence, item.value),
        ),
        item.change === undefined
          ? null
          : h(
              "dd",
              {
                className: `change ${direction(item.change)} ${reading}`,
                dataset: { change: fmt.exact(item.change && item.change.absolute), verdict: reading },
              },
              item.change ? fmt.change(item.change, item.kind) : "no comparison",
              item.change ? h("span", { className: "sr-only" }, ` (${VERDICT_WORDS[reading]})`) : null,
              item.change ? " vs previous" : null,
            ),
      );
    }),
  );
}

function direction(metricChange) {
  if (!metricChange || !metricChange.absolute) return "flat";
  return metricChange.absolute > 0 ? "up" : "down";
}

const TIER_WORDS = { GOOD: "Good", WARNING: "Warning", CRITICAL: "Critical" };

/** The API's tier as a class and a word: colour is never the only signal. */
export function tierClass(tier) {
  return tier ? `tier tier-${tier.toLowerCase()}` : "tier tier-none";
}

export function tierWord(tier) {
  return tier ? TIER_WORDS[tier] || tier : "No sessions";
}

function windowName(tab, label) {
  const named = label && (API_PERIODS[label] || PRESETS[label]);
  return named ? `${named}: ${fmt.days(tab.from, tab.to)}` : fmt.days(tab.from, tab.to);
}

/** Whether the tab's change compares like with like (no previous day before the data). */
export function fairComparison(tab) {
  return !tab.previousWindow || tab.previousWindow.shareBeforeData === 0;
}

/**
 * The tab's title, its window (with today marked as still going on), the window it is
 * compared with (marked when part of it precedes the account's data) and "as of" in the
 * account's zone.
 */
export function tabHeading(title, tab, label) {
  const previous = tab.previousWindow;
  const partialDays = previous ? Math.round(previous.shareBeforeData * fmt.dayCount(previous.from, previous.to)) : 0;
  return h(
    "div",
    { className: "tab-head" },
    h("h2", {}, title),
    h(
      "p",
      { className: "window", id: "window-line" },
      h("span", { className: "window-days", dataset: { from: tab.from, to: tab.to } }, windowName(tab, label)),
      tab.lastDayInProgress ? h("span", { className: "partial-day" }, " (today so far)") : null,
      previous
        ? h(
            "span",
            {
              className: `comparison-note${partialDays ? " partial" : ""}`,
              dataset: { from: previous.from, to: previous.to, partial: String(partialDays > 0) },
            },
            ` · compared with ${fmt.days(previous.from, previous.to)}`,
            partialDays
              ? h(
                  "strong",
                  { className: "partial-marker" },
                  ` · partial comparison: ${partialDays} of its ${fmt.dayCount(previous.from, previous.to)} days are before your data starts (${fmt.day(tab.dataStartsOn)}); changes are not coloured`,
                )
              : null,
          )
        : null,
      h("span", { className: "as-of" }, ` · as of ${fmt.instant(tab.asOf, tab.timeZone)} (${tab.timeZone})`),
    ),
  );
}

export function section(title, ...children) {
  return h("section", { className: "block" }, h("h3", {}, title), ...children);
}

/** Grey blocks where the numbers will be, while a tab loads for the first time. */
export function skeleton() {
  return h(
    "div",
    { className: "skeleton", "aria-hidden": "true" },
    h("div", { className: "sk-line sk-title" }),
    h("div", { className: "sk-cards" }, [1, 2, 3, 4].map(() => h("div", { className: "sk-card" }))),
    h("div", { className: "sk-block" }),
  );
}

/** What a tab says instead of a chart or list when its period holds no session. */
export function noSessions(id) {
  return h("p", { className: "empty", id }, "No sessions in this period.");
}
