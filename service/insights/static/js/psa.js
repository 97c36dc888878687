// PSA tab: entries, hours, hours per session, the push funnel and the daily trend.

import { barChart, lineChart } from "./charts.js";
import { chartFigure, h, table } from "./dom.js";
import * as fmt from "./format.js";
import { metricCards, section, tabHeading } from "./widgets.js";

export const operationName = "PsaTab";
export const usesComparison = true;

const ACTIVITY = { TIME_ENTRY_POSTED: "Time entries posted", NOTE_POSTED: "Notes posted", STATUS_UPDATED: "Status updates" };

export function render(data, { usesRange }) {
  const tab = data.psaActivity;
  const changeOf = (key) => (tab.changes ? tab.changes[key] : undefined);
  const funnel = tab.pushFunnel;
  const cards = metricCards([
    { key: "totalTimeEntries", label: "Time entries", value: tab.totalTimeEntries, format: fmt.count, kind: "count", change: changeOf("totalTimeEntries") },
    { key: "totalHoursLogged", label: "Hours logged", value: tab.totalHoursLogged, format: fmt.hours, kind: "number", change: changeOf("totalHoursLogged") },
    { key: "avgHoursPerSession", label: "Hours per session", value: tab.avgHoursPerSession, format: fmt.hours, kind: "number", change: changeOf("avgHoursPerSession") },
    { key: "linkedRate", label: "Linked to a ticket", value: funnel.linkedRate, format: fmt.percent, kind: "rate", change: changeOf("linkedRate") },
    { key: "docPushedRate", label: "Documentation pushed (of linked)", value: funnel.docPushedRate, format: fmt.percent, kind: "rate", change: changeOf("docPushedRate") },
    { key: "timeEntryRate", label: "Time entry logged (of documented)", value: funnel.timeEntryRate, format: fmt.percent, kind: "rate", change: changeOf("timeEntryRate") },
  ]);

  const steps = [
    { key: "totalSessions", label: "Sessions", value: funnel.totalSessions, rate: null, of: null },
    { key: "linkedToTicket", label: "Linked to a ticket", value: funnel.linkedToTicket, rate: funnel.linkedRate, of: "sessions" },
    { key: "docPushed", label: "Documentation pushed", value: funnel.docPushed, rate: funnel.docPushedRate, of: "linked" },
    { key: "timeEntryLogged", label: "Time entry logged", value: funnel.timeEntryLogged, rate: funnel.timeEntryRate, of: "documented" },
  ].map((step) => ({
    ...step,
    text: step.of === null ? fmt.count(step.value) : `${fmt.count(step.value)} (${fmt.percent(step.rate)} of ${step.of})`,
  }));
  const funnelChart = barChart({
    items: steps,
    description: `Push funnel: ${steps.map((s) => `${s.label} ${s.text}`).join(", ")}.`,
    max: funnel.totalSessions,
    className: "funnel",
  });
  const funnelTable = table(
    "Push funnel",
    [
      { key: "step", label: "Step", value: (s) => s.label },
      { key: "sessions", label: "Sessions", value: (s) => fmt.exact(s.value), exact: (s) => fmt.exact(s.value), numeric: true },
      { key: "rate", label: "Rate of the step before", value: (s) => fmt.exact(s.rate), exact: (s) => fmt.exact(s.rate), numeric: true },
    ],
    steps,
    { id: "psa-funnel-table" },
  );

  const trend = tab.dailyTrend;
  const trendChart = lineChart({
    labels: trend.map((p) => p.date),
    series: [
      { name: "Time entries", values: trend.map((p) => p.entries), className: "s1" },
      { name: "Hours", values: trend.map((p) => p.hours), className: "s2" },
    ],
    description: `Time entries and hours per day from ${tab.from} to ${tab.to}; ${fmt.count(tab.totalTimeEntries)} entries and ${fmt.hours(tab.totalHoursLogged)} in all.`,
    format: (value) => fmt.count(value),
  });
  const trendTable = table(
    "Daily trend",
    [
      { key: "date", label: "Date", value: (p) => p.date, exact: (p) => p.date },
      { key: "entries", label: "Time entries", value: (p) => fmt.exact(p.entries), exact: (p) => fmt.exact(p.entries), numeric: true },
      { key: "hours", label: "Hours", value: (p) => fmt.exact(p.hours), exact: (p) => fmt.exact(p.hours), numeric: true },
    ],
    trend,
    { id: "psa-trend-table" },
  );

  const activity = table(
    "What was pushed",
    [
      { key: "type", label: "Activity", value: (a) => ACTIVITY[a.type] || a.type, exact: (a) => a.type },
      { key: "count", label: "Count", value: (a) => fmt.count(a.count), exact: (a) => fmt.exact(a.count), numeric: true },
    ],
    tab.activityCounts,
    { id: "psa-activity", className: "data" },
  );

  return [
    tabHeading("PSA", tab, usesRange),
    cards,
    h(
      "div",
      { className: "row" },
      chartFigure("Push funnel", funnelChart, funnelTable, "psa-funnel"),
      chartFigure("Daily trend", trendChart, trendTable, "psa-trend"),
    ),
    section("Activity", activity),
  ];
}
