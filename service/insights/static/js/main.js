// The insights page: four tabs, a period picker and a comparison toggle over the
// first-party operations. State lives here; each tab module only draws its data.

import { ApiError, loadOperations, runOperation } from "./api.js";
import { DEFAULT_WIDTH } from "./charts.js";
import { clear, h } from "./dom.js";
import * as coverage from "./coverage.js";
import * as evidence from "./evidence.js";
import * as flowQuality from "./flow-quality.js";
import { addDays } from "./format.js";
import * as overview from "./overview.js";
import { API_PERIODS, MAX_RANGE_DAYS, PRESETS, presetRange, todayIn } from "./periods.js";
import * as psa from "./psa.js";
import { skeleton } from "./widgets.js";

const TABS = { overview, coverage, "flow-quality": flowQuality, psa };
const TOKEN_KEY = "flowpilot.insights.token";

const state = {
  tab: "overview",
  period: "LAST_30_DAYS",
  range: null, // {from, to} when a preset or the custom range is chosen
  label: "LAST_30_DAYS", // the picker's choice, named in the tab's heading
  zone: null, // the account's time zone, once an answer named it
  compare: true, // the headline numbers come with their change unless switched off
  flowQuality: { sort: "QUALITY", direction: "DESC", offset: 0 },
  loaded: {}, // tab -> the variables its panel shows (JSON), so a tab reloads only when stale
  shown: {}, // tab -> {data, variables, label}: what its panel was drawn from (redrawn on resize)
};

let operations = null;
const generations = {}; // tab -> its newest request: an older answer never replaces a newer one

const $ = (id) => document.getElementById(id);
const demoMeta = () => document.querySelector('meta[name="flowpilot-demo-authorization"]');

function authorization() {
  const stored = sessionStorage.getItem(TOKEN_KEY);
  if (stored) return `Bearer ${stored.replace(/^Bearer\s+/i, "").trim()}`;
  const demo = demoMeta();
  return demo ? demo.content : null;
}

/** The token's role, read from its payload (the API checks it; this only hides controls). */
function role() {
  const token = (authorization() || "").replace(/^Bearer\s+/i, "");
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).role ?? null;
  } catch {
    return null;
  }
}

/** Merging domains changes what the whole team sees: a team lead's (team_admin) decision. */
const canMerge = () => role() === "team_admin";

function variablesFor(tabName) {
  const tab = TABS[tabName];
  const variables = state.range ? { range: { ...state.range } } : { period: state.period };
  if (tab.usesComparison && state.compare) variables.compareTo = "PREVIOUS_PERIOD";
  if (tabName === "flow-quality") {
    Object.assign(variables, {
      sort: state.flowQuality.sort,
      direction: state.flowQuality.direction,
      first: flowQuality.PAGE_SIZE,
      offset: state.flowQuality.offset,
    });
  }
  return variables;
}

/** The alert line; with `retry`, a Retry button that runs it. */
function showAlert(message, retry = null) {
  const alert = $("alert");
  alert.replaceChildren();
  if (message) {
    alert.append(h("span", { id: "alert-text" }, message));
    if (retry) alert.append(" ", h("button", { type: "button", id: "alert-retry", onClick: retry }, "Retry"));
  }
  alert.hidden = !message;
}

function showTokenPanel(shown) {
  $("token-panel").hidden = !shown;
  $("token-open").setAttribute("aria-expanded", String(shown));
  $("demo-token").hidden = !demoMeta();
}

function askForToken(message) {
  showTokenPanel(true);
  showAlert(message);
  $("token").focus();
}

function describe(error) {
  if (error instanceof ApiError && error.unauthenticated) {
    const next = demoMeta()
      ? "Get a fresh demo token, or paste a token"
      : "Paste a new token (python main.py token prints one)";
    if (/expired/i.test(error.message)) return `Your token has expired. ${next} to see the numbers.`;
    const reason = error.message && !/^HTTP \d+$/.test(error.message) ? ` (${error.message})` : "";
    return `Your token was not accepted${reason}. ${next} to see the numbers.`;
  }
  if (error instanceof ApiError && error.code === "FORBIDDEN") {
    return "This token may not read analytics: the insights need a team admin or admin token.";
  }
  const id = error instanceof ApiError && error.requestId ? ` (request id ${error.requestId})` : "";
  return `The numbers could not be loaded: ${error.message}${id}.`;
}

