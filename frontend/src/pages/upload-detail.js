import { api } from "../api.js";
import { errorBox, h, loadingState, replace } from "../dom.js";
import { FINAL, renderReport, statusLine, uploadFacts } from "../report.js";
import * as session from "../session.js";

export function render(main, { params }) {
  const body = h("div", {}, loadingState());
  const heading = h("h1", { text: "Upload" });
  let timer = null;
  let stopped = false;
  main.append(h("section", { class: "page" },
    h("p", {}, h("a", { href: "/uploads", text: "← All uploads" })),
    heading, body));

  async function load() {
    try {
      const upload = await api(`/api/uploads/${encodeURIComponent(params.id)}`);
      if (stopped) return;
      heading.textContent = upload.filename ? `Upload: ${upload.filename}` : "Upload";
      replace(body, h("div", { class: "card" }, statusLine(upload), uploadFacts(upload)),
        h("div", { class: "card" }, renderReport(upload, {
          retry: session.hasRole("analyst") ? `/upload?from=${encodeURIComponent(upload.id)}` : undefined })));
      if (!FINAL.has(upload.status)) timer = setTimeout(load, 1500);
    } catch (err) {
      if (!stopped) replace(body, errorBox(err, { retry: load }));
    }
  }
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
