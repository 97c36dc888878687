// The rows behind a count: a click on a count opens the sessions (or the PSA pushes) it
// counts, fetched with the count's own filter for the window the tab shows, so the list's
// totalCount is the number clicked. A side panel on wide screens, the whole screen on a
// phone; pages by the API's keyset cursor; its CSV comes from /export with the token.

import { ApiError, runOperation } from "./api.js";
import { append, clear, h } from "./dom.js";
import * as fmt from "./format.js";

export const PAGE_SIZE = 50;
export const CSV_PAGE_SIZE = 100; // a file the cost limit admits with room (first is at most 200)

const PSA = "ConnectWise";
const PUSH_WORDS = { TIME_ENTRY_POSTED: "Time entry", NOTE_POSTED: "Note", STATUS_UPDATED: "Status update" };

/** What a count of sessions opens: the panel's title and the API's EvidenceFilter. */
export function sessions(title, filter = {}) {
  return { kind: "sessions", title, filter };
}

/** What a count of PSA pushes opens: a kind of push (all when null) and a local day. */
export function pushes(title, type = null, day = null) {
  return { kind: "pushes", title, type, day };
}

const $ = (id) => document.getElementById(id);

let current = null; // the open list: {spec, window, zone, count, trigger, after, shown, total, csv}
let generation = 0; // an answer for a list closed or replaced since is dropped
let api = null; // {operations(), authorization()}: main's, given to wire()

function noun(spec, total) {
  if (spec.kind === "sessions") return total === 1 ? "session" : "sessions";
  if (spec.type === "TIME_ENTRY_POSTED") return total === 1 ? "time entry" : "time entries";
  if (spec.type === "NOTE_POSTED") return total === 1 ? "note" : "notes";
  if (spec.type === "STATUS_UPDATED") return total === 1 ? "status update" : "status updates";
  return total === 1 ? "push" : "pushes";
}

function variables(list, after) {
  const vars = { ...list.window, first: PAGE_SIZE, after };
  if (list.spec.kind === "sessions") vars.filter = list.spec.filter;
  else Object.assign(vars, { type: list.spec.type, day: list.spec.day });
  return vars;
}

/** The export's query string: the same window and filter, as plain parameters. */
function csvUrl(list, after) {
  const params = new URLSearchParams();
  if (list.window.range) {
    params.set("from", list.window.range.from);
    params.set("to", list.window.range.to);
  } else params.set("period", list.window.period);
  const filter = list.spec.kind === "sessions" ? list.spec.filter : { type: list.spec.type, day: list.spec.day };
  for (const [name, value] of Object.entries(filter)) {
    if (value !== null && value !== undefined && value !== false) params.set(name, String(value));
  }
  params.set("first", String(CSV_PAGE_SIZE));
  if (after) params.set("after", after);
  const file = list.spec.kind === "sessions" ? "session-evidence" : "psa-evidence";
  return `/export/${file}.csv?${params}`;
}

/** The cells of one CSV record (RFC 4180: quoted cells may hold commas and quotes). */
export function csvCells(line) {
  const cells = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      cells.push(cell);
      cell = "";
    } else cell += char;
  }
  cells.push(cell);
  return cells;
}

/** The next file's cursor, from an evidence file's first row (null after the last file). */
export function nextCursor(csvText) {
  const [header, first] = csvText.split("\r\n");
  if (!header || !first) return null;
  const names = csvCells(header);
  const values = csvCells(first);
  const value = (name) => values[names.indexOf(name)];
  return value("pageInfo.hasNextPage") === "true" ? value("pageInfo.endCursor") || null : null;
}

function labelCsv(list) {
  const link = $("evidence-csv");
  const first = list.csv.done + 1;
  const last = Math.min(list.csv.done + CSV_PAGE_SIZE, list.total);
  link.href = csvUrl(list, list.csv.after);
  link.hidden = list.total === 0;
  link.textContent = list.total <= CSV_PAGE_SIZE ? "Download as CSV" : `Download ${noun(list.spec, 2)} ${fmt.count(first)}–${fmt.count(last)} as CSV`;
  link.dataset.after = list.csv.after ?? "";
}

