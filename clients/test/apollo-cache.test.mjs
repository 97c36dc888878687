// A stock Apollo Client with its default InMemoryCache runs the first-party documents
// (queries/) for several windows; reading each one back from the cache must give exactly
// what the network gave. A normalizing cache merges objects by __typename and id, so any
// period-dependent field on a type with an id would show one window's numbers in another.
//
// Run by tests/clients/test_node_clients.py against a live server with the demo data:
// FLOWPILOT_API_URL, FLOWPILOT_TOKEN, FLOWPILOT_QUERIES_DIR, FLOWPILOT_TODAY (YYYY-MM-DD).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";

const apiUrl = process.env.FLOWPILOT_API_URL;
const token = process.env.FLOWPILOT_TOKEN;
const queriesDir = process.env.FLOWPILOT_QUERIES_DIR;
const today = process.env.FLOWPILOT_TODAY;
assert.ok(apiUrl && token && queriesDir && today, "FLOWPILOT_* environment is not set");

function client() {
  return new ApolloClient({
    link: new HttpLink({ uri: apiUrl, headers: { authorization: `Bearer ${token}` } }),
    cache: new InMemoryCache(),
  });
}

function documentOf(file) {
  return gql(readFileSync(join(queriesDir, file), "utf8"));
}

function daysBefore(isoDay, days) {
  const day = new Date(`${isoDay}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() - days);
  return day.toISOString().slice(0, 10);
}

// Windows every tab is asked for, one after another, on one client (one cache).
const WINDOWS = [
  { name: "7 days", variables: { period: "LAST_7_DAYS" } },
  { name: "90 days", variables: { period: "LAST_90_DAYS" } },
  { name: "30 days", variables: { period: "LAST_30_DAYS" } },
  { name: "a range", variables: { range: { from: daysBefore(today, 20), to: daysBefore(today, 6) } } },
];
const COMPARED = [
  { name: "30 days vs the previous 30", variables: { period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" } },
  { name: "7 days vs the previous 7", variables: { period: "LAST_7_DAYS", compareTo: "PREVIOUS_PERIOD" } },
];

const TABS = [
  { file: "overview.graphql", root: "overview", windows: [...WINDOWS, ...COMPARED] },
  { file: "coverage.graphql", root: "coverage", windows: WINDOWS },
  { file: "flow-quality.graphql", root: "flowQuality", windows: WINDOWS },
  { file: "psa.graphql", root: "psaActivity", windows: [...WINDOWS, ...COMPARED] },
];

// A tab's numbers without the fields that name its window.
function figures(tab) {
  const { period, from, to, asOf, ...numbers } = tab;
  return numbers;
}

async function networkThenCache(apollo, query, windows) {
  const fromNetwork = [];
  for (const window of windows) {
    const result = await apollo.query({ query, variables: window.variables, fetchPolicy: "network-only" });
    assert.equal(result.error, undefined, `${window.name}: ${result.error}`);
    fromNetwork.push(result.data);
  }
  for (const [index, window] of windows.entries()) {
    const cached = await apollo.query({ query, variables: window.variables, fetchPolicy: "cache-only" });
    assert.deepStrictEqual(cached.data, fromNetwork[index], `${window.name}: the cache differs`);
  }
  return fromNetwork;
}

for (const tab of TABS) {
  test(`${tab.file}: every window reads back from the cache as the network gave it`, async () => {
    const answers = await networkThenCache(client(), documentOf(tab.file), tab.windows);
    const [sevenDays, ninetyDays] = answers.map((data) => figures(data[tab.root]));
    // The windows' numbers really differ, so a cache that mixed them would be caught.
    assert.notDeepStrictEqual(sevenDays, ninetyDays);
  });
}

test("the four tabs share one cache and each keeps its own windows", async () => {
  const apollo = client();
  const answers = [];
  for (const tab of TABS) {
    answers.push(await networkThenCache(apollo, documentOf(tab.file), tab.windows));
  }
  for (const [index, tab] of TABS.entries()) {
    for (const [position, window] of tab.windows.entries()) {
      const cached = apollo.readQuery({ query: documentOf(tab.file), variables: window.variables });
      assert.deepStrictEqual(cached, answers[index][position], `${tab.root} ${window.name}`);
    }
  }
});

const FLOW_DETAIL = gql`
  query FlowDetail($id: ID!, $period: Period, $compareTo: ComparisonPeriod) {
    flow(id: $id, period: $period, compareTo: $compareTo) {
      flow {
        id
        name
        totalUsageCount
      }
      usageCount
      successRate
      previous {
        usageCount
        successRate
      }
    }
  }
`;

test("a flow compared with its previous period keeps both figures apart in the cache", async () => {
  const apollo = client();
  const quality = await apollo.query({
    query: documentOf("flow-quality.graphql"),
    variables: { period: "LAST_30_DAYS", first: null },
    fetchPolicy: "network-only",
  });
  const candidates = quality.data.flowQuality.flows.filter((row) => row.usageCount > 0);
  let chosen = null;
  for (const row of candidates) {
    const variables = { id: row.flow.id, period: "LAST_30_DAYS", compareTo: "PREVIOUS_PERIOD" };
    const { data } = await apollo.query({ query: FLOW_DETAIL, variables, fetchPolicy: "network-only" });
    if (data.flow.usageCount !== data.flow.previous.usageCount) {
      chosen = { variables, data };
      break;
    }
  }
  assert.ok(chosen, "the demo data has a flow whose usage differs between the two windows");
  const sevenDays = { ...chosen.variables, period: "LAST_7_DAYS" };
  const week = await apollo.query({ query: FLOW_DETAIL, variables: sevenDays, fetchPolicy: "network-only" });
  for (const [variables, expected] of [
    [chosen.variables, chosen.data],
    [sevenDays, week.data],
  ]) {
    const cached = await apollo.query({ query: FLOW_DETAIL, variables, fetchPolicy: "cache-only" });
    assert.deepStrictEqual(cached.data, expected);
  }
  // The flow itself is one cache entry, shared by every window and the Flow Quality table.
  const entity = apollo.cache.extract()[`Flow:${chosen.variables.id}`];
  assert.equal(entity.totalUsageCount, chosen.data.flow.flow.totalUsageCount);
  assert.equal(entity.usageCount, undefined, "period figures must not live on the Flow entity");
});
