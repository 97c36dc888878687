// Flow Quality tab: the flow table sorted and paged by the API, performers, flows needing attention.

import { h, table } from "./dom.js";
import * as fmt from "./format.js";
import { metricCards, section, tabHeading } from "./widgets.js";

export const operationName = "FlowQualityTab";
export const usesComparison = false;
export const PAGE_SIZE = 20;

// The columns the API can sort by (FlowSort), with the field each one shows.
const SORTABLE = { usageCount: "USAGE", successRate: "SUCCESS_RATE", qualityScore: "QUALITY" };
const REASONS = { LOW_SUCCESS_RATE: "Success rate below 50%", STALE: "Not matched for 30+ days" };

function columns() {
  return [
    { key: "name", label: "Flow", value: (r) => r.flow.name, exact: (r) => r.flow.id },
    { key: "category", label: "Domain", value: (r) => r.flow.category ?? fmt.NONE },
    { key: "usageCount", label: "Usage", value: (r) => fmt.count(r.usageCount), exact: (r) => fmt.exact(r.usageCount), numeric: true },
    { key: "successRate", label: "Success rate", value: (r) => fmt.percent(r.successRate), exact: (r) => fmt.exact(r.successRate), numeric: true },
    { key: "guidedRate", label: "Guided", value: (r) => fmt.percent(r.guidedRate), exact: (r) => fmt.exact(r.guidedRate), numeric: true },
    { key: "avgConfidence", label: "Avg confidence", value: (r) => fmt.decimal(r.avgConfidence), exact: (r) => fmt.exact(r.avgConfidence), numeric: true },
    { key: "recencyScore", label: "Recency", value: (r) => fmt.decimal(r.recencyScore), exact: (r) => fmt.exact(r.recencyScore), numeric: true },
    { key: "qualityScore", label: "Quality", value: (r) => fmt.decimal(r.qualityScore), exact: (r) => fmt.exact(r.qualityScore), numeric: true },
    { key: "needsAttention", label: "Needs attention", value: (r) => (r.needsAttention ? "Yes" : "No"), exact: (r) => String(r.needsAttention) },
  ];
}

/** Turns the sortable column headers into buttons that ask the API for that order. */
function sortableHeaders(tableElement, state, onChange) {
  for (const header of tableElement.querySelectorAll("thead th")) {
    const index = header.cellIndex;
    const key = columns()[index].key;
    const sort = SORTABLE[key];
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

function performers(caption, rows, id) {
  return table(
    caption,
    [
      { key: "name", label: "Flow", value: (r) => r.flow.name, exact: (r) => r.flow.id },
      { key: "usageCount", label: "Usage", value: (r) => fmt.count(r.usageCount), exact: (r) => fmt.exact(r.usageCount), numeric: true },
      { key: "successRate", label: "Success rate", value: (r) => fmt.percent(r.successRate), exact: (r) => fmt.exact(r.successRate), numeric: true },
      { key: "qualityScore", label: "Quality", value: (r) => fmt.decimal(r.qualityScore), exact: (r) => fmt.exact(r.qualityScore), numeric: true },
    ],
    rows,
    { id, className: "data" },
  );
}

export function render(data, { usesRange, flowQuality: state, onFlowQualityChange }) {
  const tab = data.flowQuality;
  const cards = metricCards([
    { key: "totalFlows", label: "Flows", value: tab.totalFlows, format: fmt.count },
    { key: "needsAttentionCount", label: "Need attention", value: tab.needsAttentionCount, format: fmt.count },
  ]);
  const flows = table(`Flows by ${state.sort.toLowerCase().replace("_", " ")}, ${state.direction === "ASC" ? "ascending" : "descending"}`, columns(), tab.flows, {
    id: "flow-table",
    className: "data",
  });
  sortableHeaders(flows, state, onFlowQualityChange);
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
  const attention = table(
    `Flows needing attention (${tab.needsAttention.length} of ${tab.needsAttentionCount} shown)`,
    [
      { key: "name", label: "Flow", value: (r) => r.flow.name, exact: (r) => r.flow.id },
      { key: "usageCount", label: "Usage", value: (r) => fmt.count(r.usageCount), exact: (r) => fmt.exact(r.usageCount), numeric: true },
      { key: "successRate", label: "Success rate", value: (r) => fmt.percent(r.successRate), exact: (r) => fmt.exact(r.successRate), numeric: true },
      { key: "lastMatchedAt", label: "Last matched", value: (r) => (r.flow.lastMatchedAt ? r.flow.lastMatchedAt.slice(0, 10) : "never") },
      { key: "attentionReasons", label: "Reasons", value: (r) => r.attentionReasons.map((reason) => REASONS[reason] || reason).join("; "), exact: (r) => r.attentionReasons.join(";") },
    ],
    tab.needsAttention,
    { id: "flow-attention", className: "data" },
  );
  return [
    tabHeading("Flow Quality", tab, usesRange),
    cards,
    section("All flows", h("div", { className: "scroll" }, flows), pager),
    h(
      "div",
      { className: "row" },
      section("Top performers", performers("Top performers in the period", tab.topPerformers, "flow-top")),
      section("Bottom performers", performers("Bottom performers in the period", tab.bottomPerformers, "flow-bottom")),
    ),
    section("Flows needing attention", attention),
  ];
}
