// The insights page's request logic (service/insights/static/js/api.js) against a scripted
// fetch: the APQ retry with the document, and both shapes of a refused token (200 with
// UNAUTHENTICATED, and HTTP 401 with a coded body).

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, runOperation } from "../../service/insights/static/js/api.js";

const OPERATIONS = { OverviewTab: { sha256Hash: "a".repeat(64), document: "query OverviewTab { overview { sessionCount } }" } };

function scriptedFetch(answers) {
  const sent = [];
  const fetchImpl = async (url, init) => {
    sent.push({ url, headers: init.headers, body: JSON.parse(init.body) });
    const [status, body] = answers.shift();
    return { status, ok: status < 300, json: async () => body };
  };
  return { sent, fetchImpl };
}

test("sends only the hash, with the token and the variables", async () => {
  const { sent, fetchImpl } = scriptedFetch([[200, { data: { overview: { sessionCount: 3 } } }]]);
  const data = await runOperation(OPERATIONS, "OverviewTab", { period: "LAST_7_DAYS" }, "Bearer t", { fetchImpl });
  assert.deepEqual(data, { overview: { sessionCount: 3 } });
  assert.equal(sent.length, 1);
  assert.equal(sent[0].headers.authorization, "Bearer t");
  assert.deepEqual(sent[0].body, {
    operationName: "OverviewTab",
    variables: { period: "LAST_7_DAYS" },
    extensions: { persistedQuery: { version: 1, sha256Hash: "a".repeat(64) } },
  });
});

test("resends hash and document when the server does not know the hash", async () => {
  const notFound = { errors: [{ message: "PersistedQueryNotFound", extensions: { code: "PERSISTED_QUERY_NOT_FOUND" } }] };
  const { sent, fetchImpl } = scriptedFetch([
    [200, notFound],
    [200, { data: { overview: { sessionCount: 4 } } }],
  ]);
  const data = await runOperation(OPERATIONS, "OverviewTab", {}, "Bearer t", { fetchImpl });
  assert.equal(data.overview.sessionCount, 4);
  assert.equal(sent.length, 2);
  assert.equal(sent[0].body.query, undefined);
  assert.equal(sent[1].body.query, OPERATIONS.OverviewTab.document);
  assert.deepEqual(sent[1].body.extensions, sent[0].body.extensions);
});

test("a refused token is unauthenticated, whether answered with 200 or 401", async () => {
  const coded = { errors: [{ message: "token has expired", extensions: { code: "UNAUTHENTICATED", requestId: "r1" } }] };
  for (const status of [200, 401]) {
    const { fetchImpl } = scriptedFetch([[status, { data: null, ...coded }]]);
    await assert.rejects(runOperation(OPERATIONS, "OverviewTab", {}, "Bearer old", { fetchImpl }), (error) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.unauthenticated, true);
      assert.equal(error.message, "token has expired");
      assert.equal(error.requestId, "r1");
      return true;
    });
  }
  const { fetchImpl } = scriptedFetch([[401, { error: { code: "UNAUTHENTICATED", message: "authentication required" } }]]);
  await assert.rejects(runOperation(OPERATIONS, "OverviewTab", {}, null, { fetchImpl }), (error) => error.unauthenticated);
});

test("other errors keep their code and are not taken for a refused token", async () => {
  const { fetchImpl } = scriptedFetch([[200, { data: null, errors: [{ message: "nope", extensions: { code: "PERSISTED_QUERY_NOT_ALLOWED" } }] }]]);
  await assert.rejects(runOperation(OPERATIONS, "OverviewTab", {}, "Bearer t", { fetchImpl }), (error) => {
    assert.equal(error.code, "PERSISTED_QUERY_NOT_ALLOWED");
    assert.equal(error.unauthenticated, false);
    return true;
  });
});
