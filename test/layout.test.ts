/**
 * The layout's two guards (issue 12): Biome's noRestrictedImports (biome.json overrides) refuses
 * `node:` modules and the Node-only folders in runtime-neutral code, and the Worker type check
 * (tsconfig.worker.json, Workers types and no Node types) covers every runtime-neutral file.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/shared.ts";

const bin = (name: string) => join(REPO_ROOT, "node_modules/.bin", name);

/**
 * Biome's lint, with this repository's biome.json, of `source` written at `path` in a scratch copy
 * (Biome reports nothing useful for stdin, and the repository itself is not written to).
 */
function lintAs(path: string, source: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "mailconf-layout-"));
  try {
    copyFileSync(join(REPO_ROOT, "biome.json"), join(dir, "biome.json"));
    mkdirSync(join(dir, dirname(path)), { recursive: true });
    writeFileSync(join(dir, path), source);
    const r = spawnSync(bin("biome"), ["lint", "--vcs-enabled=false", path], { cwd: dir, encoding: "utf8" });
    return { status: r.status, output: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const NODE_IMPORTS = `import { readFile } from "node:fs/promises";
import { openSqlite } from "../node/sqlite.ts";
export const used = [readFile, openSqlite];
`;

const NEUTRAL = [
  "src/providers",
  "src/handlers",
  "src/templates",
  "src/store",
  "src/dns",
  "src/xml",
  "src/worker",
];

describe("import rule", () => {
  it.each(NEUTRAL)("%s: node: modules and src/node are refused", (folder) => {
    const { status, output } = lintAs(`${folder}/probe.ts`, NODE_IMPORTS);
    expect(status).toBe(1);
    expect(output).toContain(
      "runtime-neutral code (everything in src/ outside src/node and src/cli) runs on Workers too",
    );
    expect(output).toContain("runtime-neutral code cannot import the Node-only folders src/node and src/cli");
  });

  it.each(["src/node", "src/cli"])("%s may use them", (folder) => {
    expect(lintAs(`${folder}/probe.ts`, NODE_IMPORTS)).toMatchObject({ status: 0 });
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => relative(REPO_ROOT, join(e.parentPath, e.name)));
}

describe("Worker type check", () => {
  it("covers every runtime-neutral file of src/ and nothing of src/node or src/cli", () => {
    const r = spawnSync(bin("tsc"), ["--listFilesOnly", "-p", "tsconfig.worker.json"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    const checked = new Set(r.stdout.split("\n").map((f) => relative(REPO_ROOT, f.trim())));
    const all = sourceFiles("src");
    const neutral = all.filter((f) => !/^src\/(node|cli)\//.test(f));
    expect(neutral.length).toBeGreaterThan(40);
    expect(neutral.filter((f) => !checked.has(f))).toEqual([]);
    expect(all.filter((f) => checked.has(f) && /^src\/(node|cli)\//.test(f))).toEqual([]);
  });
});
