// Display formats. The page shows what the API returned; these only choose how it reads.
// Numbers follow the browser's locale; days have one format everywhere ("6 Dec 2026"),
// and instants are shown in the account's time zone, which the API names (timeZone).

const LOCALE = undefined; // the browser's own

const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const dayFormat = new Intl.DateTimeFormat(LOCALE, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const shortDayFormat = new Intl.DateTimeFormat(LOCALE, { day: "numeric", month: "short", timeZone: "UTC" });

export const NONE = "—";

const missing = (value) => value === null || value === undefined;

export function count(value) {
  return missing(value) ? NONE : integer.format(value);
}

/** A fraction (0.6666…) as a percentage with one decimal (66.7%). */
export function percent(value) {
  return missing(value) ? NONE : `${oneDecimal.format(value * 100)}%`;
}

export function minutes(value) {
  return missing(value) ? NONE : `${oneDecimal.format(value)} min`;
}

export function hours(value) {
  return missing(value) ? NONE : `${oneDecimal.format(value)} h`;
}

export function decimal(value) {
  return missing(value) ? NONE : twoDecimals.format(value);
}

export function rating(value) {
  return missing(value) ? NONE : `${twoDecimals.format(value)} / 5`;
}

/** A MetricChange as a short sentence part: "+12 (+4.0%)" or "+3.1 pts" for rates. */
export function change(metricChange, kind) {
  if (!metricChange || missing(metricChange.absolute)) return "no previous value";
  const { absolute, relative } = metricChange;
  const sign = absolute > 0 ? "+" : absolute < 0 ? "−" : "±";
  const size = Math.abs(absolute);
  let text;
  if (kind === "rate") text = `${sign}${oneDecimal.format(size * 100)} pts`;
  else if (kind === "count") text = `${sign}${integer.format(size)}`;
  else if (kind === "hours") text = `${sign}${oneDecimal.format(size)} h`;
  else if (kind === "minutes") text = `${sign}${oneDecimal.format(size)} min`;
  else text = `${sign}${twoDecimals.format(size)}`;
  if (kind !== "rate" && !missing(relative)) {
    text += ` (${relative >= 0 ? "+" : "−"}${oneDecimal.format(Math.abs(relative) * 100)}%)`;
  }
  return text;
}

/** The exact value as text, for data-value attributes (what tests compare with the API). */
export function exact(value) {
  return missing(value) ? "null" : String(value);
}

/** A local calendar day of the API ("2026-12-06") in the page's one day format. */
export function day(isoDate) {
  return missing(isoDate) ? NONE : dayFormat.format(new Date(`${isoDate}T00:00:00Z`));
}

/** A day without its year, for chart axes. */
export function shortDay(isoDate) {
  return shortDayFormat.format(new Date(`${isoDate}T00:00:00Z`));
}

/** Two days as one span: "1 – 30 Nov 2026" reads as "1 Nov 2026 – 30 Nov 2026". */
export function days(from, to) {
  return from === to ? day(from) : `${day(from)} – ${day(to)}`;
}

/** The local day ("2026-12-06") an instant falls on in `zone`. */
export function localDate(isoInstant, zone) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date(isoInstant));
  const get = (type) => parts.find((part) => part.type === type).value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** An instant in `zone`: the day in the page's format and the time of day. */
export function instant(isoInstant, zone) {
  const time = new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit", timeZone: zone }).format(new Date(isoInstant));
  return `${day(localDate(isoInstant, zone))}, ${time}`;
}

/** Whole days from `earlier` to `later` (instants), rounded down. */
export function daysBetween(earlier, later) {
  return Math.floor((new Date(later) - new Date(earlier)) / 86400000);
}

/** ISO day arithmetic on calendar days (no time zone involved). */
export function addDays(isoDate, count) {
  const value = new Date(`${isoDate}T00:00:00Z`);
  value.setUTCDate(value.getUTCDate() + count);
  return value.toISOString().slice(0, 10);
}

export function dayCount(from, to) {
  return Math.round((new Date(`${to}T00:00:00Z`) - new Date(`${from}T00:00:00Z`)) / 86400000) + 1;
}
