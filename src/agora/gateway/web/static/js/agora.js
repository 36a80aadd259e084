// Shared by every page: calls to the REST API with the session's CSRF token, and htmx's
// requests carrying it too.

/** The CSRF token of this browser's session (the layout's meta tag). */
export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

/** A JSON call to the API (`/v1/…`); throws an Error with the problem's detail on failure. */
export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const document = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const error = new Error(document.detail || document.title || `HTTP ${response.status}`);
    error.problem = document;
    error.status = response.status;
    throw error;
  }
  return document;
}

/** Text into `element`, announced to screen readers when it is a live region. */
export function say(element, text) {
  if (element) element.textContent = text;
}

document.addEventListener("htmx:configRequest", (event) => {
  event.detail.headers["X-CSRF-Token"] = csrfToken();
});

// A swap that takes away the focused control (a pager link, a cart line's button) would drop
// keyboard focus to the page's start: it lands on the swapped-in content instead. htmx itself
// keeps focus on a control that comes back with the same id.
let focusedIn = "";
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  focusedIn = target?.id && target.contains(document.activeElement) ? target.id : "";
});
document.addEventListener("htmx:afterSettle", () => {
  const id = focusedIn;
  focusedIn = "";
  if (!id || (document.activeElement && document.activeElement !== document.body)) return;
  const landing = document.getElementById(id);
  if (!landing) return;
  if (!landing.hasAttribute("tabindex")) landing.setAttribute("tabindex", "-1");
  landing.focus({ preventScroll: true });
});
