// The signed-in session.
//
// The access token (15 minutes) lives only in memory: nothing on disk, gone with the tab.
// The refresh token is kept in sessionStorage so that a reload of the tab keeps the user
// signed in; sessionStorage is per tab and cleared when the tab closes, unlike
// localStorage, and the strict Content-Security-Policy (no inline or third-party
// script) is what guards it against script injection. The server rotates it on every
// use and revokes the whole family if a rotated one is replayed.

const REFRESH_KEY = "tidemark.refresh";
const listeners = new Set();

const state = {
  accessToken: null,
  expiresAt: 0,
  user: null,
  tenant: null,
};
let refreshTimer = null;
let refreshing = null;

export const ROLE_RANK = { viewer: 1, analyst: 2, admin: 3 };

export function current() {
  return { user: state.user, tenant: state.tenant, signedIn: Boolean(state.accessToken) };
}

export function hasRole(role) {
  return Boolean(state.user) && (ROLE_RANK[state.user.role] ?? 0) >= ROLE_RANK[role];
}

export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit() {
  for (const fn of listeners) fn(current());
}

function storedRefresh() {
  try {
    return sessionStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function storeRefresh(token) {
  try {
    if (token) sessionStorage.setItem(REFRESH_KEY, token);
    else sessionStorage.removeItem(REFRESH_KEY);
  } catch {
    // Storage disabled: the session simply ends with the page.
  }
}

/** Take a login/register/refresh/invite response as the session. */
export function establish(resp) {
  state.accessToken = resp.access_token;
  state.expiresAt = Date.now() + (resp.expires_in ?? 900) * 1000;
  if (resp.user) state.user = resp.user;
  if (resp.tenant) state.tenant = resp.tenant;
  if (resp.refresh_token) storeRefresh(resp.refresh_token);
  scheduleRefresh(resp.expires_in ?? 900);
  emit();
}

function scheduleRefresh(expiresIn) {
  clearTimeout(refreshTimer);
  // Refresh a minute early (or at 80% of a short lifetime) so requests rarely meet a 401.
  const lead = Math.min(60, expiresIn * 0.2);
  refreshTimer = setTimeout(() => {
    refresh().catch(() => {});
  }, Math.max(5, expiresIn - lead) * 1000);
}

export function clear() {
  clearTimeout(refreshTimer);
  state.accessToken = null;
  state.expiresAt = 0;
  state.user = null;
  state.tenant = null;
  storeRefresh(null);
  emit();
}

/** The access token, refreshed first if it is about to expire; null when signed out. */
export async function accessToken() {
  if (state.accessToken && Date.now() < state.expiresAt - 15_000) return state.accessToken;
  if (!storedRefresh()) return state.accessToken;
  try {
    await refresh();
  } catch {
    return null;
  }
  return state.accessToken;
}

/** Exchange the refresh token for a new pair; one exchange at a time. */
export function refresh() {
  if (refreshing) return refreshing;
  const token = storedRefresh();
  if (!token) return Promise.reject(new Error("not signed in"));
  refreshing = (async () => {
    const resp = await fetch("/api/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ refresh_token: token }),
    });
    if (!resp.ok) {
      // A rejected token (expired, revoked, reused) ends the session; a network or
      // server failure leaves it for the next attempt.
      if (resp.status === 400 || resp.status === 401) clear();
      throw new Error(`refresh failed (${resp.status})`);
    }
    const body = await resp.json();
    establish(body);
    if (!state.tenant) await loadMe();
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function loadMe() {
  const resp = await fetch("/api/auth/me", {
    headers: { Authorization: `Bearer ${state.accessToken}`, Accept: "application/json" },
  });
  if (resp.ok) {
    const body = await resp.json();
    state.user = body.user;
    state.tenant = body.tenant;
    emit();
  }
}

/** Read the user again (after a change made elsewhere, such as a confirmed address). */
export async function reloadUser() {
  if (state.accessToken) await loadMe();
}

/** On page load: resume the tab's session if it has a refresh token. */
export async function restore() {
  if (!storedRefresh()) return false;
  try {
    await refresh();
    return true;
  } catch {
    return false;
  }
}

export async function signOut() {
  const token = storedRefresh();
  clear();
  if (token) {
    try {
      await fetch("/api/auth/logout", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: token }),
      });
    } catch {
      // Signed out locally either way; the token expires on its own.
    }
  }
}
