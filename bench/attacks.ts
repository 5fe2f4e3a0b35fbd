/**
 * Attack scenarios of `npm run bench` (issue 13): how much an attack slows everyone else. The real
 * `mailconf serve` (connection limits included, `--rate-limit 0` so only the hygiene is measured)
 * runs in a child process; a normal client (1 connection, the autoconfig GET) is measured idle,
 * then during each attack, and its p99 reported as a ratio to the idle p99:
 *
 * - pipelining: 10 connections each write 50,000 pipelined GETs and never read an answer;
 * - attribute-heavy bodies: 4 connections post 200 requests a second in all (a rate the old checker,
 *   which compared each attribute with every earlier one at 12x the cost of a normal request, could
 *   not keep up with), each a 16 KiB Autodiscover body with 1,900 attributes.
 *
 * Idle and attack windows are interleaved ({@link ROUNDS} rounds of one idle window, then one window
 * under attack), and each p99 is taken over all windows of its kind, so that load from other
 * processes that comes and goes lands on both sides of the ratio rather than on one. The idle p99
 * is floored at 1 ms, so that sub-millisecond noise does not make a ratio.
 *
 * With `--check`, a scenario fails only if the ratio is over {@link MAX_RATIO} AND the normal p99
 * under attack is over {@link MAX_ATTACK_P99_MS}. The ratio alone is noise on a shared machine
 * (measured on 2 busy cores: 0.37x to 64x for the same code, i.e. up to ~64 ms against a 1 ms
 * floor); the defects it guards against stalled a normal request for 7.8-13.6 s. A failing
 * scenario is measured again, up to {@link ATTEMPTS} times, and the best attempt counts. The ratio
 * is always printed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Options, Result } from "autocannon";
import { ensureBuilt } from "./startup.ts";

/** Normal-request p99 under attack, at most this many times the idle p99 (`--check`). */
export const MAX_RATIO = 2;
/**
 * Normal-request p99 under attack (ms) that `--check` tolerates whatever the ratio: well above
 * scheduler noise on a loaded machine (tens of ms), far below the stalls of the defects (seconds).
 */
export const MAX_ATTACK_P99_MS = 250;
/** Idle/attack window pairs per measurement (interleaved). */
const ROUNDS = 3;
/** Measurements per scenario at most, while it misses both bounds. */
const ATTEMPTS = 2;

/** What bench/run.ts lends: its autocannon runner (per-response latencies in ms) and percentile. */
export interface AttackTools {
  load(options: Options): Promise<{ result: Result; latencies: number[]; statuses: Map<number, number> }>;
  percentile(values: number[], p: number): number;
  /** Seconds each measurement runs. */
  duration: number;
}

/** Starts `mailconf serve` on a free port with rate limits off; resolves with its URL. */
async function startMailconf(): Promise<{ child: ChildProcess; url: string }> {
  ensureBuilt(); // bin/mailconf.js runs dist/: a fresh clone (CI runs the bench first) has none yet
  const dir = mkdtempSync(join(tmpdir(), "mailconf-bench-"));
  const bin = resolve(import.meta.dirname, "../bin/mailconf.js");
  const follow = resolve(import.meta.dirname, "follow-parent.mjs");
  const child = spawn(
    process.execPath,
    [
      "--import",
      follow,
      bin,
      "serve",
      "--port",
      "0",
      "--rate-limit",
      "0",
      "--no-access-log",
      "--no-mx",
      "--db",
      join(dir, "b.db"),
    ],
    { stdio: ["ignore", "pipe", "inherit", "ipc"] },
  );
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("mailconf serve did not start within 60 s")), 60_000);
    child.once("exit", (code) => fail(new Error(`mailconf serve exited (${code})`)));
    child.stdout?.on("data", () => {
      const m = /mailconf listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1] as string);
      }
    });
  });
  child.stdout?.removeAllListeners("data");
  child.stdout?.resume();
  return { child, url };
}

/** 10 connections × 50,000 pipelined GETs, none of the answers read. Returns a stop function. */
function pipeliningAttack(url: string): () => void {
  const { port } = new URL(url);
  const sockets: Socket[] = [];
  const request = "GET /mail/config-v1.1.xml?emailaddress=a%40example.com HTTP/1.1\r\nHost: x\r\n\r\n";
  const burst = request.repeat(50_000);
  for (let i = 0; i < 10; i++) {
    const socket = connect(Number(port), "127.0.0.1", () => {
      socket.pause();
      socket.write(burst);
    });
    socket.on("error", () => {});
    sockets.push(socket);
  }
  return () => {
    for (const s of sockets) s.destroy();
  };
}

