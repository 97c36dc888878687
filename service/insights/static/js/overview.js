// Overview tab: headline numbers with their change, the daily trend, confidence tiers, domains.

import { barChart, lineChart } from "./charts.js";
import { chartFigure, h, table } from "./dom.js";
import { sessions } from "./evidence.js";
import * as fmt from "./format.js";
import { countValue, fairComparison, metricCards, noSessions, section, tabHeading } from "./widgets.js";

export const operationName = "OverviewTab";
export const usesComparison = true;

/** What a domain's session count opens (any spelling with the domain's key). */
export function domainSessions(name) {
  return sessions(`Sessions in ${name}`, { domain: name });
}

/** A trend point's count, opening the sessions started on that local day. */
function dayCount(point, key, title, outcome) {
  const filter = outcome ? { day: point.date, outcome } : { day: point.date };
  return countValue(fmt.count(point[key]), `dailyTrend.${key}`, sessions(`${title} on ${fmt.day(point.date)}`, filter), point[key]);
}

export function render(data, { label, chartWidth }) {
  const tab = data.overview;
  const changes = tab.changes;
  const changeOf = (key) => (changes ? changes[key] : undefined);
  const cards = metricCards(
    [
      { key: "sessionCount", label: "Sessions", value: tab.sessionCount, format: fmt.count, kind: "count", change: changeOf("sessionCount"), up: null, evidence: sessions("Sessions") },
      { key: "resolvedCount", label: "Resolved", value: tab.resolvedCount, format: fmt.count, kind: "count", change: changeOf("resolvedCount"), up: "good", evidence: sessions("Resolved sessions", { outcome: "RESOLVED" }) },
      { key: "escalatedCount", label: "Escalated", value: tab.escalatedCount, format: fmt.count, kind: "count", change: changeOf("escalatedCount"), up: "bad", evidence: sessions("Escalated sessions", { outcome: "ESCALATED" }) },
      { key: "resolutionRate", label: "Resolution rate", value: tab.resolutionRate, format: fmt.percent, kind: "rate", change: changeOf("resolutionRate"), up: "good" },
      { key: "escalationRate", label: "Escalation rate", value: tab.escalationRate, format: fmt.percent, kind: "rate", change: changeOf("escalationRate"), up: "bad" },
      { key: "guidedRate", label: "Guided rate", value: tab.guidedRate, format: fmt.percent, kind: "rate", change: changeOf("guidedRate"), up: "good" },
      { key: "mttrMinutes", label: "Mean time to resolution", value: tab.mttrMinutes, format: fmt.minutes, kind: "minutes", change: changeOf("mttrMinutes"), up: "bad" },
      { key: "avgRating", label: "Average rating", value: tab.avgRating, format: fmt.rating, kind: "number", change: changeOf("avgRating"), up: "good" },
    ],
    { fair: fairComparison(tab) },
  );

  const trend = tab.dailyTrend;
  const partialLast = tab.lastDayInProgress;
  const busiest = trend.reduce((best, point) => (point.sessions > (best?.sessions ?? -1) ? point : best), null);
  const trendChart = tab.sessionCount === 0
    ? noSessions("overview-trend-empty")
    : lineChart({
        labels: trend.map((point) => point.date),
        series: [
          { name: "Sessions", values: trend.map((point) => point.sessions), className: "s1" },
          { name: "Resolved", values: trend.map((point) => point.resolved), className: "s2" },
          { name: "Escalated", values: trend.map((point) => point.escalated), className: "s3" },
        ],
        description:
          `Sessions, resolved and escalated per day from ${fmt.day(tab.from)} to ${fmt.day(tab.to)}` +
          (partialLast ? " (the last day so far)" : "") +
          (busiest ? `; busiest day ${fmt.day(busiest.date)} with ${fmt.count(busiest.sessions)} sessions.` : "."),
        format: fmt.count,
        integer: true,
        width: chartWidth,
        partialLast,
      });
  const last = trend.length - 1;
  const trendTable = table(
    "Daily trend",
    [
      { key: "date", label: "Date", value: (p, i) => `${fmt.day(p.date)}${partialLast && i === last ? " (so far)" : ""}`, exact: (p) => p.date },
      { key: "sessions", label: "Sessions", value: (p) => dayCount(p, "sessions", "Sessions started", null), exact: (p) => fmt.exact(p.sessions), numeric: true },
      { key: "resolved", label: "Resolved", value: (p) => dayCount(p, "resolved", "Resolved sessions started", "RESOLVED"), exact: (p) => fmt.exact(p.resolved), numeric: true },
      { key: "escalated", label: "Escalated", value: (p) => dayCount(p, "escalated", "Escalated sessions started", "ESCALATED"), exact: (p) => fmt.exact(p.escalated), numeric: true },
      { key: "mttrMinutes", label: "Mean time to resolution", value: (p) => fmt.minutes(p.mttrMinutes), exact: (p) => fmt.exact(p.mttrMinutes), numeric: true },
    ],
    trend,
    { id: "overview-trend-table" },
    (p, i) => (partialLast && i === last ? { dataset: { partial: "true" } } : {}),
  );

  const tiers = tab.confidenceTiers;
  const tierItems = [
    { key: "guided", label: "Guided (≥ 0.8)", title: "Sessions in the guided tier (≥ 0.8)" },
    { key: "exploring", label: "Exploring (0.4–0.8)", title: "Sessions in the exploring tier (0.4–0.8)" },
    { key: "discovery", label: "Discovery (< 0.4)", title: "Sessions in the discovery tier (< 0.4)" },
    { key: "unknown", label: "No tier recorded", title: "Sessions with no confidence tier recorded" },
  ].map((tier) => ({ ...tier, value: tiers[tier.key], text: fmt.count(tiers[tier.key]) }));
  const tiersChart = tab.sessionCount === 0
    ? noSessions("overview-tiers-empty")
    : barChart({
        items: tierItems,
        description: `Sessions per confidence tier: ${tierItems.map((t) => `${t.label} ${t.text}`).join(", ")}.`,
        className: "tiers",
        width: chartWidth,
      });
  const tiersTable = table(
    "Confidence tiers",
    [
      { key: "tier", label: "Tier", value: (t) => t.label },
      { key: "sessions", label: "Sessions", value: (t) => countValue(t.text, "confidenceTiers", sessions(t.title, { tier: t.key.toUpperCase() }), t.value), exact: (t) => fmt.exact(t.value), numeric: true },
    ],
    tierItems,
    { id: "overview-tiers-table" },
  );

  const domains = tab.domains.length
    ? table(
        "Sessions and rates per problem domain",
        [
          { key: "name", label: "Domain", value: (d) => d.name },
          { key: "sessionCount", label: "Sessions", value: (d) => countValue(fmt.count(d.sessionCount), "sessionCount", domainSessions(d.name), d.sessionCount), exact: (d) => fmt.exact(d.sessionCount), numeric: true },
          { key: "resolutionRate", label: "Resolution", value: (d) => fmt.percent(d.resolutionRate), exact: (d) => fmt.exact(d.resolutionRate), numeric: true },
          { key: "escalationRate", label: "Escalation", value: (d) => fmt.percent(d.escalationRate), exact: (d) => fmt.exact(d.escalationRate), numeric: true },
          { key: "guidedRate", label: "Guided", value: (d) => fmt.percent(d.guidedRate), exact: (d) => fmt.exact(d.guidedRate), numeric: true },
          { key: "avgResolutionMinutes", label: "Avg resolution", value: (d) => fmt.minutes(d.avgResolutionMinutes), exact: (d) => fmt.exact(d.avgResolutionMinutes), numeric: true },
        ],
        tab.domains,
        { id: "overview-domains", className: "data cards-narrow" },
      )
    : noSessions("overview-domains");

  return [
    tabHeading("Overview", tab, label),
    cards,
    h(
      "div",
      { className: "row" },
      chartFigure("Daily trend", trendChart, trendTable, "overview-trend"),
      chartFigure("Confidence tiers", tiersChart, tiersTable, "overview-tiers"),
    ),
    section("Domain breakdown", h("div", { className: "scroll" }, domains)),
  ];
}
