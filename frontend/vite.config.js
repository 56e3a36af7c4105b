import { defineConfig } from "vite";

// The app is served from the site root by Firebase Hosting and by `tidemark serve`;
// /api/** is the same origin in both, so the dev server proxies it to a local stack.
export default defineConfig({
  base: "/",
  // Files copied as-is into dist/. (public/ holds only the page `tidemark serve` shows
  // when the app has not been built yet, so it must not be merged into the build.)
  publicDir: "static",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // The CSP forbids inline scripts: keep every script in a hashed file.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      "/api": process.env.TIDEMARK_API ?? "http://127.0.0.1:8080",
      "/storage": process.env.TIDEMARK_API ?? "http://127.0.0.1:8080",
    },
  },
});