/** How wide a chart may be drawn in the panel: one column on narrow screens, two on wide. */
function chartWidth(panel) {
  const width = panel.clientWidth || document.documentElement.clientWidth;
  const column = width >= 900 ? (width - 12) / 2 : width;
  return Math.round(Math.max(280, Math.min(DEFAULT_WIDTH, column - 30)));
}

function draw(tabName) {
  const panel = $(`panel-${tabName}`);
  const shown = state.shown[tabName];
  if (!shown) return;
  const parts = TABS[tabName].render(shown.data, {
    label: shown.label,
    chartWidth: chartWidth(panel),
    flowQuality: { sort: shown.variables.sort, direction: shown.variables.direction, offset: shown.variables.offset },
    onFlowQualityChange,
    aliases: canMerge() ? { onMerge: mergeDomain, onUndo: undoMerge } : null,
  });
  clear(panel).append(...parts);
}

async function load(tabName) {
  const panel = $(`panel-${tabName}`);
  const variables = variablesFor(tabName);
  const key = JSON.stringify(variables);
  const auth = authorization();
  if (!auth) {
    askForToken("Paste an API token to see the numbers.");
    return;
  }
  const mine = (generations[tabName] = (generations[tabName] ?? 0) + 1);
  const current = () => generations[tabName] === mine;
  const label = $(`tab-${tabName}`).textContent;
  const requestedLabel = state.label;
  // The first load shows where the numbers will be; later ones dim the numbers shown.
  if (!state.shown[tabName]) clear(panel).append(skeleton());
  panel.setAttribute("aria-busy", "true");
  $("status").textContent = `Loading ${label}…`;
  try {
    operations ??= await loadOperations();
    const data = await runTab(tabName, variables, auth);
    if (!current()) return;
    // Drawn from what was asked, not from the controls, which may have moved on since.
    state.shown[tabName] = { data, variables, label: requestedLabel };
    draw(tabName);
    panel.dataset.variables = key;
    delete panel.dataset.stale;
    state.loaded[tabName] = key;
    showAlert("");
    if (state.tab === tabName) $("status").textContent = `${label} loaded.`;
    rememberWindow(data);
  } catch (error) {
    if (!current()) return;
    $("status").textContent = "";
    const refused = error instanceof ApiError && error.unauthenticated;
    if (refused) {
      // A refused token is dropped, so neither a retry nor a reload sends it again; no
      // numbers of another token stay on the page.
      sessionStorage.removeItem(TOKEN_KEY);
      for (const name of Object.keys(TABS)) forget(name);
      askForToken(describe(error));
      return;
    }
    // The last numbers stay (marked as not the ones asked for), with a way to try again.
    if (state.shown[tabName]) panel.dataset.stale = "true";
    else clear(panel);
    showAlert(describe(error), () => {
      showAlert("");
      load(tabName);
    });
  } finally {
    if (current()) panel.removeAttribute("aria-busy");
  }
}

/**
 * The tab's answer; Coverage for a team lead also carries the account's domain aliases and
 * the suggestions for the same window. Those are extras: when they fail, the tab still shows.
 */
async function runTab(tabName, variables, auth) {
  const tab = runOperation(operations, TABS[tabName].operationName, variables, auth);
  if (tabName !== "coverage" || !canMerge() || !operations.DomainAliases) return tab;
  const window = variables.range ? { range: variables.range } : { period: variables.period };
  const aliases = runOperation(operations, "DomainAliases", window, auth).catch(() => ({}));
  const [data, extra] = await Promise.all([tab, aliases]);
  return { ...data, ...extra };
}

