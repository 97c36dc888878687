// A stock Apollo Client with its persisted-query link against a server in safelist mode
// that was given the manifest Apollo's own tool (@apollo/generate-persisted-query-manifest)
// wrote for queries/. The tabs and the service role's mutation run by id alone; a document
// outside the manifest is refused.
//
// Run by tests/clients/test_persisted_manifest.py: FLOWPILOT_API_URL, FLOWPILOT_TOKEN (team
// admin), FLOWPILOT_SERVICE_TOKEN, FLOWPILOT_MANIFEST, FLOWPILOT_QUERIES_DIR and
// FLOWPILOT_MATCH ({"sessionId", "flowId"} of the demo account).

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { generatePersistedQueryIdsFromManifest } from "@apollo/persisted-query-lists";

const env = process.env;
for (const name of ["API_URL", "TOKEN", "SERVICE_TOKEN", "MANIFEST", "QUERIES_DIR", "MATCH"]) {
  assert.ok(env[`FLOWPILOT_${name}`], `FLOWPILOT_${name} must be set`);
}
const manifest = JSON.parse(readFileSync(env.FLOWPILOT_MANIFEST, "utf8"));
const match = JSON.parse(env.FLOWPILOT_MATCH);

function client(token, linkOptions, sent) {
  const recordingFetch = (url, init) => {
    sent.push(JSON.parse(init.body));
    return fetch(url, init);
  };
  const http = new HttpLink({
    uri: env.FLOWPILOT_API_URL,
    headers: { authorization: `Bearer ${token}` },
    fetch: recordingFetch,
  });
  return new ApolloClient({ link: new PersistedQueryLink(linkOptions).concat(http), cache: new InMemoryCache() });
}

const fromManifest = () => generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest });
const stockSha256 = () => ({ sha256: (text) => createHash("sha256").update(text).digest("hex") });

function documentOf(file) {
  return gql(readFileSync(join(env.FLOWPILOT_QUERIES_DIR, file), "utf8"));
}

const TABS = [
  ["overview.graphql", "overview"],
  ["coverage.graphql", "coverage"],
  ["flow-quality.graphql", "flowQuality"],
  ["psa.graphql", "psaActivity"],
];

for (const [label, linkOptions] of [
  ["ids from the manifest", fromManifest],
  ["the stock sha256 link", stockSha256],
]) {
  test(`the tabs run by id alone (${label})`, async () => {
    const sent = [];
    const apollo = client(env.FLOWPILOT_TOKEN, linkOptions(), sent);
    for (const [file, root] of TABS) {
      const result = await apollo.query({ query: documentOf(file), variables: { period: "LAST_30_DAYS" } });
      assert.equal(result.error, undefined, `${file}: ${result.error}`);
      assert.ok(result.data[root], file);
    }
    const ids = new Set(manifest.operations.map((operation) => operation.id));
    assert.equal(sent.length, TABS.length, "one request per tab: no retry with the text");
    for (const body of sent) {
      assert.equal(body.query, undefined, "only the id is sent");
      assert.ok(ids.has(body.extensions.persistedQuery.sha256Hash), body.operationName);
    }
    console.log(`${label}: ${sent.map((body) => `${body.operationName}=${body.extensions.persistedQuery.sha256Hash.slice(0, 12)}`).join(" ")}`);
  });
}

test("the service role's recordFlowMatch mutation runs from the manifest", async () => {
  const sent = [];
  const apollo = client(env.FLOWPILOT_SERVICE_TOKEN, fromManifest(), sent);
  const result = await apollo.mutate({
    mutation: documentOf("record-flow-match.graphql"),
    variables: { input: { sessionId: match.sessionId, flowId: match.flowId, confidence: 0.9 } },
  });
  assert.equal(result.error, undefined, String(result.error));
  assert.equal(result.data.recordFlowMatch.flowId, match.flowId);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].query, undefined);
  console.log(`RecordFlowMatch: counted=${result.data.recordFlowMatch.counted}`);
});

test("a document outside the manifest is refused, by hash and with its text", async () => {
  const sent = [];
  const apollo = client(env.FLOWPILOT_TOKEN, stockSha256(), sent);
  const result = await apollo.query({
    query: gql`query NotInTheManifest { overview { sessionCount } }`,
    errorPolicy: "all",
  });
  assert.ok(result.error, "refused");
  const codes = (result.error.errors ?? []).map((error) => error.extensions?.code);
  assert.deepEqual(codes, ["PERSISTED_QUERY_NOT_ALLOWED"], String(result.error));
  assert.equal(result.data, undefined);
});
