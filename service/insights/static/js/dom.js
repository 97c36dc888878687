// Small DOM helpers: elements from plain data, never from HTML strings (no injection).

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2).toLowerCase(), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) element.append(child);
  }
  return element;
}

/**
 * A table: `columns` are {label, value(row) -> text|Node, exact(row)?, numeric?};
 * a cell with `exact` carries the unformatted value in data-value, and every cell its
 * column's label in data-label (narrow screens show a row as a card of labelled cells).
 * `rowAttributes(row)` adds attributes to a row (a class, data-*).
 */
export function table(caption, columns, rows, attributes = {}, rowAttributes = () => ({})) {
  const head = h("tr", {}, columns.map((column) => h("th", { scope: "col" }, column.label)));
  const body = rows.map((row, index) =>
    h(
      "tr",
      rowAttributes(row, index),
      columns.map((column, position) => {
        const tag = position === 0 && column.rowHeader !== false ? "th" : "td";
        const cell = h(
          tag,
          {
            scope: tag === "th" ? "row" : null,
            className: column.numeric ? "num" : null,
            dataset: { column: column.key || column.label, label: column.label },
          },
          column.value(row, index),
        );
        if (column.exact) cell.dataset.value = column.exact(row);
        return cell;
      }),
    ),
  );
  return h(
    "table",
    attributes,
    h("caption", {}, caption),
    h("thead", {}, head),
    h("tbody", {}, body),
  );
}

/** A chart with its numbers: the picture, and the same numbers as a table to expand. */
export function chartFigure(title, chart, dataTable, id) {
  return h(
    "figure",
    { className: "chart", id },
    h("figcaption", {}, title),
    chart,
    h("details", { className: "numbers" }, h("summary", {}, `The numbers behind “${title}”`), dataTable),
  );
}

export function clear(element) {
  element.replaceChildren();
  return element;
}
