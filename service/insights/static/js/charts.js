// Plain SVG charts. Each is an image with a text alternative (role="img", aria-label);
// the numbers themselves are in the table next to it (dom.chartFigure). A chart is drawn
// as wide as the space it gets (`width`), so its 12-13 px text stays that size on a phone.

import { h, svg } from "./dom.js";
import { shortDay } from "./format.js";

export const DEFAULT_WIDTH = 720;
const HEIGHT = 220;
const PAD = { left: 52, right: 16, top: 12, bottom: 30 };

function niceMax(value) {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (value <= step * magnitude) return step * magnitude;
  }
  return 10 * magnitude;
}

/** The axis's top and ticks; counts get whole-number ticks only. */
function axis(largest, integer) {
  let top = niceMax(largest);
  if (integer) top = Math.max(2, Math.ceil(top));
  const middle = top / 2;
  const ticks = integer && !Number.isInteger(middle) ? [0, top] : [0, middle, top];
  return { top, ticks };
}

/** A path through the points, broken where a value is null (no data that day). */
function linePath(values, x, y) {
  let path = "";
  let drawing = false;
  values.forEach((value, index) => {
    if (value === null || value === undefined) {
      drawing = false;
      return;
    }
    path += `${drawing ? "L" : "M"}${x(index).toFixed(1)},${y(value).toFixed(1)}`;
    drawing = true;
  });
  return path;
}

/**
 * A line chart over days: `labels` are the x values (ISO dates), `series` are
 * {name, values, className}; `description` is the chart's text alternative. With
 * `partialLast` the last day is still going on: its segment is dashed and its point hollow.
 */
export function lineChart({ labels, series, description, format = String, integer = false, width = DEFAULT_WIDTH, partialLast = false }) {
  const all = series.flatMap((line) => line.values).filter((value) => value !== null);
  const { top, ticks } = axis(Math.max(0, ...all), integer);
  const plotWidth = width - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (index) => PAD.left + (labels.length < 2 ? plotWidth / 2 : (index * plotWidth) / (labels.length - 1));
  const y = (value) => PAD.top + plotHeight - (value / top) * plotHeight;
  const grid = ticks.map((tick) =>
    svg(
      "g",
      { class: "grid" },
      svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y(tick), y2: y(tick) }),
      svg("text", { x: PAD.left - 6, y: y(tick) + 4, "text-anchor": "end" }, format(tick)),
    ),
  );
  const lastLabel = labels.length ? `${shortDay(labels.at(-1))}${partialLast ? " (so far)" : ""}` : "";
  const ends = labels.length
    ? [
        svg("text", { x: x(0), y: HEIGHT - 8, "text-anchor": "start", class: "axis" }, shortDay(labels[0])),
        svg("text", { x: x(labels.length - 1), y: HEIGHT - 8, "text-anchor": "end", class: "axis" }, lastLabel),
      ]
    : [];
  const cut = partialLast && labels.length > 1 ? labels.length - 1 : labels.length;
  const lines = series.flatMap((line) => {
    const drawn = [svg("path", { d: linePath(line.values.slice(0, cut), x, y), class: `line ${line.className}`, fill: "none" })];
    if (cut < labels.length) {
      const [before, last] = line.values.slice(-2);
      if (before !== null && last !== null && before !== undefined && last !== undefined) {
        drawn.push(svg("path", { d: `M${x(cut - 1).toFixed(1)},${y(before).toFixed(1)}L${x(cut).toFixed(1)},${y(last).toFixed(1)}`, class: `line partial ${line.className}`, fill: "none" }));
        drawn.push(svg("circle", { cx: x(cut).toFixed(1), cy: y(last).toFixed(1), r: 4, class: `point-partial ${line.className}` }));
      }
    }
    return drawn;
  });
  const picture = svg(
    "svg",
    { viewBox: `0 0 ${width} ${HEIGHT}`, role: "img", "aria-label": description, class: "plot" },
    ...grid,
    ...ends,
    ...lines,
  );
  if (partialLast) picture.dataset.partialLast = "true";
  const legend = h(
    "ul",
    { className: "legend", "aria-hidden": "true" },
    series.map((line) => h("li", {}, h("span", { className: `swatch ${line.className}` }), line.name)),
    partialLast ? h("li", {}, h("span", { className: "swatch dashed" }), "Today so far") : null,
  );
  return h("div", {}, picture, legend);
}

/**
 * Horizontal bars: `items` are {label, value, text}; bar lengths are relative to the
 * largest value (or to `max`), and each bar is labelled with its text. Narrower than
 * 560 px, each bar's label and text sit on two lines above it.
 */
export function barChart({ items, description, max = null, className = "", width = DEFAULT_WIDTH }) {
  const top = max ?? Math.max(0, ...items.map((item) => item.value ?? 0));
  const stacked = width < 560;
  const rowHeight = stacked ? 60 : 30;
  const labelWidth = stacked ? 0 : 190;
  const barWidth = stacked ? width - 8 : width - labelWidth - 150;
  const height = items.length * rowHeight + 8;
  const rows = items.map((item, index) => {
    const length = top > 0 ? ((item.value ?? 0) / top) * barWidth : 0;
    const rowY = 4 + index * rowHeight;
    if (stacked) {
      return svg(
        "g",
        {},
        svg("text", { x: 0, y: rowY + 14 }, item.label),
        svg("text", { x: 0, y: rowY + 31, class: "bar-value" }, item.text),
        svg("rect", { x: 0, y: rowY + 38, width: Math.max(length, 1).toFixed(1), height: 14, class: `bar ${className}` }),
      );
    }
    return svg(
      "g",
      {},
      svg("text", { x: labelWidth - 8, y: rowY + 19, "text-anchor": "end" }, item.label),
      svg("rect", { x: labelWidth, y: rowY + 4, width: Math.max(length, 1).toFixed(1), height: rowHeight - 10, class: `bar ${className}` }),
      svg("text", { x: labelWidth + Math.max(length, 1) + 8, y: rowY + 19 }, item.text),
    );
  });
  return svg(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": description, class: "plot bars" },
    ...rows,
  );
}
