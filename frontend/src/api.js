// The one way the app talks to the API: same origin, JSON, bearer token, a refresh and
// one retry on 401, and errors as ApiError carrying the server's {code, message, details}.

import * as session from "./session.js";

export class ApiError extends Error {
  constructor(status, body, requestId) {
    const err = body?.error ?? {};
    super(err.message || friendlyStatus(status));
    this.status = status;
    this.code = err.code ?? `http_${status}`;
    this.details = err.details ?? {};
    this.requestId = requestId;
  }
}

// What a non-JSON answer to an /api call means: on Hosting an unknown /api path (or an
// API that is not deployed yet) falls back to index.html, and a proxy may answer with
// its own HTML error page.
const NOT_JSON = "Tidemark's server gave an unexpected answer (not the API's data). "
  + "Reload the page; if it keeps happening, the service may be updating, so try again in a few minutes.";

function notJson(resp) {
  const err = new ApiError(resp.status, { error: { code: "unexpected_response", message: NOT_JSON,
    details: { content_type: resp.headers.get("Content-Type") ?? "" } } },
  resp.headers.get("X-Request-Id"));
  // Shown like a server failure: with a reference when there is one.
  err.status = resp.ok ? 502 : resp.status;
  return err;
}

function isJson(resp) {
  return /[/+]json\b/i.test(resp.headers.get("Content-Type") ?? "");
}

function isHtml(resp) {
  return /^text\/html\b/i.test(resp.headers.get("Content-Type") ?? "");
}

function friendlyStatus(status) {
  if (status === 0) return "Cannot reach Tidemark. Check your connection and try again.";
  if (status === 401) return "Your session has ended. Please sign in again.";
  if (status === 403) return "Your role does not allow this.";
  if (status === 404) return "Not found.";
  if (status === 429) return "Too many attempts. Please wait a moment and try again.";
  if (status >= 500) return "Tidemark is having trouble right now. Please try again shortly.";
  return `Request failed (${status}).`;
}

let onUnauthenticated = () => {};
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

export function queryString(params = {}) {
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of [].concat(value)) qs.append(key, String(v));
  }
  const s = qs.toString();
  return s ? `?${s}` : "";
}

/**
 * api("/api/metrics", {query: {...}}) -> parsed JSON (null for 204).
 * Options: method, body (JSON), query, auth (default true), raw (return the Response),
 * data + contentType (a raw body sent as is, e.g. a Blob of CSV).
 */
export async function api(path, { method = "GET", body, query, auth = true, raw = false,
  signal, data, contentType } = {}) {
  const url = path + queryString(query);
  const send = async () => {
    const headers = { Accept: raw ? "*/*" : "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (data !== undefined) headers["Content-Type"] = contentType ?? "application/octet-stream";
    if (auth) {
      const token = await session.accessToken();
      if (token) headers.Authorization = `Bearer ${token}`;
    }
    try {
      return await fetch(url, { method, headers, signal,
        body: data !== undefined ? data : body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new ApiError(0, null);
    }
  };
  let resp = await send();
  if (resp.status === 401 && auth) {
    try {
      await session.refresh();
      resp = await send();
    } catch {
      // fall through with the 401
    }
    if (resp.status === 401) {
      const err = await toError(resp);
      session.clear();
      onUnauthenticated(err);
      throw err;
    }
  }
  if (!resp.ok) throw await toError(resp);
  if (raw) {
    // A download that comes back as the app's own page is not the file that was asked for.
    if (isHtml(resp)) throw notJson(resp);
    return resp;
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  if (!text) return null;
  if (!isJson(resp)) throw notJson(resp);
  try {
    return JSON.parse(text);
  } catch {
    throw notJson(resp);
  }
}

async function toError(resp) {
  let body = null;
  if (isJson(resp)) {
    try {
      body = await resp.json();
    } catch {
      body = null;
    }
  } else if (isHtml(resp) && resp.status !== 401 && resp.status < 500) {
    // An HTML error page instead of the API's JSON: say so rather than "Request failed".
    return notJson(resp);
  }
  const err = new ApiError(resp.status, body, resp.headers.get("X-Request-Id"));
  const retryAfter = Number(resp.headers.get("Retry-After"));
  if (resp.status === 429 && retryAfter > 0) {
    err.message = `Too many attempts. Please wait ${retryAfter} seconds and try again.`;
  }
  return err;
}

/**
 * PUT a file to a signed URL with real upload progress (fetch cannot report it).
 * Resolves on 2xx, rejects with ApiError otherwise; `onProgress(loaded, total)`.
 */
export function putWithProgress(url, file, headers, onProgress, { signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [k, v] of Object.entries(headers ?? {})) {
      // The browser sets these itself and refuses to be told.
      if (["content-length", "host"].includes(k.toLowerCase())) continue;
      xhr.setRequestHeader(k, v);
    }
    xhr.upload.addEventListener("progress", (e) => {
      onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve();
      } else {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = null;
        }
        reject(new ApiError(xhr.status, body));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, null)));
    xhr.addEventListener("abort", () => reject(Object.assign(new Error("Upload cancelled"),
      { name: "AbortError" })));
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(file);
  });
}

/** GET a protected file (it needs the bearer token, so no plain link) as a Blob. */
export async function fetchBlob(path, query) {
  const resp = await api(path, { query, raw: true });
  const disposition = resp.headers.get("Content-Disposition") ?? "";
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  return { blob: await resp.blob(), filename: match ? decodeURIComponent(match[1]) : null };
}
