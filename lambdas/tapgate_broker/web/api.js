// The HTTP API v1 as the page uses it: JSON in and out, RFC 9457 problems as ApiError.
//
// URLs are relative to this module (served as {apiUrl}/v1/static/api.js), so the
// page works under any host and whatever the document's own path is.

const API_BASE = new URL("../", import.meta.url);

/** A failed API call: the problem document's slug, title and detail, and Retry-After. */
export class ApiError extends Error {
  constructor({ status, slug, title, detail, retryAfter }) {
    super(title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.slug = slug;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

/** The service could not be reached at all (offline, DNS, connection reset). */
export class NetworkError extends Error {
  constructor() {
    super("The tapgate service could not be reached");
    this.name = "NetworkError";
  }
}

/**
 * Call the API. ``token`` goes only into the Authorization header (never the URL).
 * Answers the parsed JSON body, or null for 204.
 */
export async function call(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  const init = { method, headers, credentials: "omit", cache: "no-store", redirect: "error" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(new URL(path, API_BASE), init);
  } catch {
    throw new NetworkError();
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let document = null;
  try {
    document = text ? JSON.parse(text) : null;
  } catch {
    document = null;
  }
  if (!response.ok) throw problemError(response, document);
  return document;
}

function problemError(response, document) {
  const problem = document && typeof document === "object" ? document : {};
  const type = typeof problem.type === "string" ? problem.type : "";
  const slug = type.slice(type.lastIndexOf("/") + 1) || statusSlug(response.status);
  return new ApiError({
    status: response.status,
    slug,
    title: typeof problem.title === "string" ? problem.title : "",
    detail: typeof problem.detail === "string" ? problem.detail : "",
    retryAfter: retryAfterSeconds(response.headers.get("Retry-After")),
  });
}

function statusSlug(status) {
  return (
    {
      400: "bad-request",
      401: "ceremony-failed",
      403: "forbidden",
      404: "not-found",
      409: "conflict",
      413: "payload-too-large",
      429: "throttled",
      503: "dependency-unavailable",
    }[status] || "internal"
  );
}

/** Retry-After as whole seconds (delta-seconds or an HTTP date), or null. */
export function retryAfterSeconds(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
}