/** After a merge or its undo every tab's numbers are stale: the active one reloads now. */
async function afterAliasChange(message, focusSelector) {
  state.loaded = {};
  await load(state.tab);
  $("status").textContent = message;
  const target = document.querySelector(focusSelector) || document.querySelector("#panel-coverage h3");
  if (target) {
    if (!target.matches("button, summary, a, select")) target.tabIndex = -1;
    target.focus();
  }
}

async function changeAliases(operationName, variables) {
  try {
    return await runOperation(operations, operationName, variables, authorization());
  } catch (error) {
    const reason = error instanceof ApiError && error.code ? ` (${error.code})` : "";
    showAlert(`The domains could not be changed: ${error.message}${reason}.`);
    return null;
  }
}

async function mergeDomain({ spelling, target }) {
  const done = await changeAliases("AddDomainAlias", { spelling, target });
  if (!done) return;
  showAlert("");
  await afterAliasChange(
    `“${spelling}” now counts as “${target}” in every tab. Undo it under the knowledge gaps.`,
    `#coverage-aliases button.undo[data-spelling="${CSS.escape(spelling)}"]`,
  );
}

async function undoMerge(alias) {
  const done = await changeAliases("RemoveDomainAlias", { spelling: alias.spelling });
  if (!done) return;
  showAlert("");
  await afterAliasChange(
    `“${alias.spelling}” counts as its own domain again.`,
    `#coverage-gaps details.same-as[data-domain="${CSS.escape(alias.spelling)}"] summary`,
  );
}

function forget(tabName) {
  const panel = $(`panel-${tabName}`);
  clear(panel);
  delete panel.dataset.variables;
  delete panel.dataset.stale;
  delete state.loaded[tabName];
  delete state.shown[tabName];
}

/** The account's zone and today, from an answer: they bound the date picker. */
function rememberWindow(data) {
  const tab = Object.values(data)[0];
  if (!tab || !tab.timeZone) return;
  state.zone = tab.timeZone;
  boundPicker();
  if (!state.range) {
    $("range-from").value = tab.from;
    $("range-to").value = tab.to;
    boundPicker();
  }
}

/** The custom range can ask only for what the API allows: no day after the account's
 * today, at most 366 days, the first not after the last. */
function boundPicker() {
  const today = todayIn(state.zone);
  const from = $("range-from");
  const to = $("range-to");
  to.max = from.value && addDays(from.value, MAX_RANGE_DAYS - 1) < today ? addDays(from.value, MAX_RANGE_DAYS - 1) : today;
  to.min = from.value || "";
  from.max = to.value && to.value < today ? to.value : today;
  from.min = to.value ? addDays(to.value, -(MAX_RANGE_DAYS - 1)) : "";
}

function onFlowQualityChange(change) {
  Object.assign(state.flowQuality, change);
  load("flow-quality").then(() => {
    const focus = change.sort ? document.querySelector(`#flow-table button[data-sort="${change.sort}"]`) : $(change.offset > 0 ? "flow-next" : "flow-prev");
    if (focus && !focus.disabled) focus.focus();
  });
}

function selectTab(tabName, { focus = false } = {}) {
  state.tab = tabName;
  for (const name of Object.keys(TABS)) {
    const button = $(`tab-${name}`);
    const selected = name === tabName;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(`panel-${name}`).hidden = !selected;
    if (selected && focus) button.focus();
  }
  if (history.replaceState) history.replaceState(null, "", `#${tabName}`);
  $("status").textContent = "";
  if (state.loaded[tabName] !== JSON.stringify(variablesFor(tabName))) load(tabName);
  else draw(tabName); // drawn again for the panel's width, which a hidden panel lacks
}

/**
 * After the window or the comparison changed: the table starts on its first page (a new
 * window only), and the active tab asks again unless its variables are the same (the
 * comparison toggle does not change Coverage or Flow Quality). `force` asks again anyway
 * (a new token).
 */
