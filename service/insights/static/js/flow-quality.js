// Flow Quality tab: the flows needing attention first (with reasons a lead can act on),
// then every flow sorted and paged by the API (last used, quality score with its parts,
// top 5 and bottom 5 marked, small samples marked), and the top and bottom performers.

import { h, table } from "./dom.js";
import { sessions } from "./evidence.js";
import * as fmt from "./format.js";
import { flowEditorUrl } from "./links.js";
import { countValue, metricCards, section, tabHeading } from "./widgets.js";

export const operationName = "FlowQualityTab";
export const usesComparison = false;
export const PAGE_SIZE = 20;

// The columns the API can sort by (FlowSort), with the field each one shows.
const SORTABLE = { usageCount: "USAGE", successRate: "SUCCESS_RATE", qualityScore: "QUALITY" };
const STALE_DAYS = 30;

/** The flow's name, a link into the product's flow editor when the page has its address. */
function flowName(row) {
  const url = flowEditorUrl(row.flow.id);
  const name = url ? h("a", { href: url, className: "flow-link" }, row.flow.name) : h("span", {}, row.flow.name);
  return [name, row.flow.status === "DRAFT" ? h("span", { className: "badge badge-draft" }, "Draft") : null];
}

/** Why a flow needs attention, in words that say what to do. */
export function reasons(row, asOf) {
  return row.attentionReasons.map((reason) => {
    if (reason === "LOW_SUCCESS_RATE") {
      return { key: "LOW_SUCCESS_RATE", text: `Success rate ${fmt.percent(row.successRate)} in the period (below 50%): review its steps` };
    }
    if (reason === "STALE" && !row.flow.lastMatchedAt) {
      return row.flow.status === "DRAFT"
        ? { key: "DRAFT_NEVER_USED", text: "Draft, never used: publish it or archive it" }
        : { key: "NEVER_USED", text: "Published but never matched to a session: check its domain and wording" };
    }
    if (reason === "STALE") {
      const days = fmt.daysBetween(row.flow.lastMatchedAt, asOf);
      return { key: "STALE", text: `Not used for ${fmt.count(days)} days (${STALE_DAYS} or more): still needed?` };
    }
    return { key: reason, text: reason };
  });
}

/** The quality score and its three parts, as the API's formula adds them up. */
function parts(row) {
  const success = 0.5 * (row.successRate ?? 0);
  const guided = 0.3 * (row.guidedRate ?? 0);
  const recency = 0.2 * (row.recencyScore ?? 0);
  return { success, guided, recency };
}

function scoreExplanation(row) {
  const p = parts(row);
  return (
    `Quality ${fmt.decimal(row.qualityScore)} = 0.5 × success ${fmt.percent(row.successRate)} (${fmt.decimal(p.success)})` +
    ` + 0.3 × guided ${fmt.percent(row.guidedRate)} (${fmt.decimal(p.guided)})` +
    ` + 0.2 × recency ${fmt.decimal(row.recencyScore)} (${fmt.decimal(p.recency)})`
  );
}

function scoreCell(row) {
  return h("span", { className: "score", title: scoreExplanation(row) }, fmt.decimal(row.qualityScore));
}

function lastUsed(row, zone) {
  return row.flow.lastMatchedAt ? fmt.day(fmt.localDate(row.flow.lastMatchedAt, zone)) : "never";
}

function usageCell(row, threshold) {
  const small = row.usageCount > 0 && row.usageCount < threshold;
  return [
    countValue(fmt.count(row.usageCount), "usageCount", sessions(`Sessions matched to the flow ${row.flow.name}`, { flowId: row.flow.id }), row.usageCount),
    small ? h("span", { className: "badge badge-sample", title: `Fewer than ${threshold} sessions: the rates rest on a small sample` }, "small sample") : null,
  ];
}

function attentionBadge(row) {
  return row.needsAttention ? h("span", { className: "badge badge-attention" }, "Needs attention") : h("span", { className: "muted" }, "—");
}

