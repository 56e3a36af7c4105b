// Building the DOM without innerHTML: every text a user or the API supplied goes in as
// a text node, so nothing it contains can become markup or script.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

let uid = 0;
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Announce a short message to screen readers (and keep it for tests to read). */
export function announce(message) {
  const region = document.getElementById("announcer");
  if (region) region.textContent = message;
}

/** A labelled form control with a slot for its field errors. */
export function field({ label, name, type = "text", hint, control, ...attrs }) {
  const id = nextId(name);
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : undefined;
  const input = control ?? h("input", { id, name, type, ...attrs });
  input.id = id;
  if (!input.name) input.name = name;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ");
  input.setAttribute("aria-describedby", describedBy);
  const error = h("p", { class: "field-error", id: errorId, dataset: { errorFor: name } });
  return h("div", { class: "field" },
    h("label", { for: id, text: label }),
    hint && h("p", { class: "hint", id: hintId, text: hint }),
    input,
    error);
}

/** Show the API's per-field problems under the matching controls of a form. Returns
 * whether any was shown: a problem with a field the form does not have (a token from
 * the address) is the caller's to show, never silently dropped. */
export function showFieldErrors(form, err) {
  for (const p of form.querySelectorAll("[data-error-for]")) p.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const fields = err?.details?.fields ?? {};
  let first = null;
  let shown = false;
  for (const [name, problems] of Object.entries(fields)) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (slot) {
      slot.textContent = `${labelOf(form, name)} ${[].concat(problems).join("; ")}`;
      shown = true;
    }
    if (input) {
      input.setAttribute("aria-invalid", "true");
      first ??= input;
    }
  }
  first?.focus();
  return shown;
}

function labelOf(form, name) {
  const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
  const label = input && form.querySelector(`label[for="${CSS.escape(input.id)}"]`);
  return label ? label.textContent : name;
}

/** An alert box for a failed request (role=alert so it is read out at once). */
export function errorBox(err, { retry } = {}) {
  const message = String(err?.message ?? err ?? "Something went wrong.");
  const box = h("div", { class: "alert alert-error", role: "alert" },
    h("p", { text: message.charAt(0).toUpperCase() + message.slice(1) }));
  // A reference helps support find a server-side failure; client mistakes need none.
  if (err?.requestId && (err.status ?? 0) >= 500) box.append(h("p", { class: "muted small", text: `Reference: ${err.requestId}` }));
  if (retry) box.append(h("button", { type: "button", class: "btn", onclick: retry, text: "Try again" }));
  return box;
}

export function emptyState(title, text, action) {
  return h("div", { class: "empty" }, h("h3", { text: title }), h("p", { text }), action);
}

export function loadingState(text = "Loading…") {
  return h("div", { class: "loading", role: "status", "aria-busy": "true" },
    h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { text }));
}

/** Save bytes as a file through a short-lived Blob URL. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename, class: "visually-hidden" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
