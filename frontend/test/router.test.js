// router.js: real-path routes with :params, a guard that can redirect, one page shown at
// a time. The browser objects it touches (location, history, document, window) are small
// fakes here, so what is checked is the router's own logic.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

class FakeMain {
  constructor() {
    this.children = [];
    this.heading = null;
  }

  get firstChild() {
    return this.children[0] ?? null;
  }

  removeChild(child) {
    this.children = this.children.filter((c) => c !== child);
  }

  querySelector(selector) {
    return selector === "h1" ? this.heading : null;
  }
}

const main = new FakeMain();
const routeEvents = [];
const location = { pathname: "/", search: "", href: "http://app.test/", origin: "http://app.test" };
const history = {
  entries: [],
  pushState(_state, _title, path) {
    this.entries.push(["push", path]);
    go(path);
  },
  replaceState(_state, _title, path) {
    this.entries.push(["replace", path]);
    go(path);
  },
};

function go(path) {
  const url = new URL(path, location.href);
  Object.assign(location, { pathname: url.pathname, search: url.search, href: url.href });
}

globalThis.location = location;
globalThis.history = history;
globalThis.window = { scrollTo() {}, addEventListener() {} };
globalThis.document = {
  title: "",
  getElementById: (id) => (id === "main" ? main : null),
  dispatchEvent: (event) => routeEvents.push(event.detail.path),
  addEventListener() {},
};

const router = await import("../src/router.js");

/** A page module as the router loads it: render() records what it was given. */
function page(name, calls) {
  return async () => ({
    render(el, ctx) {
      calls.push({ name, params: ctx.params, query: ctx.query.toString() });
      el.children.push(name);
      return () => calls.push({ name, cleanedUp: true });
    },
  });
}

const calls = [];
let releaseSlow = null;
router.route("/", page("home", calls), { title: "Home" });
router.route("/uploads/:id", page("upload", calls), { title: "Upload" });
router.route("/tenants/:tid/users/:uid", page("user", calls));
router.route("/admin", page("admin", calls), { title: "Team", role: "admin" });
router.route("/slow", () => new Promise((resolve) => {
  releaseSlow = () => resolve({ render: () => calls.push({ name: "slow" }) });
}), { title: "Slow" });
router.route("*", page("notfound", calls), { title: "Not found" });

let signedIn = true;
router.setGuard((meta, path) => (meta.role === "admin" && !signedIn
  ? `/signin?next=${encodeURIComponent(path)}` : null));

beforeEach(() => {
  calls.length = 0;
  routeEvents.length = 0;
  history.entries.length = 0;
  signedIn = true;
});

test("a path parameter is matched and URL-decoded", async () => {
  await router.navigate("/uploads/up%20one");
  assert.deepEqual(calls.at(-1), { name: "upload", params: { id: "up one" }, query: "" });
  assert.equal(globalThis.document.title, "Upload · Tidemark");
  assert.deepEqual(history.entries, [["push", "/uploads/up%20one"]]);
});

test("several parameters are matched in order, and a trailing slash is allowed", async () => {
  await router.navigate("/tenants/t_1/users/u_2/");
  assert.deepEqual(calls.at(-1).params, { tid: "t_1", uid: "u_2" });
  assert.equal(globalThis.document.title, "Tidemark");  // a route without a title
});

test("a parameter never spans a slash and the match is anchored", async () => {
  await router.navigate("/uploads/a/b");
  assert.equal(calls.at(-1).name, "notfound");
  await router.navigate("/x/uploads/a");
  assert.equal(calls.at(-1).name, "notfound");
  assert.equal(globalThis.document.title, "Not found · Tidemark");
});

test("the query string reaches the page", async () => {
  await router.navigate("/?from=2024-01-01&dim=region");
  assert.deepEqual(calls.at(-1), { name: "home", params: {}, query: "from=2024-01-01&dim=region" });
});

test("the previous page is cleaned up and the main element emptied before the next", async () => {
  await router.navigate("/uploads/u1");
  calls.length = 0;
  routeEvents.length = 0;
  await router.navigate("/");
  assert.deepEqual(calls, [{ name: "upload", cleanedUp: true },
    { name: "home", params: {}, query: "" }]);
  assert.deepEqual(main.children, ["home"]);
  assert.deepEqual(routeEvents, ["/"]);
});

test("the guard redirects in place: the guarded page is never rendered", async () => {
  signedIn = false;
  await router.navigate("/admin");
  assert.deepEqual(history.entries, [["push", "/admin"], ["replace", "/signin?next=%2Fadmin"]]);
  assert.deepEqual(calls.map((c) => c.name).filter((n) => n === "admin"), []);
  signedIn = true;
  await router.navigate("/admin");
  assert.equal(calls.at(-1).name, "admin");
});

test("navigating to the page already shown renders it again without a new history entry", async () => {
  await router.navigate("/uploads/u9");
  history.entries.length = 0;
  await router.navigate("/uploads/u9");
  assert.deepEqual(history.entries, []);
  assert.equal(calls.filter((c) => c.name === "upload" && !c.cleanedUp).length, 2);
});

test("a page that finishes loading after a newer navigation is not shown", async () => {
  const stale = router.navigate("/slow");
  await router.navigate("/uploads/u2");
  releaseSlow();
  await stale;
  assert.equal(calls.some((c) => c.name === "slow"), false);
  assert.equal(location.pathname, "/uploads/u2");
  assert.equal(globalThis.document.title, "Upload · Tidemark");
});

test("the heading of the new page takes the focus", async () => {
  const focused = [];
  main.heading = { setAttribute: (k, v) => focused.push([k, v]), focus: () => focused.push("focus") };
  try {
    await router.navigate("/");
  } finally {
    main.heading = null;
  }
  assert.deepEqual(focused, [["tabindex", "-1"], "focus"]);
});

test("setQuery rewrites the query string in place without rendering", async () => {
  await router.navigate("/uploads/u3");
  calls.length = 0;
  history.entries.length = 0;
  router.setQuery({ from: "2024-01-01", dim: ["region", "channel"], empty: "", none: null });
  assert.deepEqual(history.entries, [["replace", "/uploads/u3?from=2024-01-01&dim=region&dim=channel"]]);
  assert.deepEqual(calls, []);
  router.setQuery({ from: "" });
  assert.equal(location.search, "");
  assert.deepEqual(history.entries.at(-1), ["replace", "/uploads/u3"]);
});
