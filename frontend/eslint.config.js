// Lint for the web app: ESLint's recommended rules plus a few that catch slips the
// recommended set lets through (loose equality, shadowed names, reassignable bindings
// never reassigned), with the globals of the place each file runs in: the browser for
// src/, Node for the build config and the unit tests.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["dist/", "node_modules/"] },
  js.configs.recommended,
  {
    rules: {
      eqeqeq: "error",
      "no-shadow": "error",
      "no-var": "error",
      "prefer-const": "error",
    },
  },
  {
    files: ["src/**/*.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: globals.browser },
  },
  {
    files: ["*.js", "test/**/*.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: globals.node },
  },
];
