/**
 * Starts `wrangler dev` (local mode, offline) on 127.0.0.1 and a free port, and stops it by PID.
 * Telemetry and the Request.cf download are off (WRANGLER_SEND_METRICS=false,
 * CLOUDFLARE_CF_FETCH_ENABLED=false), so it makes no network request.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WRANGLER_OFFLINE_ENV } from "../../scripts/check-bundle.ts";
import { REPO_ROOT } from "./shared.ts";

/** A running `wrangler dev`. */
export interface WranglerDev {
  url: string;
  pid: number;
  /** Everything it printed so far (for failure messages). */
  output(): string;
  /** SIGINT to its PID (wrangler stops workerd), SIGKILL to its process group after 10 s. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts `wrangler dev --local --ip 127.0.0.1 --port <free>` and waits until GET /healthz answers.
 * @param vars `--var NAME:value` bindings
 * @param timeoutMs bound for start-up; the process is stopped and an error thrown after it
 */
export async function startWranglerDev(
  vars: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<WranglerDev> {
  const port = await freePort();
  const args = ["dev", "--local", "--ip", "127.0.0.1", "--port", String(port)];
  args.push("--persist-to", mkdtempSync(join(tmpdir(), "mailconf-wrangler-")));
  args.push("--show-interactive-dev-session=false");
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const child = spawn(join(REPO_ROOT, "node_modules/.bin/wrangler"), args, {
    cwd: REPO_ROOT,
    detached: true, // its own process group, so a hung workerd can be killed with it
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...WRANGLER_OFFLINE_ENV },
  });
  let log = "";
  child.stdout?.on("data", (c: Buffer) => {
    log += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    log += c.toString();
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("wrangler dev did not start");
  const dev: WranglerDev = {
    url: `http://127.0.0.1:${port}`,
    pid,
    output: () => log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(pid, "SIGINT");
      if (await exited(child, 10_000)) return;
      process.kill(-pid, "SIGKILL");
      await exited(child, 5_000);
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${log}`);
    try {
      const res = await fetch(`${dev.url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return dev;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await dev.stop();
  throw new Error(`wrangler dev did not answer within ${timeoutMs} ms:\n${log}`);
}

/**
 * Requests that workerd (under `wrangler dev`) answers itself, before the Worker's fetch handler
 * runs, next to valid ones mailconf answers (docs/operations.md, "Cloudflare Workers: what never
 * reaches mailconf"). Sent as raw bytes: fetch() would refuse to send most of them.
 */
export const RAW_REQUESTS: Record<string, string> = {
  "Host: a b": "GET /healthz HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n",
  "Host: a/b": "GET /healthz HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n",
  "Host: example.com:99999": "GET /healthz HTTP/1.1\r\nHost: example.com:99999\r\nConnection: close\r\n\r\n",
  "Host: [::ffff:127.0.0.1]":
    "GET /healthz HTTP/1.1\r\nHost: [::ffff:127.0.0.1]\r\nConnection: close\r\n\r\n",
  "method BREW": "BREW /healthz HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
  "method MKCALENDAR": "MKCALENDAR /healthz HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
  "method PROPFIND": "PROPFIND /healthz HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
};

/** Sends `text` to `url`'s port on 127.0.0.1; resolves with what came back before close (at most `ms`). */
export function rawRequest(url: string, text: string, ms = 10_000): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    const socket = connect(Number(new URL(url).port), "127.0.0.1", () => socket.write(text));
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on("data", (d: Buffer) => {
      out += d.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}
