// Client-side routes on real paths (Hosting and the local server fall back to
// index.html for them), so every page has a URL that can be bookmarked and shared.

const routes = [];
let cleanup = null;
let renderToken = 0;
let rendering = null; // the path and query of the page shown (or being loaded)
let guard = () => null;

export function route(pattern, load, meta = {}) {
  const keys = [];
  const re = pattern === "*" ? /$^/ : new RegExp(`^${pattern.replace(/:(\w+)/g, (_, k) => {
    keys.push(k);
    return "([^/]+)";
  })}/?$`);
  routes.push({ re, keys, load, meta, pattern });
}

export function setGuard(fn) {
  guard = fn;
}

export function navigate(path, { replace = false } = {}) {
  if (path === location.pathname + location.search && !replace) return render();
  history[replace ? "replaceState" : "pushState"]({}, "", path);
  return render();
}

/** Update the query string of the current page without re-rendering it. */
export function setQuery(params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const item of [].concat(v ?? [])) if (item !== "" && item !== null) qs.append(k, item);
  }
  const s = qs.toString();
  history.replaceState({}, "", location.pathname + (s ? `?${s}` : ""));
  rendering = location.pathname + location.search;
}

export async function render() {
  const token = ++renderToken;
  const path = location.pathname;
  rendering = path + location.search;
  let match = null;
  for (const r of routes) {
    const m = r.re.exec(path);
    if (m) {
      match = { ...r, params: Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])])) };
      break;
    }
  }
  if (!match) match = { ...routes.find((r) => r.pattern === "*"), params: {} };
  const redirect = guard(match.meta, path);
  if (redirect) {
    history.replaceState({}, "", redirect);
    return render();
  }
  if (typeof cleanup === "function") cleanup();
  cleanup = null;
  const main = document.getElementById("main");
  const page = await match.load();
  if (token !== renderToken) return undefined;
  while (main.firstChild) main.removeChild(main.firstChild);
  document.title = match.meta.title ? `${match.meta.title} · Tidemark` : "Tidemark";
  cleanup = page.render(main, { params: match.params, query: new URLSearchParams(location.search) });
  document.dispatchEvent(new CustomEvent("tidemark:route", { detail: { path } }));
  // Move focus to the new page's heading for keyboard and screen-reader users.
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
  return undefined;
}

export function start() {
  // A change of the #fragment only (the skip link) is not a new page.
  window.addEventListener("popstate", () => {
    if (location.pathname + location.search !== rendering) render();
  });
  document.addEventListener("click", (e) => {
    const a = e.target.closest("a[href]");
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey
      || a.target || a.hasAttribute("download")) return;
    // In-page links (the skip link) keep the browser's own behaviour: scroll and focus.
    if (a.getAttribute("href").startsWith("#")) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  return render();
}
