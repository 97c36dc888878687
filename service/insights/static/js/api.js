// Runs the first-party operations as persisted queries, with the caller's bearer token.
//
// The server says which hash each operation has (GET /insights/operations.json), so the
// page follows however the server matches persisted queries. A request carries only the
// hash; when the server does not know it (PERSISTED_QUERY_NOT_FOUND, outside safelist mode)
// the page resends hash and document, as Apollo's APQ link does.

/** A refused or failed request; `code` is the API's extensions.code when it sent one. */
export class ApiError extends Error {
  constructor(message, { code = null, status = null, requestId = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
    this.requestId = requestId;
  }

  /** The token is missing, expired or invalid: the page must ask for another. */
  get unauthenticated() {
    return this.code === "UNAUTHENTICATED" || this.status === 401;
  }
}

export async function loadOperations(fetchImpl = fetch, base = "") {
  const response = await fetchImpl(`${base}/insights/operations.json`, {
    headers: { accept: "application/json" },
  });
  if (!response.ok) {
    throw new ApiError(`the page's operations could not be loaded (HTTP ${response.status})`, {
      status: response.status,
    });
  }
  return response.json();
}

function firstError(body) {
  const errors = body && Array.isArray(body.errors) ? body.errors : [];
  if (errors.length > 0) return errors[0];
  if (body && body.error && typeof body.error === "object") return body.error; // REST-style refusal
  return null;
}

async function post(fetchImpl, url, body, authorization) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (authorization) headers.authorization = authorization;
  let response;
  try {
    response = await fetchImpl(url, { method: "POST", headers, body: JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(`the API could not be reached (${error.message})`, { code: "NETWORK" });
  }
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed };
}

function refusal(status, body) {
  const error = firstError(body);
  const extensions = (error && error.extensions) || {};
  const code = extensions.code || (error && error.code) || null;
  const requestId = extensions.requestId || (body && body.requestId) || null;
  const message = (error && error.message) || `HTTP ${status}`;
  return new ApiError(message, { code, status, requestId });
}

/**
 * Runs `operationName` with `variables`; resolves to its `data`, or throws an ApiError.
 * `operations` is the map of GET /insights/operations.json.
 */
export async function runOperation(operations, operationName, variables, authorization, options = {}) {
  const { fetchImpl = fetch, url = "/graphql" } = options;
  const operation = operations[operationName];
  if (!operation) throw new ApiError(`unknown operation ${operationName}`);
  const persistedQuery = { version: 1, sha256Hash: operation.sha256Hash };
  const request = { operationName, variables, extensions: { persistedQuery } };
  let answer = await post(fetchImpl, url, request, authorization);
  let error = firstError(answer.body);
  if (error && error.extensions && error.extensions.code === "PERSISTED_QUERY_NOT_FOUND") {
    answer = await post(fetchImpl, url, { ...request, query: operation.document }, authorization);
    error = firstError(answer.body);
  }
  if (error || answer.status !== 200 || !answer.body || !answer.body.data) {
    throw refusal(answer.status, answer.body);
  }
  return answer.body.data;
}