/** The 16 KiB Autodiscover body with 1,900 attributes on its root element. */
function attributeHeavyBody(): string {
  const attributes = Array.from({ length: 1900 }, (_, i) => ` a${i}="1"`).join("");
  return `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"${attributes}><Request><EMailAddress>jane@example.com</EMailAddress></Request></Autodiscover>`.slice(
    0,
    16 * 1024,
  );
}

/**
 * Runs the scenarios and prints one line each.
 * @returns the failures (`--check`: a ratio over {@link MAX_RATIO}; any non-200 normal answer)
 */
export async function runAttackScenarios(tools: AttackTools): Promise<string[]> {
  const failures: string[] = [];
  const { child, url } = await startMailconf();
  try {
    const normal: Options = {
      url: `${url}/mail/config-v1.1.xml?emailaddress=jane.doe%40example.com`,
      connections: 1,
      duration: tools.duration,
    };
    const window = Math.max(1, tools.duration / 2);
    /** Latencies (ms) of one window of the normal client; a non-200 answer or an error is a failure. */
    const measure = async (label: string) => {
      const { latencies, statuses, result } = await tools.load({ ...normal, duration: window });
      if ((statuses.get(200) ?? 0) !== latencies.length || result.errors > 0)
        failures.push(`${label}: ${JSON.stringify(Object.fromEntries(statuses))}, ${result.errors} errors`);
      return latencies;
    };
    await tools.load({ ...normal, duration: 1 }); // warm-up
    console.log(
      `\nattacks (normal client: 1 connection, autoconfig GET; ${ROUNDS} x ${window} s idle/attack interleaved)\n` +
        `  ${"scenario".padEnd(56)} idle p99 ms  attack p99 ms  ratio`,
    );
    const body = attributeHeavyBody();
    const scenarios: { label: string; start: () => () => Promise<unknown> }[] = [
      {
        label: "pipelining (10 conns x 50,000 GETs, never read)",
        start: () => {
          const stop = pipeliningAttack(url);
          return async () => stop();
        },
      },
      {
        label: "attribute-heavy bodies (4 conns, 200 req/s)",
        start: () => {
          const attackers = tools.load({
            url: `${url}/autodiscover/autodiscover.xml`,
            method: "POST",
            headers: { "Content-Type": "text/xml; charset=utf-8" },
            body,
            connections: 4,
            overallRate: 200,
            duration: tools.duration + 1,
          });
          return () => attackers;
        },
      },
    ];
    for (const scenario of scenarios) {
      // Other processes only ever add latency: a scenario over both bounds is measured again, up
      // to ATTEMPTS times, and the best attempt counts; every attempt is printed.
      const misses: string[] = [];
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        const idle: number[] = [];
        const attacked: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          idle.push(...(await measure("idle")));
          const stop = scenario.start();
          await new Promise((r) => setTimeout(r, 500)); // the attack is under way
          attacked.push(...(await measure(scenario.label)));
          await stop();
        }
        const idleP99 = tools.percentile(idle, 99);
        const p99 = tools.percentile(attacked, 99);
        const ratio = p99 / Math.max(idleP99, 1);
        const label = attempt === 1 ? scenario.label : "  again";
        console.log(
          `  ${label.padEnd(56)} ${idleP99.toFixed(2).padStart(11)} ${p99.toFixed(2).padStart(14)}  ${ratio.toFixed(2)}x`,
        );
        if (ratio <= MAX_RATIO || p99 <= MAX_ATTACK_P99_MS) {
          misses.length = 0;
          break;
        }
        misses.push(`${ratio.toFixed(2)}x (p99 ${p99.toFixed(0)} ms)`);
      }
      if (misses.length > 0)
        failures.push(
          `${scenario.label}: normal p99 under attack ${misses.join(", ")}: over ${MAX_RATIO}x idle and over ${MAX_ATTACK_P99_MS} ms`,
        );
    }
  } finally {
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  }
  return failures;
}
