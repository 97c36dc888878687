// graphql-http's server audit (the GraphQL-over-HTTP spec's conformance checks) against a
// live server, authenticated as the demo team admin. No error and no warning; the only
// notices allowed are the optional (MAY) GET queries, which the service refuses by design
// (queries travel in POST bodies: size-limited, and never in URLs or access logs).
//
// Run by tests/clients/test_graphql_over_http.py: FLOWPILOT_API_URL, FLOWPILOT_TOKEN.

import assert from "node:assert/strict";
import { test } from "node:test";

import { auditServer } from "graphql-http";

const apiUrl = process.env.FLOWPILOT_API_URL;
const token = process.env.FLOWPILOT_TOKEN;
assert.ok(apiUrl && token, "FLOWPILOT_API_URL and FLOWPILOT_TOKEN must be set");

function authenticatedFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

test("graphql-http's server audit passes without an error or a warning", async () => {
  const results = await auditServer({ url: apiUrl, fetchFn: authenticatedFetch });
  const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
  const failures = [];
  for (const result of results) {
    counts[result.status] += 1;
    if (result.status === "notice" && /\bGETs?\b/.test(result.name)) {
      console.log(`notice ${result.id} ${result.name}`);
    } else if (result.status !== "ok") {
      const response = result.response;
      let body = "";
      try {
        body = response ? await response.text() : "";
      } catch {
        body = "(body already read)";
      }
      failures.push(`${result.status} ${result.id} ${result.name}: ${result.reason}\n    ${response?.status} ${response?.headers.get("content-type")} ${body.slice(0, 300)}`);
    }
  }
  console.log(
    `graphql-http audit: ${results.length} audits, ${counts.ok} ok, ${counts.error} errors, ${counts.warn} warnings, ${counts.notice} notices`,
  );
  for (const failure of failures) console.log(failure);
  assert.deepEqual(failures, []);
});
