// Overview tab: headline numbers with their change, the daily trend, confidence tiers, domains.

import { barChart, lineChart } from "./charts.js";
import { chartFigure, h, table } from "./dom.js";
import * as fmt from "./format.js";
import { metricCards, section, tabHeading } from "./widgets.js";

export const operationName = "OverviewTab";
export const usesComparison = true;

export function render(data, { usesRange }) {
  const tab = data.overview;
  const changes = tab.changes;
  const changeOf = (key) => (changes ? changes[key] : undefined);
  const cards = metricCards([
    { key: "sessionCount", label: "Sessions", value: tab.sessionCount, format: fmt.count, kind: "count", change: changeOf("sessionCount") },
    { key: "resolutionRate", label: "Resolution rate", value: tab.resolutionRate, format: fmt.percent, kind: "rate", change: changeOf("resolutionRate") },
    { key: "escalationRate", label: "Escalation rate", value: tab.escalationRate, format: fmt.percent, kind: "rate", change: changeOf("escalationRate") },
    { key: "guidedRate", label: "Guided rate", value: tab.guidedRate, format: fmt.percent, kind: "rate", change: changeOf("guidedRate") },
    { key: "mttrMinutes", label: "Mean time to resolution", value: tab.mttrMinutes, format: fmt.minutes, kind: "number", change: changeOf("mttrMinutes") },
    { key: "avgRating", label: "Average rating", value: tab.avgRating, format: fmt.rating, kind: "number", change: changeOf("avgRating") },
  ]);

  const trend = tab.dailyTrend;
  const busiest = trend.reduce((best, point) => (point.sessions > (best?.sessions ?? -1) ? point : best), null);
  const trendChart = lineChart({
    labels: trend.map((point) => point.date),
    series: [
      { name: "Sessions", values: trend.map((point) => point.sessions), className: "s1" },
      { name: "Resolved", values: trend.map((point) => point.resolved), className: "s2" },
      { name: "Escalated", values: trend.map((point) => point.escalated), className: "s3" },
    ],
    description:
      `Sessions, resolved and escalated per day from ${tab.from} to ${tab.to}` +
      (busiest ? `; busiest day ${busiest.date} with ${busiest.sessions} sessions.` : "."),
    format: (value) => fmt.count(value),
  });
  const trendTable = table(
    "Daily trend",
    [
      { key: "date", label: "Date", value: (p) => p.date, exact: (p) => p.date },
      { key: "sessions", label: "Sessions", value: (p) => fmt.exact(p.sessions), exact: (p) => fmt.exact(p.sessions), numeric: true },
      { key: "resolved", label: "Resolved", value: (p) => fmt.exact(p.resolved), exact: (p) => fmt.exact(p.resolved), numeric: true },
      { key: "escalated", label: "Escalated", value: (p) => fmt.exact(p.escalated), exact: (p) => fmt.exact(p.escalated), numeric: true },
      { key: "mttrMinutes", label: "MTTR (minutes)", value: (p) => fmt.exact(p.mttrMinutes), exact: (p) => fmt.exact(p.mttrMinutes), numeric: true },
    ],
    trend,
    { id: "overview-trend-table" },
  );

  const tiers = tab.confidenceTiers;
  const tierItems = [
    { key: "guided", label: "Guided (≥ 0.8)" },
    { key: "exploring", label: "Exploring (0.4–0.8)" },
    { key: "discovery", label: "Discovery (< 0.4)" },
    { key: "unknown", label: "No tier recorded" },
  ].map((tier) => ({ ...tier, value: tiers[tier.key], text: fmt.count(tiers[tier.key]) }));
  const tiersChart = barChart({
    items: tierItems,
    description: `Sessions per confidence tier: ${tierItems.map((t) => `${t.label} ${t.value}`).join(", ")}.`,
    className: "tiers",
  });
  const tiersTable = table(
    "Confidence tiers",
    [
      { key: "tier", label: "Tier", value: (t) => t.label },
      { key: "sessions", label: "Sessions", value: (t) => fmt.exact(t.value), exact: (t) => fmt.exact(t.value), numeric: true },
    ],
    tierItems,
    { id: "overview-tiers-table" },
  );

  const domains = table(
    "Sessions and rates per problem domain",
    [
      { key: "name", label: "Domain", value: (d) => d.name },
      { key: "sessionCount", label: "Sessions", value: (d) => fmt.count(d.sessionCount), exact: (d) => fmt.exact(d.sessionCount), numeric: true },
      { key: "resolutionRate", label: "Resolution", value: (d) => fmt.percent(d.resolutionRate), exact: (d) => fmt.exact(d.resolutionRate), numeric: true },
      { key: "escalationRate", label: "Escalation", value: (d) => fmt.percent(d.escalationRate), exact: (d) => fmt.exact(d.escalationRate), numeric: true },
      { key: "guidedRate", label: "Guided", value: (d) => fmt.percent(d.guidedRate), exact: (d) => fmt.exact(d.guidedRate), numeric: true },
      { key: "avgResolutionMinutes", label: "Avg resolution", value: (d) => fmt.minutes(d.avgResolutionMinutes), exact: (d) => fmt.exact(d.avgResolutionMinutes), numeric: true },
    ],
    tab.domains,
    { id: "overview-domains", className: "data" },
  );

  return [
    tabHeading("Overview", tab, usesRange),
    cards,
    h(
      "div",
      { className: "row" },
      chartFigure("Daily trend", trendChart, trendTable, "overview-trend"),
      chartFigure("Confidence tiers", tiersChart, tiersTable, "overview-tiers"),
    ),
    section("Domain breakdown", domains),
  ];
}
