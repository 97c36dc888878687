// The insights page: four tabs, a period picker and a comparison toggle over the
// first-party operations. State lives here; each tab module only draws its data.

import { ApiError, loadOperations, runOperation } from "./api.js";
import { clear } from "./dom.js";
import * as coverage from "./coverage.js";
import * as flowQuality from "./flow-quality.js";
import * as overview from "./overview.js";
import * as psa from "./psa.js";

const TABS = { overview, coverage, "flow-quality": flowQuality, psa };
const TOKEN_KEY = "flowpilot.insights.token";

const state = {
  tab: "overview",
  period: "LAST_30_DAYS",
  range: null, // {from, to} when the custom range is chosen
  compare: true, // the headline numbers come with their change unless switched off
  flowQuality: { sort: "QUALITY", direction: "DESC", offset: 0 },
  loaded: {}, // tab -> the variables its panel shows (JSON), so a tab reloads only when stale
};

let operations = null;
const generations = {}; // tab -> its newest request: an older answer never replaces a newer one

const $ = (id) => document.getElementById(id);

function authorization() {
  const stored = sessionStorage.getItem(TOKEN_KEY);
  if (stored) return `Bearer ${stored.replace(/^Bearer\s+/i, "").trim()}`;
  const demo = document.querySelector('meta[name="flowpilot-demo-authorization"]');
  return demo ? demo.content : null;
}

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

function showAlert(message) {
  const alert = $("alert");
  alert.textContent = message;
  alert.hidden = !message;
}

function showTokenPanel(shown) {
  $("token-panel").hidden = !shown;
  $("token-open").setAttribute("aria-expanded", String(shown));
}

function askForToken(message) {
  showTokenPanel(true);
  showAlert(message);
  $("token").focus();
}

function describe(error) {
  if (error instanceof ApiError && error.unauthenticated) {
    const demo = document.querySelector('meta[name="flowpilot-demo-authorization"]');
    const next = demo
      ? "Reload the page for a fresh demo token, or enter a token"
      : "Enter a new token (python main.py token prints one)";
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

async function load(tabName) {
  const panel = $(`panel-${tabName}`);
  const variables = variablesFor(tabName);
  const key = JSON.stringify(variables);
  const auth = authorization();
  if (!auth) {
    askForToken("Enter an API token to see the numbers.");
    return;
  }
  const mine = (generations[tabName] = (generations[tabName] ?? 0) + 1);
  const current = () => generations[tabName] === mine;
  const label = $(`tab-${tabName}`).textContent;
  panel.setAttribute("aria-busy", "true");
  $("status").textContent = `Loading ${label}…`;
  try {
    operations ??= await loadOperations();
    const data = await runOperation(operations, TABS[tabName].operationName, variables, auth);
    if (!current()) return;
    // Drawn from what was asked, not from the controls, which may have moved on since.
    const parts = TABS[tabName].render(data, {
      usesRange: Boolean(variables.range),
      flowQuality: { sort: variables.sort, direction: variables.direction, offset: variables.offset },
      onFlowQualityChange,
    });
    clear(panel).append(...parts);
    panel.dataset.variables = key;
    state.loaded[tabName] = key;
    showAlert("");
    if (state.tab === tabName) $("status").textContent = `${label} loaded.`;
    rememberWindow(data);
  } catch (error) {
    if (!current()) return;
    $("status").textContent = "";
    // No numbers are better than numbers of another window or another token.
    const refused = error instanceof ApiError && error.unauthenticated;
    for (const name of refused ? Object.keys(TABS) : [tabName]) forget(name);
    if (refused) askForToken(describe(error));
    else showAlert(describe(error));
  } finally {
    if (current()) panel.removeAttribute("aria-busy");
  }
}

function forget(tabName) {
  const panel = $(`panel-${tabName}`);
  clear(panel);
  delete panel.dataset.variables;
  delete state.loaded[tabName];
}

/** The custom range starts as the window just shown, so it is always a valid one. */
function rememberWindow(data) {
  const tab = Object.values(data)[0];
  if (!state.range && tab && tab.from && tab.to) {
    $("range-from").value = tab.from;
    $("range-to").value = tab.to;
    $("range-to").max = tab.to;
    $("range-from").max = tab.to;
  }
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
  if (state.loaded[tabName] !== JSON.stringify(variablesFor(tabName))) load(tabName);
}

/**
 * After the window or the comparison changed: the table starts on its first page (a new
 * window only), and the active tab asks again unless its variables are the same (the comparison toggle does not
 * change Coverage or Flow Quality). `force` asks again anyway (a new token).
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

function wireControls() {
  $("period").addEventListener("change", (event) => {
    const value = event.target.value;
    $("range-fields").hidden = value !== "RANGE";
    if (value === "RANGE") {
      $("range-from").focus();
      return; // the range runs when applied
    }
    state.period = value;
    state.range = null;
    reloadActive();
  });
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    const from = $("range-from").value;
    const to = $("range-to").value;
    if (!from || !to || from > to) {
      showAlert("Choose a first and a last day, the first not after the last.");
      return;
    }
    state.range = { from, to };
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
    const token = $("token").value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    $("token").value = "";
    showTokenPanel(false);
    showAlert("");
    reloadActive({ force: true });
  });
}

function start() {
  $("controls").reset(); // a restored form must not disagree with the state above
  wireTabs();
  wireControls();
  const fromHash = location.hash.slice(1);
  selectTab(fromHash in TABS ? fromHash : "overview");
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();

