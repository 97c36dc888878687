// Plain SVG charts. Each is an image with a text alternative (role="img", aria-label);
// the numbers themselves are in the table next to it (dom.chartFigure).

import { h, svg } from "./dom.js";

const WIDTH = 720;
const HEIGHT = 220;
const PAD = { left: 52, right: 16, top: 12, bottom: 28 };

function niceMax(value) {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (value <= step * magnitude) return step * magnitude;
  }
  return 10 * magnitude;
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
 * A line chart over days: `labels` are the x values (dates), `series` are
 * {name, values, className}; `description` is the chart's text alternative.
 */
export function lineChart({ labels, series, description, format = String }) {
  const all = series.flatMap((line) => line.values).filter((value) => value !== null);
  const top = niceMax(Math.max(0, ...all));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (index) => PAD.left + (labels.length < 2 ? plotWidth / 2 : (index * plotWidth) / (labels.length - 1));
  const y = (value) => PAD.top + plotHeight - (value / top) * plotHeight;
  const grid = [0, 0.5, 1].map((share) =>
    svg(
      "g",
      { class: "grid" },
      svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(top * share), y2: y(top * share) }),
      svg("text", { x: PAD.left - 6, y: y(top * share) + 4, "text-anchor": "end" }, format(top * share)),
    ),
  );
  const ends = labels.length
    ? [
        svg("text", { x: x(0), y: HEIGHT - 8, "text-anchor": "start", class: "axis" }, labels[0]),
        svg("text", { x: x(labels.length - 1), y: HEIGHT - 8, "text-anchor": "end", class: "axis" }, labels.at(-1)),
      ]
    : [];
  const lines = series.map((line) =>
    svg("path", { d: linePath(line.values, x, y), class: `line ${line.className}`, fill: "none" }),
  );
  const picture = svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": description, class: "plot" },
    ...grid,
    ...ends,
    ...lines,
  );
  const legend = h(
    "ul",
    { className: "legend", "aria-hidden": "true" },
    series.map((line) => h("li", {}, h("span", { className: `swatch ${line.className}` }), line.name)),
  );
  return h("div", {}, picture, legend);
}

/**
 * Horizontal bars: `items` are {label, value, text}; bar lengths are relative to the
 * largest value (or to `max`), and each bar is labelled with its text.
 */
export function barChart({ items, description, max = null, className = "" }) {
  const top = max ?? Math.max(0, ...items.map((item) => item.value ?? 0));
  const rowHeight = 30;
  const labelWidth = 190;
  const barWidth = WIDTH - labelWidth - 150;
  const height = items.length * rowHeight + 8;
  const rows = items.map((item, index) => {
    const length = top > 0 ? ((item.value ?? 0) / top) * barWidth : 0;
    const rowY = 4 + index * rowHeight;
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
    { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": description, class: "plot bars" },
    ...rows,
  );
}
