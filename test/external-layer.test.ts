/**
 * The external layer (../shared) is optional in a fresh clone and required in CI: run one of its
 * test files in a child vitest with ../shared pointed at a folder that does not exist, once as a
 * newcomer would (skipped, with the reason, counted by the summary line) and once as `.ci/run` does
 * (MAILCONF_REQUIRE_SHARED=1: a failure).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/external.ts";

const MISSING = join(REPO_ROOT, "test/fixtures/no-such-shared-folder");

function runIspdbTests(env: Record<string, string>) {
  const r = spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, "node_modules/vitest/vitest.mjs"),
      "run",
      "--project",
      "node",
      "--reporter=verbose",
      "--reporter=./test/summary-reporter.ts",
      "test/ispdb-corpus.test.ts",
    ],
    {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 150_000,
      env: { ...process.env, MAILCONF_SHARED: MISSING, MAILCONF_REQUIRE_SHARED: "", NO_COLOR: "1", ...env },
    },
  );
  return { status: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

describe("the external layer without ../shared", () => {
  it("is skipped with the reason, the in-repo tests pass, and the summary counts the skipped checks", () => {
    const { status, out, stdout } = runIspdbTests({});
    expect(status, out).toBe(0);
    expect(out).toContain(`skipped: ${MISSING} does not exist`);
    const lines = stdout.trim().split("\n");
    expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed, \d+ skipped$/);
    expect(lines.at(-2)).toMatch(/^\d+ external check\(s\) of \.\.\/shared skipped: .*does not exist/);
  }, 160_000);

  it("fails under MAILCONF_REQUIRE_SHARED=1, naming what is missing", () => {
    const { status, out, stdout } = runIspdbTests({ MAILCONF_REQUIRE_SHARED: "1" });
    expect(status).toBe(1);
    expect(out).toContain("external layer required but missing");
    expect(stdout.trim().split("\n").at(-1)).toMatch(/^\d+ passed, 1 failed$/);
  }, 160_000);

  it(".ci/run requires it for the test run", () => {
    expect(readFileSync(join(REPO_ROOT, ".ci/run"), "utf8")).toMatch(/^MAILCONF_REQUIRE_SHARED=1 npm test$/m);
  });
});
