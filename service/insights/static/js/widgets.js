// Pieces shared by the tabs: headline cards with their change, tier cells, headings.

import { h } from "./dom.js";
import * as fmt from "./format.js";

/**
 * Headline numbers: `items` are {key, label, value, format, kind, change};
 * each value carries its exact number in data-value, its change in data-change.
 */
export function metricCards(items) {
  return h(
    "dl",
    { className: "cards" },
    items.map((item) =>
      h(
        "div",
        { className: "card", dataset: { field: item.key } },
        h("dt", {}, item.label),
        h("dd", { className: "value", dataset: { value: fmt.exact(item.value) } }, item.format(item.value)),
        item.change === undefined
          ? null
          : h(
              "dd",
              {
                className: `change ${direction(item.change)}`,
                dataset: { change: fmt.exact(item.change && item.change.absolute) },
              },
              item.change ? `${fmt.change(item.change, item.kind)} vs previous period` : "no comparison",
            ),
      ),
    ),
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

export function tabHeading(title, tab, usesRange) {
  return h(
    "div",
    { className: "tab-head" },
    h("h2", {}, title),
    h(
      "p",
      { className: "window" },
      `${fmt.windowLabel(tab, usesRange)} · as of ${new Date(tab.asOf).toLocaleString("en-US")}`,
    ),
  );
}

export function section(title, ...children) {
  return h("section", { className: "block" }, h("h3", {}, title), ...children);
}
