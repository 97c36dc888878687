// The period picker's presets. The API's periods (last 7, 30, 90 days) end today, a day in
// progress; the others are ranges of whole local days of the account, worked out here from
// the account's today (in the zone the API names), and sent as `range`.

import { addDays } from "./format.js";

/** What the API accepts in one range (DateRangeInput: at most 366 days, none after today). */
export const MAX_RANGE_DAYS = 366;

export const API_PERIODS = {
  LAST_7_DAYS: "Last 7 days",
  LAST_30_DAYS: "Last 30 days",
  LAST_90_DAYS: "Last 90 days",
};

export const PRESETS = {
  COMPLETE_7_DAYS: "Last 7 complete days",
  COMPLETE_30_DAYS: "Last 30 complete days",
  THIS_MONTH: "This month",
  LAST_MONTH: "Last month",
  THIS_QUARTER: "This quarter",
};

/** Today's date ("2026-12-06") in `zone` (the account's), or in the browser's zone. */
export function todayIn(zone) {
  const options = { year: "numeric", month: "2-digit", day: "2-digit" };
  if (zone) options.timeZone = zone;
  return new Intl.DateTimeFormat("en-CA", options).format(new Date());
}

function firstOfMonth(isoDate) {
  return `${isoDate.slice(0, 8)}01`;
}

/** The {from, to} of a preset, for the account whose today is `today`. */
export function presetRange(preset, today) {
  const yesterday = addDays(today, -1);
  switch (preset) {
    case "COMPLETE_7_DAYS":
      return { from: addDays(yesterday, -6), to: yesterday };
    case "COMPLETE_30_DAYS":
      return { from: addDays(yesterday, -29), to: yesterday };
    case "THIS_MONTH":
      return { from: firstOfMonth(today), to: today };
    case "LAST_MONTH": {
      const last = addDays(firstOfMonth(today), -1);
      return { from: firstOfMonth(last), to: last };
    }
    case "THIS_QUARTER": {
      const month = Number(today.slice(5, 7));
      const first = String(month - ((month - 1) % 3)).padStart(2, "0");
      return { from: `${today.slice(0, 4)}-${first}-01`, to: today };
    }
    default:
      return null;
  }
}
