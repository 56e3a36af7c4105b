// api.js: the app's one client of the API. fetch is replaced by a fake that answers from
// a script and records each request, so these tests cover the client's own decisions:
// headers, the refresh-and-retry on 401, errors as ApiError, and answers that are not
// the API's JSON (Hosting's index.html fallback, a proxy's error page).
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";

const storage = new Map();
globalThis.sessionStorage = {
  getItem: (k) => (storage.has(k) ? storage.get(k) : null),
  setItem: (k, v) => storage.set(k, String(v)),
  removeItem: (k) => storage.delete(k),
};

let script = [];
const requests = [];
globalThis.fetch = async (url, init = {}) => {
  requests.push({ url, method: init.method ?? "GET", headers: init.headers ?? {}, body: init.body });
  const next = script.shift();
  if (!next) throw new Error(`unexpected request ${url}`);
  return typeof next === "function" ? next(url, init) : next;
};

const session = await import("../src/session.js");
const { api, ApiError, fetchBlob, queryString, setUnauthenticatedHandler } = await import("../src/api.js");

const USER = { id: "u_1", email: "a@example.com", role: "analyst" };
const TENANT = { id: "t_1", name: "Acme" };

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status,
    headers: { "Content-Type": "application/json", ...headers } });
}

function html(status, headers = {}) {
  return new Response("<!doctype html><title>Tidemark</title>", { status,
    headers: { "Content-Type": "text/html; charset=utf-8", ...headers } });
}

function signIn(access = "access-1", refresh = "refresh-1") {
  session.establish({ access_token: access, expires_in: 900, refresh_token: refresh,
    user: USER, tenant: TENANT });
}

let unauthenticated = [];
beforeEach(() => {
  script = [];
  requests.length = 0;
  unauthenticated = [];
  setUnauthenticatedHandler((err) => unauthenticated.push(err));
});

afterEach(() => {
  // Also stops the session's refresh timer, which would keep the test process alive.
  session.clear();
  assert.deepEqual(script, [], "every scripted answer was asked for");
});

test("a GET sends the bearer token and the query, and returns the parsed JSON", async () => {
  signIn();
  script.push(json(200, { kpis: { revenue: 10 } }));
  const out = await api("/api/metrics", { query: { from: "2024-01-01", dim: ["a", "b"], to: "" } });
  assert.deepEqual(out, { kpis: { revenue: 10 } });
  assert.equal(requests[0].url, "/api/metrics?from=2024-01-01&dim=a&dim=b");
  assert.equal(requests[0].headers.Authorization, "Bearer access-1");
  assert.equal(requests[0].headers.Accept, "application/json");
  assert.equal(requests[0].body, undefined);
});

test("a body is sent as JSON; a request without auth carries no token", async () => {
  signIn();
  script.push(json(201, { ok: true }));
  await api("/api/auth/login", { method: "POST", body: { email: "a@example.com" }, auth: false });
  assert.equal(requests[0].method, "POST");
  assert.equal(requests[0].headers["Content-Type"], "application/json");
  assert.equal(requests[0].body, '{"email":"a@example.com"}');
  assert.equal("Authorization" in requests[0].headers, false);
});

test("a raw body (the preview's head of a CSV) is sent as is, with its content type", async () => {
  signIn();
  script.push(json(200, { columns: [] }));
  const head = new Blob(["date,amount\n2024-01-01,5\n"]);
  await api("/api/uploads/preview", { method: "POST", data: head, contentType: "text/csv",
    query: { partial: "true" } });
  assert.equal(requests[0].url, "/api/uploads/preview?partial=true");
  assert.equal(requests[0].headers["Content-Type"], "text/csv");
  assert.equal(requests[0].body, head);
  assert.equal(requests[0].headers.Authorization, "Bearer access-1");
});

test("204 and an empty body are null", async () => {
  script.push(new Response(null, { status: 204 }), new Response("", { status: 200 }));
  assert.equal(await api("/api/uploads/u1", { method: "DELETE", auth: false }), null);
  assert.equal(await api("/api/empty", { auth: false }), null);
});

test("an API error becomes an ApiError with the server's code, message, details and request id", async () => {
  script.push(json(422, { error: { code: "invalid_request", message: "Check the form.",
    details: { fields: { email: "required" } } } }, { "X-Request-Id": "req-7" }));
  const err = await api("/api/uploads", { method: "POST", body: {}, auth: false }).catch((e) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 422);
  assert.equal(err.code, "invalid_request");
  assert.equal(err.message, "Check the form.");
  assert.deepEqual(err.details, { fields: { email: "required" } });
  assert.equal(err.requestId, "req-7");
});

test("an error without the API's body gets a plain-language message by status", async () => {
  script.push(new Response("upstream", { status: 503, headers: { "Content-Type": "text/plain" } }),
    new Response("", { status: 403 }));
  const down = await api("/api/metrics", { auth: false }).catch((e) => e);
  assert.equal(down.code, "http_503");
  assert.equal(down.message, "Tidemark is having trouble right now. Please try again shortly.");
  const denied = await api("/api/auth/users", { auth: false }).catch((e) => e);
  assert.equal(denied.message, "Your role does not allow this.");
});

