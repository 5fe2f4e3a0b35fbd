/**
 * `npm run build` (also run by `npm pack` and `npm start`): bundles the `mailconf` command
 * (src/cli/main.ts: the CLI, the server and everything runtime-neutral they use) with esbuild into
 * dist/cli/: `main.js` plus one chunk per lazily imported part (each command's action, the
 * server, the SQL and LDAP drivers, signing), so a command loads only what it runs.
 *
 * Why a bundle and not tsc's one file per source: Node 20's ES module loader pays for every file
 * it resolves, reads and compiles, and the dependencies come in hundreds of small files (zod alone
 * is 95). Measured on the 2-core machine (docs/benchmark.md "CLI start-up"): tsc's dist/ loaded
 * 122 modules for `mailconf --version` and 262 for `mailconf check`; the bundle loads a handful.
 *
 * The built-in providers go in as validated here, at build time (as the Worker bundles them,
 * scripts/bundle-settings.ts): src/providers/builtin.ts validates them with the settings model when
 * this script imports it (a mistake fails the build), and the bundle holds the result
 * ({@link builtinProvidersModule}), so a command that reads no settings file or database (`mailconf
 * check` on the built-in providers) does not validate them again at every start.
 *
 * Dependencies are bundled too, except native or optional ones that must be resolved at run time
 * from the installed package's node_modules ({@link EXTERNAL}); they stay in package.json's
 * `dependencies`, so `npm i -g` installs them. CommonJS dependencies inside the ES module bundle get
 * a real `require` (the banner), which they use for Node's built-in modules. A CommonJS package
 * must be imported statically (by an own module that is itself imported lazily): imported by
 * `import()`, esbuild puts it in a chunk with only a default export, so named exports are undefined
 * (test/build.test.ts checks src/ for this). The dependencies' license
 * comments are kept at the end of each file (esbuild's `legalComments: "eof"`).
 *
 *   node --import tsx scripts/build.ts
 *
 * Exit codes: 0 built; 1 esbuild reported an error (printed).
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import type { Provider } from "../src/providers/model.ts";

const ROOT = join(fileURLToPath(import.meta.url), "../..");

/**
 * Packages left to Node's resolver: libsql (a native addon chosen per platform at run time) and pg
 * (its optional pg-native addon), both loaded only when a database of that kind is opened.
 */
export const EXTERNAL = ["libsql", "pg", "pg-native"];

/** The module that replaces src/providers/builtin.ts in the bundle: the providers, validated. */
export function builtinProvidersModule(providers: readonly Provider[] = BUILTIN_PROVIDERS): string {
  return [
    "// src/providers/builtin.ts as validated by scripts/build.ts",
    `export const BUILTIN_PROVIDERS = ${JSON.stringify(providers)};`,
    "",
  ].join("\n");
}

/** Loads {@link builtinProvidersModule} for src/providers/builtin.ts. */
const validatedBuiltins: Plugin = {
  name: "validated-builtin-providers",
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]providers[\\/]builtin\.ts$/ }, () => ({
      contents: builtinProvidersModule(),
      loader: "js",
    }));
  },
};

/** Builds dist/ from src/ (removing what was there). @throws if esbuild fails */
export async function buildDist(outdir = join(ROOT, "dist")): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: { "cli/main": "src/cli/main.ts" },
    outdir,
    // Chunks sit beside main.js, so `new URL("../../package.json", import.meta.url)` finds the
    // package's own package.json from whichever chunk holds the code.
    chunkNames: "cli/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20.19",
    external: EXTERNAL,
    banner: {
      js: 'import { createRequire as __mailconfRequire } from "node:module";\nconst require = __mailconfRequire(import.meta.url);',
    },
    legalComments: "eof",
    logLevel: "warning",
    plugins: [validatedBuiltins],
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildDist().catch(() => {
    process.exitCode = 1; // esbuild has printed the errors
  });
}
