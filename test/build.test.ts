/**
 * The bundle of `npm run build` (scripts/build.ts) against the sources it is built from: the
 * built-in providers it holds are src/providers/builtin.ts's as the settings model validated them,
 * and `mailconf check` on the bundle prints, for one address of every built-in provider, what the
 * TypeScript sources print through tsx (real processes; `npm test` builds dist/ before the tests).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
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
