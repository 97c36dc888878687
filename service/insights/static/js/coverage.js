// Coverage tab: the domain heatmap (domains × tiers), knowledge gaps with what is red and
// what to do about it, unmapped sessions.

import { domainKey, mergedList, sameAsControl } from "./aliases.js";
import { h, table } from "./dom.js";
import { sessions } from "./evidence.js";
import * as fmt from "./format.js";
import { createFlowUrl } from "./links.js";
import { countValue, metricCards, noSessions, section, tabHeading, tierClass, tierWord } from "./widgets.js";

export const operationName = "CoverageTab";
export const usesComparison = false;

const UNMAPPED = sessions("Sessions without a problem domain", { unmapped: true });
const domainCount = (d) => countValue(fmt.count(d.sessionCount), "sessionCount", sessions(`Sessions in ${d.name}`, { domain: d.name }), d.sessionCount);
const flowUsage = (f) => countValue(fmt.count(f.usageCount), "usageCount", sessions(`Sessions matched to the flow ${f.flow.name}`, { flowId: f.flow.id }), f.usageCount);

/** A heatmap cell: the number, the tier in words, and the tier's colour. */
function tierCell(text, exactValue, tier) {
  return h(
    "span",
    { className: tierClass(tier), dataset: { tier: tier ?? "NONE", value: fmt.exact(exactValue) } },
    h("span", { className: "tier-value" }, text),
    h("span", { className: "tier-word" }, tierWord(tier)),
  );
}

/** The red tiers of a gap, in words: which measure failed, and by how much. */
function redTiers(gap) {
  const red = [];
  if (gap.flowCountTier === "CRITICAL") red.push({ key: "FLOWS", text: "no flow covers it" });
  if (gap.resolutionTier === "CRITICAL") red.push({ key: "RESOLUTION", text: `resolution ${fmt.percent(gap.resolutionRate)} (below 50%)` });
  if (gap.escalationTier === "CRITICAL") red.push({ key: "ESCALATION", text: `escalation ${fmt.percent(gap.escalationRate)} (above 25%)` });
  if (gap.guidedTier === "CRITICAL") red.push({ key: "GUIDED", text: `guided ${fmt.percent(gap.guidedRate)} (below 30%)` });
  return red;
}

/** What to do about a gap: no flow yet (create one), or flows that fail (review them). */
function action(gap) {
  if (gap.flowCount === 0) {
    const url = createFlowUrl(gap.name);
    return h(
      "span",
      { className: "gap-action", dataset: { action: "CREATE" } },
      "No flow yet: create one",
      url ? [" ", h("a", { className: "button-link", href: url }, "Create flow", h("span", { className: "sr-only" }, ` for ${gap.name}`))] : null,
    );
  }
  return h(
    "span",
    { className: "gap-action", dataset: { action: "REVIEW" } },
    `${fmt.count(gap.flowCount)} ${gap.flowCount === 1 ? "flow exists" : "flows exist"} but fail: review ${gap.flowCount === 1 ? "it" : "them"} (Flow Quality tab)`,
  );
}

/**
 * `aliases` is main's {onMerge, onUndo} when the token may merge domains and the account's
 * aliases came with the tab (data.domainAliases, data.domainAliasSuggestions); else null.
 */
