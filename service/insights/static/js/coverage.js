// Coverage tab: the domain heatmap (colours from the API's tiers), knowledge gaps, unmapped sessions.

import { h, table } from "./dom.js";
import * as fmt from "./format.js";
import { metricCards, section, tabHeading, tierClass, tierWord } from "./widgets.js";

export const operationName = "CoverageTab";
export const usesComparison = false;

/** A heatmap cell: the number, the tier in words, and the tier's colour. */
function tierCell(text, exactValue, tier) {
  return h(
    "span",
    { className: tierClass(tier), dataset: { tier: tier ?? "NONE", value: fmt.exact(exactValue) } },
    h("span", { className: "tier-value" }, text),
    h("span", { className: "tier-word" }, tierWord(tier)),
  );
}

export function render(data, { usesRange }) {
  const tab = data.coverage;
  const cards = metricCards([
    { key: "totalDomains", label: "Problem domains", value: tab.totalDomains, format: fmt.count },
    { key: "unmappedSessionCount", label: "Unmapped sessions", value: tab.unmappedSessionCount, format: fmt.count },
    { key: "knowledgeGaps", label: "Knowledge gaps", value: tab.knowledgeGaps.length, format: fmt.count },
  ]);
  const heatmap = table(
    "Domains × tiers: flows, resolution, escalation and guided rates, coloured by the API's tier",
    [
      { key: "name", label: "Domain", value: (d) => d.name },
      { key: "sessionCount", label: "Sessions", value: (d) => fmt.count(d.sessionCount), exact: (d) => fmt.exact(d.sessionCount), numeric: true },
      { key: "flowCount", label: "Flows", value: (d) => tierCell(fmt.count(d.flowCount), d.flowCount, d.flowCountTier) },
      { key: "resolution", label: "Resolution", value: (d) => tierCell(fmt.percent(d.resolutionRate), d.resolutionRate, d.resolutionTier) },
      { key: "escalation", label: "Escalation", value: (d) => tierCell(fmt.percent(d.escalationRate), d.escalationRate, d.escalationTier) },
      { key: "guided", label: "Guided", value: (d) => tierCell(fmt.percent(d.guidedRate), d.guidedRate, d.guidedTier) },
      { key: "avgResolutionMinutes", label: "Avg resolution", value: (d) => fmt.minutes(d.avgResolutionMinutes), exact: (d) => fmt.exact(d.avgResolutionMinutes), numeric: true },
      { key: "suggestCreateFlow", label: "Suggest a flow", value: (d) => (d.suggestCreateFlow ? "Yes" : "No"), exact: (d) => String(d.suggestCreateFlow) },
      {
        key: "flows",
        label: "Flows (preview)",
        value: (d) =>
          d.flows.length
            ? h("ul", { className: "inline" }, d.flows.map((f) => h("li", {}, `${f.flow.name} (${fmt.count(f.usageCount)})`)))
            : "none",
      },
    ],
    tab.domains,
    { id: "coverage-heatmap", className: "data heatmap" },
  );
  const legend = h(
    "p",
    { className: "tier-legend" },
    "Tiers as the API rates them: ",
    ["GOOD", "WARNING", "CRITICAL", null].map((tier) => h("span", { className: tierClass(tier) }, tierWord(tier))),
  );
  const gaps = tab.knowledgeGaps.length
    ? table(
        "Domains with a critical tier, where the API suggests creating a flow",
        [
          { key: "name", label: "Domain", value: (g) => g.name },
          { key: "sessionCount", label: "Sessions", value: (g) => fmt.count(g.sessionCount), exact: (g) => fmt.exact(g.sessionCount), numeric: true },
          { key: "flowCount", label: "Flows", value: (g) => fmt.count(g.flowCount), exact: (g) => fmt.exact(g.flowCount), numeric: true },
        ],
        tab.knowledgeGaps,
        { id: "coverage-gaps", className: "data" },
      )
    : h("p", { id: "coverage-gaps" }, "No knowledge gaps in this period.");
  return [
    tabHeading("Coverage", tab, usesRange),
    cards,
    section("Domain heatmap", legend, h("div", { className: "scroll" }, heatmap)),
    section("Knowledge gaps", gaps),
    section(
      "Unmapped sessions",
      h(
        "p",
        { id: "coverage-unmapped", dataset: { value: fmt.exact(tab.unmappedSessionCount) } },
        `${fmt.count(tab.unmappedSessionCount)} sessions in this period had no problem domain.`,
      ),
    ),
  ];
}