test("429 tells how long to wait when the server says", async () => {
  script.push(json(429, { error: { code: "rate_limited", message: "Slow down" } }, { "Retry-After": "30" }));
  const err = await api("/api/auth/login", { method: "POST", body: {}, auth: false }).catch((e) => e);
  assert.equal(err.status, 429);
  assert.equal(err.message, "Too many attempts. Please wait 30 seconds and try again.");
});

test("a network failure is status 0 with a connection message", async () => {
  script.push(() => {
    throw new TypeError("fetch failed");
  });
  const err = await api("/api/metrics", { auth: false }).catch((e) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 0);
  assert.match(err.message, /^Cannot reach Tidemark/);
});

test("an aborted request stays an AbortError", async () => {
  script.push(() => {
    throw Object.assign(new Error("aborted"), { name: "AbortError" });
  });
  const err = await api("/api/metrics", { auth: false }).catch((e) => e);
  assert.equal(err.name, "AbortError");
  assert.equal(err instanceof ApiError, false);
});

test("a 401 refreshes the session once and retries with the new token", async () => {
  signIn("access-old", "refresh-old");
  script.push(
    json(401, { error: { code: "unauthenticated", message: "expired" } }),
    json(200, { access_token: "access-new", expires_in: 900, refresh_token: "refresh-new",
      user: USER, tenant: TENANT }),
    json(200, { items: [] }),
  );
  assert.deepEqual(await api("/api/uploads"), { items: [] });
  assert.deepEqual(requests.map((r) => r.url), ["/api/uploads", "/api/auth/refresh", "/api/uploads"]);
  assert.equal(requests[0].headers.Authorization, "Bearer access-old");
  assert.deepEqual(JSON.parse(requests[1].body), { refresh_token: "refresh-old" });
  assert.equal(requests[2].headers.Authorization, "Bearer access-new");
  assert.equal(sessionStorage.getItem("tidemark.refresh"), "refresh-new");
  assert.deepEqual(unauthenticated, []);
});

test("a 401 whose refresh is refused ends the session and reports it", async () => {
  signIn();
  script.push(
    json(401, { error: { code: "unauthenticated", message: "Your token has expired." } }),
    json(401, { error: { code: "invalid_refresh_token", message: "revoked" } }),
  );
  const err = await api("/api/uploads").catch((e) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 401);
  assert.equal(err.message, "Your token has expired.");
  assert.deepEqual(unauthenticated, [err]);
  assert.equal(session.current().signedIn, false);
  assert.equal(sessionStorage.getItem("tidemark.refresh"), null);
});

test("a 401 on a request without auth is an ordinary error: no refresh, session kept", async () => {
  signIn();
  script.push(json(401, { error: { code: "invalid_credentials", message: "Wrong email or password." } }));
  const err = await api("/api/auth/login", { method: "POST", body: {}, auth: false }).catch((e) => e);
  assert.equal(err.code, "invalid_credentials");
  assert.equal(requests.length, 1);
  assert.equal(session.current().signedIn, true);
  assert.deepEqual(unauthenticated, []);
});

test("an HTML page where JSON was expected is an unexpected answer, shown as 502", async () => {
  script.push(html(200, { "X-Request-Id": "req-9" }));
  const err = await api("/api/not-deployed", { auth: false }).catch((e) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.code, "unexpected_response");
  assert.equal(err.status, 502);
  assert.equal(err.requestId, "req-9");
  assert.deepEqual(err.details, { content_type: "text/html; charset=utf-8" });
  assert.match(err.message, /unexpected answer/);
});

test("an HTML error page keeps its status; JSON that does not parse is unexpected too", async () => {
  script.push(html(404), new Response("{not json", { status: 200,
    headers: { "Content-Type": "application/problem+json" } }));
  const missing = await api("/api/nowhere", { auth: false }).catch((e) => e);
  assert.equal(missing.code, "unexpected_response");
  assert.equal(missing.status, 404);
  const broken = await api("/api/broken", { auth: false }).catch((e) => e);
  assert.equal(broken.code, "unexpected_response");
  assert.equal(broken.status, 502);
});

test("a download that comes back as the app's page is refused; a file is returned with its name", async () => {
  signIn();
  script.push(html(200), new Response("a,b\n1,2\n", { status: 200, headers: {
    "Content-Type": "text/csv", "Content-Disposition": "attachment; filename*=UTF-8''bad%20rows.csv" } }));
  const err = await fetchBlob("/api/uploads/u1/quarantine").catch((e) => e);
  assert.equal(err.code, "unexpected_response");
  assert.equal(requests[0].headers.Accept, "*/*");
  const { blob, filename } = await fetchBlob("/api/uploads/u1/quarantine", { format: "csv" });
  assert.equal(filename, "bad rows.csv");
  assert.equal(await blob.text(), "a,b\n1,2\n");
  assert.equal(requests[1].url, "/api/uploads/u1/quarantine?format=csv");
});

test("queryString drops empty values, repeats lists and encodes", () => {
  assert.equal(queryString({}), "");
  assert.equal(queryString({ a: "", b: null, c: undefined }), "");
  assert.equal(queryString({ q: "a&b c", n: 0, list: [1, 2] }), "?q=a%26b+c&n=0&list=1&list=2");
});
