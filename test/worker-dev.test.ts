/**
 * `wrangler dev` (local mode, 127.0.0.1), as a developer runs it with `npm run dev:worker`, answers
 * every shared end-to-end case exactly as the Node server does, with no network: where the machine
 * allows (`unshare -n`, root), wrangler runs in a network namespace that has only loopback.
 * Bounded: the runner is killed by PID after 120 s.
 */
import { spawn, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/node/server.ts";
import { e2eCases } from "./e2e/cases.ts";
import { decodeAnswers } from "./e2e/files.ts";
import type { E2EAnswer, EncodedAnswer } from "./e2e/http.ts";
import { httpTarget, readE2EFiles, startE2EServer } from "./e2e/node.ts";
import { expectSameAnswer } from "./e2e/suite.ts";
import { REPO_ROOT } from "./helpers/shared.ts";

const RUNNER = "node --import tsx test/helpers/wrangler-dev-runner.ts";
/** Can this machine give a process a network namespace of its own, with loopback up (root, iproute2)? */
const NETNS = spawnSync("unshare", ["-n", "ip", "link", "set", "lo", "up"]).status === 0;

/** Runs the runner (in a loopback-only network namespace if possible); resolves with its answers. */
function runWranglerDev(): Promise<{
  answers: Record<string, E2EAnswer[]>;
  output: string;
  raw: Record<string, string>;
}> {
  const command = NETNS ? "unshare" : "sh";
  const args = NETNS
    ? ["-n", "--", "sh", "-c", `ip link set lo up && exec ${RUNNER}`]
    : ["-c", `exec ${RUNNER}`];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
      reject(new Error(`wrangler dev runner timed out after 120 s:\n${err}`));
    }, 120_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`wrangler dev runner failed (exit ${code}):\n${err}`));
      try {
        const parsed = JSON.parse(out) as {
          answers: Record<string, EncodedAnswer[]>;
          output: string;
          raw: Record<string, string>;
        };
        resolve({ answers: decodeAnswers(parsed.answers), output: parsed.output, raw: parsed.raw });
      } catch (e) {
        reject(new Error(`wrangler dev runner printed no answers (${(e as Error).message}):\n${err}`));
      }
    });
  });
}

let node: RunningServer | undefined;
let fromDev: Record<string, E2EAnswer[]> = {};
let devOutput = "";
let rawFromDev: Record<string, string> = {};
beforeAll(async () => {
  let dev: Awaited<ReturnType<typeof runWranglerDev>>;
  [dev, node] = await Promise.all([runWranglerDev(), startE2EServer()]);
  fromDev = dev.answers;
  devOutput = dev.output;
  rawFromDev = dev.raw;
}, 130_000);
afterAll(() => node?.close());

describe(`wrangler dev --local on 127.0.0.1${NETNS ? ", in a network namespace with loopback only" : ""}`, () => {
  const cases = e2eCases(readE2EFiles());

  it("answers autoconfig for user@example.com byte for byte as the Node server", async () => {
    const [answer] = fromDev["autoconfig-golden-user@example.com"] ?? [];
    expect(answer?.status).toBe(200);
    expect(answer?.headers["content-type"]).toBe("application/xml; charset=utf-8");
    expect(new TextDecoder().decode(answer?.body)).toContain('<emailProvider id="example.com">');
    const c = cases.find((x) => x.id === "autoconfig-golden-user@example.com");
    const [nodeAnswer] = await Promise.all((c?.requests ?? []).map(httpTarget(node?.url as string)));
    expectSameAnswer(answer as E2EAnswer, nodeAnswer as E2EAnswer);
  });

  it("logs its successful D1 migration as information, not as an error", () => {
    const line = devOutput.split("\n").find((l) => l.includes("mailconf: D1 migrations applied:"));
    expect(line, devOutput).toBeDefined();
    expect(line).not.toMatch(/ERROR/);
  });

  it("answers every shared end-to-end case as the Node server", async () => {
    const toNode = httpTarget(node?.url as string);
    for (const c of cases) {
      const answers = fromDev[c.id];
      expect(answers, c.id).toHaveLength(c.requests.length);
      for (const [i, request] of c.requests.entries()) {
        expectSameAnswer((answers as E2EAnswer[])[i] as E2EAnswer, await toNode(request), c.volatile);
      }
    }
  });

  // Pinned, not wanted: workerd answers these itself before mailconf's fetch handler runs, and no
  // Worker code, wrangler.toml setting or compatibility flag changes that (docs/operations.md,
  // "Cloudflare Workers: what never reaches mailconf"). A change in workerd fails here, so the
  // docs and mailconf's own 4xx rules can follow it.
  it("pins workerd's own answers: 500 for a Host it cannot make a URL of, 501 for a method it does not know", () => {
    const status = (label: string) => rawFromDev[label]?.split("\r\n")[0];
    const internalError =
      "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 21\r\n\r\nInternal Server Error";
    expect(rawFromDev["Host: a b"]).toBe(internalError);
    expect(rawFromDev["Host: a/b"]).toBe(internalError);
    expect(rawFromDev["Host: example.com:99999"]).toBe(internalError);
    for (const method of ["BREW", "MKCALENDAR"]) {
      expect(status(`method ${method}`), method).toBe("HTTP/1.1 501 Not Implemented");
      expect(rawFromDev[`method ${method}`], method).toMatch(/\r\n\r\nERROR: Unrecognized request method\.$/);
    }
    // What workerd passes on gets mailconf's own answers: an IPv6 Host literal, a WebDAV method.
    expect(status("Host: [::ffff:127.0.0.1]")).toBe("HTTP/1.1 200 OK");
    expect(rawFromDev["Host: [::ffff:127.0.0.1]"]).toMatch(/\r\n\r\nok\n$/);
    expect(status("method PROPFIND")).toBe("HTTP/1.1 405 Method Not Allowed");
    expect(rawFromDev["method PROPFIND"]).toContain("\r\nAllow: GET, HEAD\r\n");
  });
});
