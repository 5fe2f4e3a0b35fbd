/**
 * The README's Quick start, run as written in a fresh checkout: every fenced `sh` block of the
 * "Quick start" section, line by line, in a temporary copy of the repository's files (nothing
 * beside it, so a command that needs ../shared fails here).
 *
 * As written, with three exceptions a test run cannot avoid: `npm ci` is not repeated (the copy
 * shares this checkout's node_modules, installed by `npm ci` from the same lockfile), `npm test`
 * is not started from inside the tests, and `npm start` is started in the background on a free
 * port (env PORT) instead of 8080, which the other commands' URLs are pointed at. Every other
 * command must exit 0 within its time bound, and what it prints must be the answer it promises.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/external.ts";

/** The fenced `sh` blocks of the README section `## Quick start`, as command lines (continuations joined). */
function quickStartCommands(readme: string): string[] {
  const start = readme.indexOf("\n## Quick start");
  if (start < 0) throw new Error("README.md has no '## Quick start' section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const commands: string[] = [];
  for (const block of section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    const joined = (block[1] ?? "").replace(/\\\n\s*/g, "");
    for (const line of joined.split("\n")) {
      const command = line.replace(/(^|\s)#.*$/, "").trim();
      if (command) commands.push(command);
    }
  }
  return commands;
}

/** A copy of the repository's tracked files (as they are in the working tree), sharing node_modules. */
function freshCheckout(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "mailconf-quickstart-")), "mailconf");
  const files = spawnSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" }).stdout.split("\0");
  for (const file of files.filter((f) => f && existsSync(join(REPO_ROOT, f)))) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(dir, file));
  }
  symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

const README = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
const COMMANDS = quickStartCommands(README);
const SKIPPED = new Set(["npm ci", "npm test"]);
const TIMEOUT_MS = 300_000; // generous: `npm start` may build first, on a loaded machine

/** What a command's output must show, by what it asks for. */
function expectAnswer(command: string, out: string, cwd: string): void {
  if (command.includes("/mail/config-v1.1.xml")) {
    expect(out).toMatch(/<clientConfig version="1.1">/);
    expect(out).toMatch(/<incomingServer type="imap">/);
  } else if (command.includes("/autodiscover/autodiscover.xml")) {
    expect(out).toContain("<Action>settings</Action>");
    expect(out).not.toContain("<ErrorCode>");
  } else if (command.includes("/mobileconfig")) {
    expect(readdirSync(cwd).filter((f) => f.endsWith(".mobileconfig"))).not.toHaveLength(0);
  } else if (/ -- check /.test(command)) {
    expect(out).toMatch(/imap/i);
  } else if (/ -- validate /.test(command)) {
    expect(out).toMatch(/: ok, \d+ provider/);
  } else if (/ -- dns /.test(command)) {
    expect(out).toMatch(/IN\s+CNAME/);
  }
}

describe("README Quick start, as written, in a fresh checkout", () => {
  let cwd: string;
  let port: number;
  let server: ChildProcess | undefined;
  let serverLog = "";

  const stopServer = async () => {
    if (!server?.pid) return;
    const exited = new Promise((resolve) => server?.once("exit", resolve));
    process.kill(-server.pid, "SIGTERM"); // npm and the node server it started: the whole group
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    server = undefined;
  };

  beforeAll(async () => {
    cwd = freshCheckout();
    port = await freePort();
  });
  afterAll(stopServer);

  it("has commands to run, starts the server, and uses no ../shared", () => {
    expect(COMMANDS).toContain("npm start");
    expect(COMMANDS.join("\n")).not.toContain("../shared");
  });

  for (const command of COMMANDS) {
    if (SKIPPED.has(command)) {
      it.skip(`${command} (not repeated inside the test run)`, () => {});
      continue;
    }
    it(
      command,
      async () => {
        const local = command.replaceAll("127.0.0.1:8080", `127.0.0.1:${port}`);
        if (/^npm start\b/.test(command)) {
          await stopServer();
          serverLog = "";
          server = spawn("sh", ["-c", local], {
            cwd,
            detached: true,
            env: { ...process.env, PORT: String(port) },
          });
          server.stdout?.on("data", (d) => (serverLog += d));
          server.stderr?.on("data", (d) => (serverLog += d));
          const deadline = Date.now() + TIMEOUT_MS;
          for (;;) {
            const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })
              .then((r) => r.ok)
              .catch(() => false);
            if (ok) break;
            if (Date.now() > deadline || server.exitCode !== null)
              throw new Error(`the server did not answer /healthz:\n${serverLog}`);
            await new Promise((r) => setTimeout(r, 250));
          }
          // The line the README says to wait for is printed (the pipe may deliver it just after /healthz).
          expect(README).toContain("`mailconf listening on http://127.0.0.1:8080`");
          const listening = `mailconf listening on http://127.0.0.1:${port} `;
          for (let i = 0; i < 20 && !serverLog.includes(listening); i++)
            await new Promise((r) => setTimeout(r, 250));
          expect(serverLog).toContain(listening);
          return;
        }
        const r = spawnSync("sh", ["-c", local], { cwd, encoding: "utf8", timeout: TIMEOUT_MS });
        const out = `${r.stdout}${r.stderr}`;
        expect(r.status, out).toBe(0);
        expectAnswer(command, r.stdout, cwd);
      },
      TIMEOUT_MS + 10_000,
    );
  }
});
