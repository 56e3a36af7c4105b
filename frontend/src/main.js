import "./styles.css";

import { setUnauthenticatedHandler } from "./api.js";
import { renderTopbar } from "./layout.js";
import { navigate, render, route, setGuard, start } from "./router.js";
import * as session from "./session.js";

route("/", () => import("./pages/home.js"));
route("/signin", () => import("./pages/signin.js"), { public: true, title: "Sign in" });
route("/register", () => import("./pages/register.js"), { public: true, title: "Create account" });
route("/invite", () => import("./pages/invite.js"), { public: true, title: "Accept invite" });
route("/forgot-password", () => import("./pages/forgot-password.js"),
  { public: true, title: "Reset your password" });
route("/reset-password", () => import("./pages/reset-password.js"),
  { public: true, title: "Choose a new password" });
route("/verify-email", () => import("./pages/verify-email.js"),
  { public: true, title: "Confirm your email" });
route("/account", () => import("./pages/account.js"), { title: "Your account" });
route("/dashboard", () => import("./pages/dashboard.js"), { title: "Dashboard" });
route("/customers", () => import("./pages/customers.js"), { title: "Customers" });
route("/upload", () => import("./pages/upload.js"), { role: "analyst", title: "Upload" });
route("/uploads", () => import("./pages/uploads.js"), { title: "Uploads" });
route("/uploads/:id", () => import("./pages/upload-detail.js"), { title: "Upload" });
route("/admin", () => import("./pages/admin.js"), { role: "admin", title: "Users" });
route("*", () => import("./pages/notfound.js"), { public: true, title: "Not found" });

setGuard((meta, path) => {
  const { signedIn } = session.current();
  if (meta.public) {
    return signedIn && (path === "/signin" || path === "/register") ? "/dashboard" : null;
  }
  if (!signedIn) {
    const next = path === "/" ? "" : `?next=${encodeURIComponent(path + location.search)}`;
    return `/signin${next}`;
  }
  if (meta.role && !session.hasRole(meta.role)) return "/dashboard";
  return null;
});

setUnauthenticatedHandler(() => {
  if (location.pathname !== "/signin") navigate("/signin", { replace: true });
});

let lastSignedIn = null;
session.onChange(({ signedIn }) => {
  renderTopbar();
  // Signed out in the background (refresh rejected): leave protected pages at once.
  if (lastSignedIn && !signedIn && location.pathname !== "/signin") render();
  lastSignedIn = signedIn;
});
document.addEventListener("tidemark:route", renderTopbar);

(async () => {
  await session.restore();
  lastSignedIn = session.current().signedIn;
  renderTopbar();
  await start();
})();
