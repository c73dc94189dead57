// The API client: every call carries the bearer token kept in sessionStorage (gone when the tab closes).
// Same origin only; nothing here ever talks to another host.

const TOKEN_KEY = "hazleads.token";

export class ApiError extends Error {
  constructor(status, detail, requestId) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
    this.requestId = requestId;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

let onUnauthorized = () => {};
let navSignal = null;

/** The signal of the view on screen: the router aborts it on every navigation, so a GET started by
 * a view the user has left never lands (POSTs and cached look-ups are not tied to a view). */
export function setNavSignal(signal) { navSignal = signal; }

/** A request the router aborted because the user went elsewhere (not an error to show). */
export const isAbort = (err) => err?.name === "AbortError";
export function whenUnauthorized(cb) { onUnauthorized = cb; }

/** "/v1/x" + params (null, undefined and "" left out; arrays repeated). */
export function url(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === "") continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function send(path, { method = "GET", params, body, signal, tokenOverride } = {}) {
  const headers = { Accept: "application/json" };
  const t = tokenOverride ?? token.get();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url(path, params), {
    method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit", cache: "no-store",
  });
  if (!res.ok) {
    let detail = res.statusText;
    let rid = res.headers.get("x-request-id");
    try {
      const j = await res.json();
      detail = j.detail ?? detail;
      rid = j.request_id ?? rid;
    } catch { /* not JSON */ }
    if (res.status === 401 && !tokenOverride) onUnauthorized(detail);
    throw new ApiError(res.status, detail, rid);
  }
  return res;
}

export async function get(path, params, opts = {}) {
  const signal = "signal" in opts ? opts.signal : navSignal;
  return (await send(path, { ...opts, signal: signal ?? undefined, params })).json();
}

export async function post(path, body, params, opts = {}) {
  return (await send(path, { ...opts, method: "POST", body, params })).json();
}

/** The signed-in user with a candidate token (does not keep it). */
export async function whoAmI(candidate) {
  return (await send("/v1/me", { tokenOverride: candidate })).json();
}

/** Fetch a file (with the token) and hand it to the browser as a download. */
export async function download(path, params, fallbackName) {
  const res = await send(path, { params });
  const blob = await res.blob();
  const cd = res.headers.get("content-disposition") || "";
  const m = /filename="?([^";]+)"?/.exec(cd);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = m ? m[1] : fallbackName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  return { name: a.download, size: blob.size };
}

/** DELETE (no answer body). */
export async function del(path, params) {
  await send(path, { method: "DELETE", params });
}
