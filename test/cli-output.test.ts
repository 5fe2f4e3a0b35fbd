/**
 * The `mailconf` process and its output streams (real processes, bin/mailconf.js): a reader that
 * closes the pipe early (`| head -3`) must not make any command die with an EPIPE stack trace, and
 * `hash-token` keeps the secret it makes off standard output.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAdminTokens, tokenHashLine } from "../src/handlers/admin-auth.ts";
import { REPO_ROOT } from "./helpers/shared.ts";

/**
 * Runs `mailconf <args>` with its stdout a pipe whose reading end is closed before the process
 * writes anything (what `| head -0` does), so every write to stdout fails with EPIPE.
 */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/mailconf.js", ...args], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, MAILCONF_DB: join(mkdtempSync(join(tmpdir(), "mailconf-pipe-")), "x.db") },
    });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe("a closed stdout pipe (mailconf … | head)", () => {
  const dir = mkdtempSync(join(tmpdir(), "mailconf-pipe-"));
  const settings = join(dir, "s.yaml");
  writeFileSync(
    settings,
    "providers:\n  - id: pipe.example\n    displayName: Pipe\n    domains: [pipe.example]\n    incoming: [{type: imap, hostname: imap.pipe.example, port: 993, socketType: SSL}]\n    outgoing: [{hostname: smtp.pipe.example, port: 465, socketType: SSL}]\n",
  );
  for (const [args, code] of [
    [["check", "jane@example.com", "--no-mx"], 0],
    [["check", "jane@unknown-domain.test", "--no-mx"], 1],
    [["validate", settings], 0],
    [["dns", "example.com", "--public-url", "https://autoconfig.example.org"], 0],
    [["hash-token", "pipe-token-0123456789abcdef"], 0],
    [["providers", "list"], 0],
    [["--help"], 0],
  ] as const) {
    it(`mailconf ${args.join(" ")}: no stack trace, its own exit code (${code})`, async () => {
      const got = await withClosedStdout([...args]);
      expect(got.stderr).not.toMatch(/EPIPE|Error:|at .*\(.*:\d+:\d+\)/);
      expect(got.code).toBe(code);
    });
  }
});

describe("mailconf hash-token without a token", () => {
  it("shows the new token on stderr only; stdout is the one sha256: line the server accepts", async () => {
    const r = spawnSync(process.execPath, ["bin/mailconf.js", "hash-token"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const token = r.stderr.trim().split("\n").at(-1) ?? "";
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.stdout).not.toContain(token);
    expect(r.stdout.trim()).toBe(await tokenHashLine(token));
    // What `mailconf hash-token > tokens` leaves is a token file the server takes.
    const parsed = await parseAdminTokens(r.stdout, "tokens");
    expect(parsed.problems).toEqual([]);
    expect(parsed.hashes).toHaveLength(1);
  });
});
