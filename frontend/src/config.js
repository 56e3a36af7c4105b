// Public, non-secret settings of the web app.

/** The demo account `tidemark serve` seeds on first run (sample data, nothing private). */
export const DEMO = Object.freeze({
  email: "demo@tidemark.local",
  password: "tidemark-demo-2024",
});

/** How often the upload page asks for ingestion status, and for how long at most. */
export const POLL_MS = 1000;
export const POLL_MAX_MS = 30 * 60 * 1000;