function reloadActive({ force = false, firstPage = true } = {}) {
  if (firstPage) state.flowQuality.offset = 0;
  if (force) state.loaded = {};
  if (state.loaded[state.tab] !== JSON.stringify(variablesFor(state.tab))) load(state.tab);
}

function wireTabs() {
  const names = Object.keys(TABS);
  for (const name of names) {
    const button = $(`tab-${name}`);
    button.addEventListener("click", () => selectTab(name));
    button.addEventListener("keydown", (event) => {
      const index = names.indexOf(name);
      const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: names.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      selectTab(names[(moves[event.key] + names.length) % names.length], { focus: true });
    });
  }
}

function useToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  $("token").value = "";
  showTokenPanel(false);
  showAlert("");
  reloadActive({ force: true });
}

async function freshDemoToken() {
  try {
    const response = await fetch("/insights/demo-token", { method: "POST", headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    useToken((await response.json()).authorization);
  } catch (error) {
    showAlert(`A fresh demo token could not be had (${error.message}); paste a token instead.`);
  }
}

function wireControls() {
  $("period").addEventListener("change", (event) => {
    const value = event.target.value;
    $("range-fields").hidden = value !== "RANGE";
    if (value === "RANGE") {
      $("range-from").focus();
      return; // the range runs when applied
    }
    state.label = value;
    if (value in API_PERIODS) {
      state.period = value;
      state.range = null;
    } else {
      state.range = presetRange(value, todayIn(state.zone));
      $("range-from").value = state.range.from;
      $("range-to").value = state.range.to;
      boundPicker();
    }
    reloadActive();
  });
  for (const id of ["range-from", "range-to"]) $(id).addEventListener("change", boundPicker);
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    const from = $("range-from").value;
    const to = $("range-to").value;
    if (!from || !to || from > to) {
      showAlert("Choose a first and a last day, the first not after the last.");
      return;
    }
    if (to > todayIn(state.zone) || addDays(from, MAX_RANGE_DAYS - 1) < to) {
      showAlert(`Choose at most ${MAX_RANGE_DAYS} days, none after today.`);
      return;
    }
    state.range = { from, to };
    state.label = "RANGE";
    reloadActive();
  });
  $("compare").addEventListener("change", (event) => {
    state.compare = event.target.checked;
    reloadActive({ firstPage: false });
  });
  $("token-open").addEventListener("click", () => {
    showTokenPanel($("token-panel").hidden);
    if (!$("token-panel").hidden) $("token").focus();
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    useToken($("token").value.trim());
  });
  $("demo-token").addEventListener("click", freshDemoToken);
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => draw(state.tab), 150);
  });
}

/**
 * A click (or Enter / Space) on a count opens the rows it counts, for the window the tab
 * shows (not the picker's, which may have moved on while the tab reloads).
 */
function openEvidence(event) {
  const button = event.target.closest("button.count[data-evidence]");
  if (!button) return;
  const tabName = button.closest('[role="tabpanel"]').id.replace(/^panel-/, "");
  const shown = state.shown[tabName];
  if (!shown) return;
  const { period, range } = shown.variables;
  const tab = Object.values(shown.data)[0];
  const spec = button.dataset.evidence;
  evidence.open({
    spec: JSON.parse(spec),
    window: range ? { range } : { period },
    windowLabel: API_PERIODS[shown.label] || PRESETS[shown.label] || "Custom range",
    zone: tab.timeZone,
    count: Number(button.dataset.value),
    trigger: button,
    // The tab may have been redrawn (a resize) while the list was open: the same count.
    refocus: () => [...document.querySelectorAll(`#panel-${tabName} button.count`)].find((b) => b.dataset.evidence === spec),
  });
}

function start() {
  $("controls").reset(); // a restored form must not disagree with the state above
  $("demo-token").hidden = !demoMeta();
  boundPicker();
  wireTabs();
  wireControls();
  evidence.wire({ operations: () => operations, authorization });
  $("panels").addEventListener("click", openEvidence);
  const fromHash = location.hash.slice(1);
  selectTab(fromHash in TABS ? fromHash : "overview");
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
