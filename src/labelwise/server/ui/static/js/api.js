// The JSON API under /api/projects/{id}, with the session cookie and the CSRF token.

// An Error with the HTTP status it came with (none: the request got no answer).
export function failure(message, status) {
  const error = new Error(message);
  error.status = status;
  return error;
}

// No answer (network down: fetch rejects without a status), or the server says "later".
export function transient(error) {
  const status = error.status;
  return status === undefined || status >= 500 || status === 408 || status === 429;
}

export const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

// A key the server stores a decision under once, however often it is retried.
export function clientKey() {
  return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
}

// call(method, path, body) for one project: resolves to the answer's JSON (null for a
// 204), rejects with failure(the server's message, status). A 401 goes to the log-in form.
export function projectApi(projectId, csrf) {
  const base = "/api/projects/" + projectId;
  return async function call(method, path, body) {
    const headers = { Accept: "application/json", "X-CSRF-Token": csrf };
    const init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(base + path, init);
    if (response.status === 401) {
      window.location.assign("/ui/login");
      throw failure("Your session ended; please log in again.", 401);
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw failure((data.error && data.error.message) || response.statusText, response.status);
    }
    return data;
  };
}
