// PSA tab: what reached ConnectWise. The cards count the pushes recorded in the period;
// the funnel follows the sessions started in the period (their pushes at any date). Time
// entries and hours are two charts, each with its own axis.

import { barChart, lineChart } from "./charts.js";
import { chartFigure, h, table } from "./dom.js";
import { pushes, sessions } from "./evidence.js";
import * as fmt from "./format.js";
import { countValue, fairComparison, metricCards, noSessions, section, tabHeading } from "./widgets.js";

export const operationName = "PsaTab";
export const usesComparison = true;

const PSA = "ConnectWise";
const ACTIVITY = { TIME_ENTRY_POSTED: "Time entries posted", NOTE_POSTED: "Notes posted", STATUS_UPDATED: "Status updates" };
const TIME_ENTRIES = pushes(`Time entries pushed to ${PSA}`, "TIME_ENTRY_POSTED");

export function render(data, { label, chartWidth }) {
  const tab = data.psaActivity;
  const changeOf = (key) => (tab.changes ? tab.changes[key] : undefined);
  const funnel = tab.pushFunnel;
  const recorded = "pushes recorded in the period";
  const cohort = "of the period's sessions";
  const cards = metricCards(
    [
      { key: "totalTimeEntries", label: `Time entries pushed to ${PSA}`, note: recorded, value: tab.totalTimeEntries, format: fmt.count, kind: "count", change: changeOf("totalTimeEntries"), up: "good", evidence: TIME_ENTRIES },
      { key: "totalHoursLogged", label: `Hours logged in ${PSA}`, note: recorded, value: tab.totalHoursLogged, format: fmt.hours, kind: "hours", change: changeOf("totalHoursLogged"), up: "good" },
      { key: "avgHoursPerSession", label: "Hours per session with a time entry", note: recorded, value: tab.avgHoursPerSession, format: fmt.hours, kind: "number", change: changeOf("avgHoursPerSession"), up: null },
      { key: "linkedRate", label: `Linked to a ${PSA} ticket`, note: cohort, value: funnel.linkedRate, format: fmt.percent, kind: "rate", change: changeOf("linkedRate"), up: "good" },
      { key: "docPushedRate", label: "Documentation pushed (of linked)", note: cohort, value: funnel.docPushedRate, format: fmt.percent, kind: "rate", change: changeOf("docPushedRate"), up: "good" },
      { key: "timeEntryRate", label: "Time entry logged (of documented)", note: cohort, value: funnel.timeEntryRate, format: fmt.percent, kind: "rate", change: changeOf("timeEntryRate"), up: "good" },
    ],
    { fair: fairComparison(tab) },
  );

  const steps = [
    { key: "totalSessions", label: "Sessions started", value: funnel.totalSessions, rate: null, of: null, evidence: sessions("Sessions started") },
    { key: "linkedToTicket", label: `Linked to a ${PSA} ticket`, value: funnel.linkedToTicket, rate: funnel.linkedRate, of: "sessions", evidence: sessions(`Sessions linked to a ${PSA} ticket`, { funnelStep: "LINKED_TO_TICKET" }) },
    { key: "docPushed", label: "Documentation pushed", value: funnel.docPushed, rate: funnel.docPushedRate, of: "linked", evidence: sessions(`Linked sessions with documentation pushed to ${PSA}`, { funnelStep: "DOC_PUSHED" }) },
    { key: "timeEntryLogged", label: "Time entry logged", value: funnel.timeEntryLogged, rate: funnel.timeEntryRate, of: "documented", evidence: sessions(`Documented sessions with a time entry logged in ${PSA}`, { funnelStep: "TIME_ENTRY_LOGGED" }) },
  ].map((step) => ({
    ...step,
    text: step.of === null ? fmt.count(step.value) : `${fmt.count(step.value)} (${fmt.percent(step.rate)} of ${step.of})`,
  }));
  const funnelTitle = `Sessions of the period reaching ${PSA}`;
  const funnelChart = funnel.totalSessions === 0
    ? noSessions("psa-funnel-empty")
    : barChart({
        items: steps,
        description: `${funnelTitle}: ${steps.map((s) => `${s.label} ${s.text}`).join(", ")}.`,
        max: funnel.totalSessions,
        className: "funnel",
        width: chartWidth,
      });
  const funnelTable = table(
    funnelTitle,
    [
      { key: "step", label: "Step", value: (s) => s.label },
      { key: "sessions", label: "Sessions", value: (s) => countValue(fmt.count(s.value), `pushFunnel.${s.key}`, s.evidence, s.value), exact: (s) => fmt.exact(s.value), numeric: true },
      { key: "rate", label: "Of the step before", value: (s) => fmt.percent(s.rate), exact: (s) => fmt.exact(s.rate), numeric: true },
    ],
    steps,
    { id: "psa-funnel-table" },
  );

  const trend = tab.dailyTrend;
  const partialLast = tab.lastDayInProgress;
  const anyEntries = tab.totalTimeEntries > 0;
  const entriesChart = anyEntries
    ? lineChart({
        labels: trend.map((p) => p.date),
        series: [{ name: "Time entries", values: trend.map((p) => p.entries), className: "s1" }],
        description: `Time entries pushed to ${PSA} per day from ${fmt.day(tab.from)} to ${fmt.day(tab.to)}; ${fmt.count(tab.totalTimeEntries)} in all.`,
        format: fmt.count,
        integer: true,
        width: chartWidth,
        partialLast,
      })
    : h("p", { className: "empty", id: "psa-entries-empty" }, `No time entries pushed to ${PSA} in this period.`);
  const hoursChart = anyEntries
    ? lineChart({
        labels: trend.map((p) => p.date),
        series: [{ name: "Hours", values: trend.map((p) => p.hours), className: "s2" }],
        description: `Hours logged in ${PSA} per day from ${fmt.day(tab.from)} to ${fmt.day(tab.to)}; ${fmt.hours(tab.totalHoursLogged)} in all.`,
        format: fmt.hours,
        width: chartWidth,
        partialLast,
      })
    : h("p", { className: "empty", id: "psa-hours-empty" }, `No hours logged in ${PSA} in this period.`);
  const last = trend.length - 1;
  // A day's time entries open that day's entries; hours are not a count.
  const dayEntries = (p) => countValue(fmt.count(p.entries), "dailyTrend.entries", pushes(`Time entries pushed to ${PSA} on ${fmt.day(p.date)}`, "TIME_ENTRY_POSTED", p.date), p.entries);
  const trendTable = (id, key, name, format) =>
    table(
      name,
      [
        { key: "date", label: "Date", value: (p, i) => `${fmt.day(p.date)}${partialLast && i === last ? " (so far)" : ""}`, exact: (p) => p.date },
        { key, label: name, value: (p) => (key === "entries" ? dayEntries(p) : format(p[key])), exact: (p) => fmt.exact(p[key]), numeric: true },
      ],
      trend,
      { id },
    );

  const activity = table(
    `Pushes to ${PSA} recorded in the period`,
    [
      { key: "type", label: "Activity", value: (a) => ACTIVITY[a.type] || a.type, exact: (a) => a.type },
      { key: "count", label: "Count", value: (a) => countValue(fmt.count(a.count), "activityCounts", pushes(`${ACTIVITY[a.type] || a.type} to ${PSA}`, a.type), a.count), exact: (a) => fmt.exact(a.count), numeric: true },
    ],
    tab.activityCounts,
    { id: "psa-activity", className: "data" },
  );

  return [
    tabHeading(`PSA: ${PSA}`, tab, label),
    h("p", { className: "note", id: "psa-populations" }, `The first three cards count the pushes to ${PSA} recorded in the period; the funnel and its rates follow the sessions started in the period, whatever day their pushes were made.`),
    cards,
    h(
      "div",
      { className: "row" },
      chartFigure(funnelTitle, funnelChart, funnelTable, "psa-funnel"),
      section("Activity", activity),
    ),
    h(
      "div",
      { className: "row" },
      chartFigure(`Time entries pushed per day`, entriesChart, trendTable("psa-trend-table", "entries", "Time entries", fmt.count), "psa-entries"),
      chartFigure(`Hours logged per day`, hoursChart, trendTable("psa-hours-table", "hours", "Hours", fmt.hours), "psa-hours"),
    ),
  ];
}