async function downloadCsv(event) {
  event.preventDefault();
  const list = current;
  if (!list) return;
  const link = $("evidence-csv");
  $("evidence-status").textContent = "Preparing the CSV file…";
  try {
    const response = await fetch(link.getAttribute("href"), { headers: { authorization: api.authorization(), accept: "text/csv" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    const name = `${list.spec.kind === "sessions" ? "session" : "psa"}-evidence-${list.csv.done + 1}.csv`;
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    const save = h("a", { href: url, download: name, hidden: true });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    if (list !== current) return;
    // The next file, from the cursor in this one; after the last, the first again.
    list.csv.after = nextCursor(text);
    list.csv.done = list.csv.after === null ? 0 : list.csv.done + CSV_PAGE_SIZE;
    labelCsv(list);
    $("evidence-status").textContent = `Saved ${name}.`;
    link.focus();
  } catch (error) {
    if (list === current) $("evidence-status").textContent = `The CSV file could not be downloaded (${error.message}).`;
  }
}

/** A labelled value; data-value holds the API's exact value (what tests compare). */
function detail(label, value, key, exactValue) {
  return [h("dt", {}, label), h("dd", { dataset: { field: key, value: fmt.exact(exactValue) } }, value)];
}

function pushSummary(push, zone) {
  const hours = push.hours === null || push.hours === undefined ? "" : ` ${fmt.hours(push.hours)}`;
  return `${PUSH_WORDS[push.type] || push.type}${hours}, ${fmt.instant(push.createdAt, zone)}`;
}

/** One session, with what a lead needs to judge it (times in the account's zone). */
function sessionItem(node, zone) {
  const flow = node.matchedFlowName
    ? `${node.matchedFlowName} (confidence ${fmt.decimal(node.matchConfidence)})`
    : "no flow matched";
  const domain = node.problemDomain === null || node.problemDomain.trim() === "" ? "none" : `“${node.problemDomain}”`;
  const pushes = node.pushes.length ? h("ul", { className: "inline" }, node.pushes.map((p) => h("li", {}, pushSummary(p, zone)))) : "none";
  return h(
    "li",
    { className: "evidence-item", dataset: { id: node.id, status: node.status, startedAt: node.startedAt } },
    h(
      "p",
      { className: "evidence-when" },
      h("strong", {}, fmt.instant(node.startedAt, zone)),
      " ",
      h("span", { className: `badge badge-status status-${node.status}` }, node.status),
    ),
    h(
      "dl",
      { className: "evidence-details" },
      detail("Resolved", node.resolvedAt ? fmt.instant(node.resolvedAt, zone) : "not resolved", "resolvedAt", node.resolvedAt),
      detail("Domain as typed", domain, "problemDomain", node.problemDomain),
      detail("Counted under", node.domainKey ?? "no domain (unmapped)", "domainKey", node.domainKey),
      detail("Confidence tier", node.confidenceTier ?? "none recorded", "confidenceTier", node.confidenceTier),
      detail("Flow", flow, "matchedFlowId", node.matchedFlowId),
      detail("Time to resolve", fmt.minutes(node.resolutionMinutes), "resolutionMinutes", node.resolutionMinutes),
      detail("Rating", node.rating === null ? "unrated" : `${node.rating} / 5`, "rating", node.rating),
      detail(`${PSA} ticket`, node.psaTicketId ?? "none", "psaTicketId", node.psaTicketId),
      detail(`Pushes to ${PSA}`, pushes, "pushes", node.pushes.map((p) => p.type).join(";")),
    ),
  );
}

/** One PSA push. */
function pushItem(node, zone) {
  return h(
    "li",
    { className: "evidence-item", dataset: { id: node.id, type: node.type, createdAt: node.createdAt } },
    h("p", { className: "evidence-when" }, h("strong", {}, fmt.instant(node.createdAt, zone)), ` ${PUSH_WORDS[node.type] || node.type}`),
    h(
      "dl",
      { className: "evidence-details" },
      detail("Hours", fmt.hours(node.hours), "hours", node.hours),
      detail(`${PSA} ticket`, node.psaTicketId, "psaTicketId", node.psaTicketId),
      detail(`${PSA} record`, node.externalId ?? "not known", "externalId", node.externalId),
      detail("Session", node.sessionId ?? "none", "sessionId", node.sessionId),
    ),
  );
}

function showSummary(list, answer) {
  const total = answer.totalCount;
  const same = total === list.count;
  const summary = $("evidence-summary");
  clear(summary);
  append(summary, [
    h("span", { className: "evidence-count", dataset: { value: fmt.exact(list.count) } }, `${fmt.count(list.count)} on the tab`),
    " · ",
    h("strong", { className: "evidence-total", dataset: { value: fmt.exact(total) } }, `${fmt.count(total)} ${noun(list.spec, total)}`),
    " listed",
    same ? null : h("span", { className: "evidence-differs" }, " — not the number on the tab: the data changed since it loaded; reload the tab"),
    h("br"),
    h("span", { className: "evidence-window" }, `${list.windowLabel}: ${fmt.days(answer.from, answer.to)}, newest first, times in ${list.zone}`),
  ]);
  summary.dataset.same = String(same);
}

async function loadPage() {
  const list = current;
  const mine = ++generation;
  const more = $("evidence-more");
  const status = $("evidence-status");
  more.disabled = true;
  $("evidence").setAttribute("aria-busy", "true");
  status.textContent = list.shown === 0 ? "Loading…" : "Loading more…";
  try {
    const operation = list.spec.kind === "sessions" ? "SessionEvidence" : "PsaActivityEvidence";
    const data = await runOperation(api.operations(), operation, variables(list, list.after), api.authorization());
    if (mine !== generation || list !== current) return;
    const answer = data.sessionEvidence || data.psaActivityEvidence;
    list.total = answer.totalCount;
    if (list.shown === 0) {
      showSummary(list, answer);
      labelCsv(list);
    }
    const draw = list.spec.kind === "sessions" ? sessionItem : pushItem;
    const items = answer.nodes.map((node) => draw(node, list.zone));
    $("evidence-list").append(...items);
    list.shown += answer.nodes.length;
    list.after = answer.pageInfo.endCursor;
    more.hidden = !answer.pageInfo.hasNextPage;
    more.disabled = false;
    status.textContent = list.total === 0
      ? `No ${noun(list.spec, 0)}.`
      : `Showing ${fmt.count(list.shown)} of ${fmt.count(list.total)} ${noun(list.spec, list.total)}.`;
    // After "Load more" the first new row takes the focus, so a keyboard reads on from there.
    if (list.shown > answer.nodes.length && items.length) {
      items[0].tabIndex = -1;
      items[0].focus();
    }
  } catch (error) {
    if (mine !== generation || list !== current) return;
    more.disabled = false;
    const refused = error instanceof ApiError && error.unauthenticated;
    append(clear(status), [
      refused ? "Your token was not accepted: close this list and enter a new one." : `The list could not be loaded: ${error.message}.`,
      " ",
      refused ? null : h("button", { type: "button", id: "evidence-retry", onClick: loadPage }, "Retry"),
    ]);
  } finally {
    if (mine === generation) $("evidence").removeAttribute("aria-busy");
  }
}

/**
 * Opens the rows behind a count. `spec` is what the count's button carries, `window` the
 * tab's {period} or {range}, `count` the number clicked; focus goes back to `trigger` (or
 * to what `refocus()` finds when the tab was redrawn meanwhile) on close.
 */
export function open({ spec, window, windowLabel, zone, count, trigger, refocus }) {
  const dialog = $("evidence");
  current = { spec, window, windowLabel, zone, count, trigger, refocus, after: null, shown: 0, total: null, csv: { done: 0, after: null } };
  $("evidence-title").textContent = spec.title;
  $("evidence-summary").replaceChildren();
  clear($("evidence-list"));
  $("evidence-more").hidden = true;
  $("evidence-csv").hidden = true;
  if (!dialog.open) dialog.showModal();
  $("evidence-close").focus();
  loadPage();
}

function close() {
  const dialog = $("evidence");
  if (dialog.open) dialog.close();
}

/** Wires the panel's buttons once; `operations()` and `authorization()` are main's. */
export function wire({ operations, authorization }) {
  api = { operations, authorization };
  const dialog = $("evidence");
  $("evidence-close").addEventListener("click", close);
  $("evidence-more").addEventListener("click", loadPage);
  $("evidence-csv").addEventListener("click", downloadCsv);
  // A click on the backdrop (outside the panel's box) closes it, as Esc does.
  dialog.addEventListener("click", (event) => {
    if (event.target !== dialog) return;
    const box = dialog.getBoundingClientRect();
    const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) close();
  });
  // "close" arrives as a task of its own after the dialog closed (Esc, Close, backdrop):
  // by then a list may have been opened again (keep it), or the keyboard may have moved
  // on from the count the browser gave the focus back to (leave it there).
  dialog.addEventListener("close", () => {
    if (dialog.open) return;
    const list = current;
    current = null;
    generation += 1;
    if (!list) return;
    const active = document.activeElement;
    if (active && active !== document.body && !dialog.contains(active)) return;
    const target = list.trigger.isConnected ? list.trigger : list.refocus();
    if (target) target.focus();
  });
}