function columns(tab, ranks) {
  return [
    { key: "name", label: "Flow", value: flowName, exact: (r) => r.flow.id },
    { key: "rank", label: "Rank", value: (r) => (ranks.top.has(r.flow.id) ? h("span", { className: "badge badge-top" }, "Top 5") : ranks.bottom.has(r.flow.id) ? h("span", { className: "badge badge-bottom" }, "Bottom 5") : ""), rowHeader: false },
    { key: "usageCount", label: "Usage", value: (r) => usageCell(r, tab.smallSampleUsage), exact: (r) => fmt.exact(r.usageCount), numeric: true },
    { key: "successRate", label: "Success rate", value: (r) => fmt.percent(r.successRate), exact: (r) => fmt.exact(r.successRate), numeric: true },
    { key: "lastMatchedAt", label: "Last used", value: (r) => lastUsed(r, tab.timeZone), exact: (r) => fmt.exact(r.flow.lastMatchedAt) },
    { key: "avgConfidence", label: "Avg confidence", value: (r) => fmt.decimal(r.avgConfidence), exact: (r) => fmt.exact(r.avgConfidence), numeric: true },
    { key: "qualityScore", label: "Quality score", value: scoreCell, exact: (r) => fmt.exact(r.qualityScore), numeric: true },
    { key: "needsAttention", label: "Needs attention", value: attentionBadge, exact: (r) => String(r.needsAttention) },
  ];
}

/** Turns the sortable column headers into buttons that ask the API for that order. */
function sortableHeaders(tableElement, state, onChange, keys) {
  for (const header of tableElement.querySelectorAll("thead th")) {
    const sort = SORTABLE[keys[header.cellIndex]];
    if (!sort) continue;
    const active = state.sort === sort;
    const label = header.textContent;
    header.setAttribute("aria-sort", active ? (state.direction === "ASC" ? "ascending" : "descending") : "none");
    const arrow = active ? (state.direction === "ASC" ? " ▲" : " ▼") : "";
    header.replaceChildren(
      h(
        "button",
        {
          type: "button",
          className: "sort",
          dataset: { sort },
          onClick: () => {
            const direction = active && state.direction === "DESC" ? "ASC" : "DESC";
            onChange({ sort, direction, offset: 0 });
          },
        },
        label,
        h("span", { "aria-hidden": "true" }, arrow),
      ),
    );
  }
}

function performers(caption, rows, id, tab) {
  return table(
    caption,
    [
      { key: "name", label: "Flow", value: flowName, exact: (r) => r.flow.id },
      { key: "usageCount", label: "Usage", value: (r) => usageCell(r, tab.smallSampleUsage), exact: (r) => fmt.exact(r.usageCount), numeric: true },
      { key: "successRate", label: "Success rate", value: (r) => fmt.percent(r.successRate), exact: (r) => fmt.exact(r.successRate), numeric: true },
      { key: "qualityScore", label: "Quality score", value: scoreCell, exact: (r) => fmt.exact(r.qualityScore), numeric: true },
    ],
    rows,
    { id, className: "data" },
  );
}

/** The score's parts for the rows shown, as a table (what the hover shows, for everyone). */
function scoreParts(rows) {
  return h(
    "details",
    { className: "numbers", id: "flow-score-parts" },
    h("summary", {}, "How each quality score is made (0.5 × success rate + 0.3 × guided rate + 0.2 × recency)"),
    table(
      "Quality score parts of the flows shown",
      [
        { key: "name", label: "Flow", value: (r) => r.flow.name, exact: (r) => r.flow.id },
        { key: "success", label: "0.5 × success rate", value: (r) => fmt.decimal(parts(r).success), numeric: true },
        { key: "guided", label: "0.3 × guided rate", value: (r) => fmt.decimal(parts(r).guided), numeric: true },
        { key: "recency", label: "0.2 × recency", value: (r) => fmt.decimal(parts(r).recency), exact: (r) => fmt.exact(r.recencyScore), numeric: true },
        { key: "qualityScore", label: "Quality score", value: (r) => fmt.decimal(r.qualityScore), exact: (r) => fmt.exact(r.qualityScore), numeric: true },
      ],
      rows,
      { className: "data" },
    ),
  );
}

