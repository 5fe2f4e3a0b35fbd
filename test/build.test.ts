/**
 * The bundle of `npm run build` (scripts/build.ts) against the sources it is built from: the
 * built-in providers it holds are src/providers/builtin.ts's as the settings model validated them,
 * and `mailconf check` on the bundle prints, for one address of every built-in provider, what the
 * TypeScript sources print through tsx (real processes; `npm test` builds dist/ before the tests).
 * Commands that lazily load a dependency run on the bundle too: a CommonJS package loaded by
 * `await import()` ends up in a chunk with only a default export (`providers export` crashed with
 * "stringify is not a function"), which tests of the sources cannot see.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { builtinProvidersModule } from "../scripts/build.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { REPO_ROOT } from "./helpers/shared.ts";

const BUNDLE = join(REPO_ROOT, "dist/cli/main.js");

function run(args: string[]) {
  const r = spawnSync(process.execPath, args, {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, MAILCONF_DB: "", NODE_OPTIONS: "" },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  // Run alone (`npx vitest run test/build.test.ts`) on a checkout never built: build once.
  if (!existsSync(BUNDLE)) expect(run(["--import", "tsx", "scripts/build.ts"]).status).toBe(0);
}, 120_000);

describe("npm run build", () => {
  it("bundles the built-in providers as validated, every field and value kept", async () => {
    const source = builtinProvidersModule();
    const module = await import(`data:text/javascript,${encodeURIComponent(source)}`);
    expect(module.BUILTIN_PROVIDERS).toStrictEqual(BUILTIN_PROVIDERS);
    expect(module.BUILTIN_PROVIDERS.map((p: { id: string }) => p.id)).toEqual([
      "googlemail.com",
      "hotmail.com",
      "me.com",
      "yahoo.com",
      "example.com",
    ]);
  });

  it.each([
    "jane@gmail.com",
    "jane@hotmail.com",
    "jane@icloud.com",
    "jane@yahoo.com",
    "jane.doe@example.com",
  ])(
    "mailconf check %s prints the same on the bundle as on the sources",
    (address) => {
      const bundle = run([BUNDLE, "check", address, "--no-mx"]);
      const sources = run(["--import", "tsx", "src/cli/main.ts", "check", address, "--no-mx"]);
      expect(bundle).toMatchObject({ status: 0, stderr: "" });
      expect(bundle.stdout).toContain(`${address}: `);
      expect(bundle).toEqual(sources);
    },
    60_000,
  );
});

describe("lazily loaded dependencies in the bundle", () => {
  it("src/ loads no package by `await import()`, only its own modules and node: built-ins", () => {
    // esbuild turns a dynamically imported CommonJS package into a default-export-only chunk;
    // a package is imported statically by an own module that is itself imported lazily.
    const src = join(REPO_ROOT, "src");
    const offenders: string[] = [];
    for (const f of readdirSync(src, { recursive: true, encoding: "utf8" })) {
      if (!f.endsWith(".ts")) continue;
      const text = readFileSync(join(src, f), "utf8");
      for (const m of text.matchAll(/\bimport\(\s*["'`]([^"'`]+)["'`]/g))
        if (!m[1]?.startsWith(".") && !m[1]?.startsWith("node:")) offenders.push(`src/${f}: ${m[1]}`);
    }
    expect(offenders).toEqual([]);
  });

  it("providers export (YAML and --json) on the bundle reads back with validate and providers add", () => {
    const dir = mkdtempSync(join(tmpdir(), "mailconf-build-export-"));
    try {
      const db = (name: string) => ["--db", join(dir, name)];
      expect(run([BUNDLE, "providers", "add", "examples/settings.yaml", ...db("a.db")])).toMatchObject({
        status: 0,
        stderr: "",
      });
      const yaml = run([BUNDLE, "providers", "export", ...db("a.db")]);
      expect(yaml).toMatchObject({ status: 0, stderr: "" });
      expect(yaml.stdout).toMatch(/^providers:\n {2}- id: example\.org\n/);
      const file = join(dir, "exported.yaml");
      writeFileSync(file, yaml.stdout);
      expect(run([BUNDLE, "validate", file])).toMatchObject({
        status: 0,
        stdout: `${file}: ok, 1 provider(s)\n`,
      });
      // Published again from the export, the store exports the same file (YAML and JSON).
      expect(run([BUNDLE, "providers", "add", file, ...db("b.db")]).status).toBe(0);
      expect(run([BUNDLE, "providers", "export", ...db("b.db")]).stdout).toBe(yaml.stdout);
      const json = run([BUNDLE, "providers", "export", "--json", ...db("a.db")]);
      expect(json).toMatchObject({ status: 0, stderr: "" });
      expect(JSON.parse(json.stdout).providers[0].id).toBe("example.org");
      expect(run([BUNDLE, "providers", "export", "--json", ...db("b.db")]).stdout).toBe(json.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
