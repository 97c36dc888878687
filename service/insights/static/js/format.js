// Display formats. The page shows what the API returned; these only choose how it reads.

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const NONE = "—";

export function count(value) {
  return value === null || value === undefined ? NONE : integer.format(value);
}

/** A fraction (0.6666…) as a percentage with one decimal (66.7%). */
export function percent(value) {
  return value === null || value === undefined ? NONE : `${oneDecimal.format(value * 100)}%`;
}

export function minutes(value) {
  return value === null || value === undefined ? NONE : `${oneDecimal.format(value)} min`;
}

export function hours(value) {
  return value === null || value === undefined ? NONE : `${twoDecimals.format(value)} h`;
}

export function decimal(value) {
  return value === null || value === undefined ? NONE : twoDecimals.format(value);
}

export function rating(value) {
  return value === null || value === undefined ? NONE : `${twoDecimals.format(value)} / 5`;
}

/** A MetricChange as a short sentence part: "+12 (+4.0%)" or "+3.1 pts" for rates. */
export function change(metricChange, kind) {
  if (!metricChange || metricChange.absolute === null || metricChange.absolute === undefined) {
    return "no previous value";
  }
  const { absolute, relative } = metricChange;
  const sign = absolute > 0 ? "+" : absolute < 0 ? "−" : "±";
  const size = Math.abs(absolute);
  let text;
  if (kind === "rate") text = `${sign}${oneDecimal.format(size * 100)} pts`;
  else if (kind === "count") text = `${sign}${integer.format(size)}`;
  else text = `${sign}${twoDecimals.format(size)}`;
  if (kind !== "rate" && relative !== null && relative !== undefined) {
    text += ` (${relative >= 0 ? "+" : "−"}${oneDecimal.format(Math.abs(relative) * 100)}%)`;
  }
  return text;
}

/** The exact value as text, for the tables behind charts and data-value attributes. */
export function exact(value) {
  return value === null || value === undefined ? "null" : String(value);
}

export function day(isoDate) {
  return isoDate;
}

const labels = {
  LAST_7_DAYS: "last 7 days",
  LAST_30_DAYS: "last 30 days",
  LAST_90_DAYS: "last 90 days",
};

export function windowLabel(tab, usesRange) {
  const days = `${tab.from} to ${tab.to}`;
  return usesRange ? days : `${labels[tab.period] || tab.period} (${days})`;
}