export function render(data, { label, aliases = null }) {
  const tab = data.coverage;
  const merging = aliases && data.domainAliasSuggestions ? aliases : null;
  const mergedInto = new Set((data.domainAliases || []).map((a) => a.targetKey));
  const sessions = tab.domains.reduce((sum, d) => sum + d.sessionCount, 0) + tab.unmappedSessionCount;
  const cards = metricCards([
    { key: "totalDomains", label: "Problem domains", value: tab.totalDomains, format: fmt.count },
    { key: "knowledgeGaps", label: "Knowledge gaps", value: tab.knowledgeGaps.length, format: fmt.count },
    { key: "unmappedSessionCount", label: "Sessions without a domain", value: tab.unmappedSessionCount, format: fmt.count, evidence: UNMAPPED },
  ]);
  const heatmap = table(
    "Domains × tiers: flows, resolution, escalation and guided rates, coloured by the API's tier",
    [
      { key: "name", label: "Domain", value: (d) => d.name },
      { key: "sessionCount", label: "Sessions", value: domainCount, exact: (d) => fmt.exact(d.sessionCount), numeric: true },
      { key: "flowCount", label: "Flows", value: (d) => tierCell(fmt.count(d.flowCount), d.flowCount, d.flowCountTier) },
      { key: "resolution", label: "Resolution", value: (d) => tierCell(fmt.percent(d.resolutionRate), d.resolutionRate, d.resolutionTier) },
      { key: "escalation", label: "Escalation", value: (d) => tierCell(fmt.percent(d.escalationRate), d.escalationRate, d.escalationTier) },
      { key: "guided", label: "Guided", value: (d) => tierCell(fmt.percent(d.guidedRate), d.guidedRate, d.guidedTier) },
      { key: "avgResolutionMinutes", label: "Avg resolution", value: (d) => fmt.minutes(d.avgResolutionMinutes), exact: (d) => fmt.exact(d.avgResolutionMinutes), numeric: true },
      {
        key: "flows",
        label: "Flows (preview)",
        value: (d) =>
          d.flows.length
            ? h("ul", { className: "inline" }, d.flows.map((f) => h("li", {}, `${f.flow.name} (`, flowUsage(f), ")")))
            : "none",
      },
    ],
    tab.domains,
    { id: "coverage-heatmap", className: "data heatmap cards-narrow" },
  );
  const legend = h(
    "p",
    { className: "tier-legend" },
    "Tiers as the API rates them: ",
    ["GOOD", "WARNING", "CRITICAL", null].map((tier) => h("span", { className: tierClass(tier) }, tierWord(tier))),
  );
  let gaps;
  if (sessions === 0) {
    gaps = h("p", { id: "coverage-gaps", className: "empty" }, "No sessions in this period: no domain can be rated.");
  } else if (tab.knowledgeGaps.length === 0) {
    gaps = h("p", { id: "coverage-gaps" }, `No knowledge gaps: every domain with sessions in this period has no red tier.`);
  } else {
    gaps = table(
      "Domains with a red (critical) tier: what is red, and what to do",
      [
        { key: "name", label: "Domain", value: (g) => g.name },
        { key: "sessionCount", label: "Sessions", value: domainCount, exact: (g) => fmt.exact(g.sessionCount), numeric: true },
        { key: "flowCount", label: "Flows", value: (g) => fmt.count(g.flowCount), exact: (g) => fmt.exact(g.flowCount), numeric: true },
        { key: "red", label: "Red tier", value: (g) => redTiers(g).map((r) => r.text).join("; "), exact: (g) => redTiers(g).map((r) => r.key).join(";") },
        { key: "action", label: "What to do", value: action },
        merging
          ? {
              key: "sameAs",
              label: "Merge",
              // A target of aliases cannot become one (aliases stay flat): no control.
              value: (g) =>
                mergedInto.has(domainKey(g.name))
                  ? h("span", { className: "muted merge-target" }, "Other spellings count as this domain")
                  : sameAsControl(g, {
                      suggestions: data.domainAliasSuggestions,
                      domains: tab.domains.map((d) => d.name),
                      onMerge: merging.onMerge,
                    }),
            }
          : null,
      ].filter(Boolean),
      tab.knowledgeGaps,
      { id: "coverage-gaps", className: "data gaps cards-narrow" },
    );
  }
  const heatmapBlock = tab.domains.length
    ? [legend, h("div", { className: "scroll" }, heatmap)]
    : [noSessions("coverage-heatmap")];
  return [
    tabHeading("Coverage", tab, label),
    cards,
    section(
      "Knowledge gaps",
      gaps,
      merging ? mergedList(data.domainAliases, tab.timeZone, merging.onUndo) : null,
    ),
    section("Domain heatmap", ...heatmapBlock),
    section(
      "Sessions without a problem domain",
      h(
        "p",
        { id: "coverage-unmapped", dataset: { value: fmt.exact(tab.unmappedSessionCount) } },
        countValue(fmt.count(tab.unmappedSessionCount), "unmappedSessionCount", UNMAPPED, tab.unmappedSessionCount),
        " sessions in this period had no problem domain.",
      ),
    ),
  ];
}