export function render(data, { label, flowQuality: state, onFlowQualityChange }) {
  const tab = data.flowQuality;
  const cards = metricCards([
    { key: "needsAttentionCount", label: "Need attention", value: tab.needsAttentionCount, format: fmt.count },
    { key: "totalFlows", label: "Flows", value: tab.totalFlows, format: fmt.count },
  ]);
  const attention = tab.needsAttention.length
    ? table(
        `Flows needing attention, worst first (${tab.needsAttention.length} of ${tab.needsAttentionCount} shown)`,
        [
          { key: "name", label: "Flow", value: flowName, exact: (r) => r.flow.id },
          { key: "attentionReasons", label: "Why, and what to do", value: (r) => reasons(r, tab.asOf).map((x) => x.text).join("; "), exact: (r) => r.attentionReasons.join(";") },
          { key: "usageCount", label: "Usage", value: (r) => usageCell(r, tab.smallSampleUsage), exact: (r) => fmt.exact(r.usageCount), numeric: true },
          { key: "successRate", label: "Success rate", value: (r) => fmt.percent(r.successRate), exact: (r) => fmt.exact(r.successRate), numeric: true },
          { key: "lastMatchedAt", label: "Last used", value: (r) => lastUsed(r, tab.timeZone), exact: (r) => fmt.exact(r.flow.lastMatchedAt) },
        ],
        tab.needsAttention,
        { id: "flow-attention", className: "data cards-narrow" },
        (r) => ({ dataset: { reasons: reasons(r, tab.asOf).map((x) => x.key).join(";") } }),
      )
    : h("p", { id: "flow-attention" }, "No flow needs attention in this period.");

  const ranks = {
    top: new Set(tab.topPerformers.map((r) => r.flow.id)),
    bottom: new Set(tab.bottomPerformers.map((r) => r.flow.id)),
  };
  const flowColumns = columns(tab, ranks);
  const flows = table(
    `Flows by ${state.sort.toLowerCase().replace("_", " ")}, ${state.direction === "ASC" ? "ascending" : "descending"}; top 5 and bottom 5 by quality marked`,
    flowColumns,
    tab.flows,
    { id: "flow-table", className: "data" },
    (r) => ({ className: ranks.top.has(r.flow.id) ? "rank-top" : ranks.bottom.has(r.flow.id) ? "rank-bottom" : null }),
  );
  sortableHeaders(flows, state, onFlowQualityChange, flowColumns.map((c) => c.key));
  const first = tab.totalFlows === 0 ? 0 : state.offset + 1;
  const last = state.offset + tab.flows.length;
  const pager = h(
    "nav",
    { className: "pager", "aria-label": "Flow table pages" },
    h(
      "button",
      { type: "button", id: "flow-prev", disabled: state.offset === 0, onClick: () => onFlowQualityChange({ offset: Math.max(0, state.offset - PAGE_SIZE) }) },
      "Previous",
    ),
    h("span", { id: "flow-range" }, `Flows ${first}–${last} of ${tab.totalFlows}`),
    h(
      "button",
      { type: "button", id: "flow-next", disabled: last >= tab.totalFlows, onClick: () => onFlowQualityChange({ offset: state.offset + PAGE_SIZE }) },
      "Next",
    ),
  );
  return [
    tabHeading("Flow Quality", tab, label),
    cards,
    section("Flows needing attention", h("div", { className: "scroll" }, attention)),
    section(
      "All flows",
      h("p", { className: "note" }, `Small sample: fewer than ${fmt.count(tab.smallSampleUsage)} sessions in the period, so its rates say little. Last used: day in ${tab.timeZone}.`),
      h("p", { className: "scroll-hint", "aria-hidden": "true" }, "Swipe the table sideways for every column →"),
      h("div", { className: "scroll" }, flows),
      pager,
      scoreParts(tab.flows),
    ),
    h(
      "div",
      { className: "row" },
      section("Top performers", h("div", { className: "scroll" }, performers("Top 5 flows by quality score in the period", tab.topPerformers, "flow-top", tab))),
      section("Bottom performers", h("div", { className: "scroll" }, performers("Bottom 5 flows by quality score in the period", tab.bottomPerformers, "flow-bottom", tab))),
    ),
  ];
}
