/**
 * The commands of the README and docs/ leave files in the checkout (admin-tokens, the test
 * certificate and key, downloaded profiles, the admin quick start's settings.yaml); .gitignore keeps
 * them out of commits at the repository root only, so the golden profiles under test/ stay tracked.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/shared.ts";

/** True if git ignores `path` (relative to the repository root; the file need not exist). */
function ignored(path: string): boolean {
  const r = spawnSync("git", ["check-ignore", "--no-index", "-q", path], { cwd: REPO_ROOT, timeout: 10_000 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`git check-ignore failed: ${r.stderr}`);
  return r.status === 0;
}

describe(".gitignore", () => {
  it("ignores what the README's commands leave at the root", () => {
    for (const path of [
      "admin-tokens",
      "key.pem",
      "cert.pem",
      "privkey.pkcs8.pem",
      "jane-at-example.com.mobileconfig",
      "profile.xml",
      "settings.yaml",
      "mailconf.db",
      "mailconf.db-wal",
      "mailconf-0.1.0.tgz", // npm pack (docs/install.md)
    ])
      expect(ignored(path), path).toBe(true);
  });

  it("keeps the golden profiles and other files below the root tracked", () => {
    for (const path of [
      "test/golden/mobileconfig/user@example.com.mobileconfig",
      "test/fixtures/cert.pem",
      "examples/key.pem",
      "README.md",
    ])
      expect(ignored(path), path).toBe(false);
  });
});
