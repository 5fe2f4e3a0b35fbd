/**
 * `npm run bench [-- --check] [-- --duration <s>] [-- --help]`: mailconf's speed and memory on 127.0.0.1.
 *
 * 1. Throughput and latency of the autoconfig GET and the Autodiscover POST, as ratios to a
 *    baseline measured in the same run: a bare node:http server answering a fixed XML body of the
 *    same size (bench/server.ts), loaded the same way (autocannon, 10 connections, `--duration` s each);
 *    and the same two requests for a provider whose login names come from a directory (warm cache)
 *    as a ratio to a provider without one (bench/directory.ts).
 * 2. The attack fixtures of test/fixtures/autodiscover (billion laughs, XXE file, XXE parameter
 *    entity) and an oversized body (64 KiB, four times the cap), 2,000 sequential requests each on one
 *    connection: per-request refusal latency p50/p99 inside mailconf (request in → Response out, timed
 *    in the server process) and for the whole loopback round trip (autocannon, per response), and the
 *    heap growth of the server process over those 2,000 refusals (after full GCs).
 *
 * `--check` exits 1 if any refusal's in-server p99 is ≥ 10 ms, the heap grows more than 4 MiB over
 * 2,000 refusals, or a refusal is not the expected answer (error 600; 413 for the oversized body).
 * The round trip is printed, not checked: on a shared machine it mostly measures how long two
 * processes wait for a CPU. Other processes only ever add latency, so an attack whose p99 misses the
 * bound is measured again, up to {@link ATTEMPTS} times, and the best p99 counts; every run is printed.
 * The servers run in a child process so the load generator does not share their event loop; the
 * child exits when this process goes, however it goes (bench/server.ts watches the IPC channel).
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon, { type Options, type Result } from "autocannon";
import { runAttackScenarios } from "./attacks.ts";
import { directoryBench } from "./directory.ts";
import { startupBench } from "./startup.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = resolve(HERE, "../test/fixtures/autodiscover");
const USAGE = `usage: npm run bench [-- --check] [-- --duration <s>]

Measures mailconf on 127.0.0.1 (autoconfig GET and Autodiscover POST throughput against a bare
node:http baseline; refusal latency and heap growth for the Autodiscover attack fixtures).

  --check           exit 1 if a refusal's p99 inside mailconf is >= 10 ms, the heap grows over
                    4 MiB over 2,000 refusals, or a refusal is not error 600 (413 when oversized);
                    or if a normal request's p99 under an attack is both over 2x idle and over
                    250 ms (the ratio alone is printed, not checked: it is noise on a busy machine)
  --duration <s>    seconds per throughput case (default 3)
  -h, --help        print this and exit
`;

/** The command line, or the exit code after printing usage (`--help`: 0; a mistake: 2). */
function readArgs(argv: string[]): { check: boolean; duration: number } | number {
  let values: { check?: boolean; duration?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        check: { type: "boolean" },
        duration: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const duration = values.duration === undefined ? 3 : Number(values.duration);
  if (!(duration > 0 && duration <= 600)) {
    process.stderr.write(
      `bench: --duration: expected seconds, 0-600, got ${JSON.stringify(values.duration)}\n`,
    );
    return 2;
  }
  return { check: values.check === true, duration };
}

const parsed = readArgs(process.argv.slice(2));
if (typeof parsed === "number") process.exit(parsed);
const CHECK = parsed.check;
const DURATION = parsed.duration;
const REFUSALS = 2000;
const MAX_P99_MS = 10;
const MAX_HEAP_GROWTH = 4 * 1024 * 1024;
/** Runs of 2,000 refusals per attack at most, while the p99 bound is missed. */
const ATTEMPTS = 3;

type Message = { type: string; [key: string]: unknown };

/** Starts bench/server.ts and waits for its URLs. */
function startServers(): Promise<{ child: ChildProcess; baseline: string; mailconf: string }> {
  const child = fork(join(HERE, "server.ts"), [], {
    execArgv: ["--expose-gc", "--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error("bench server did not start within 30 s")), 30_000);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`bench server exited (${code})`)));
    child.once("message", (m: Message) => {
      clearTimeout(timer);
      if (m.type === "ready")
        resolvePromise({ child, baseline: String(m.baseline), mailconf: String(m.mailconf) });
    });
  });
}

/** Sends `{ type }` to the server process and waits for its answer of the same type. */
function ask(child: ChildProcess, type: string): Promise<Message> {
  return new Promise((resolvePromise) => {
    const onMessage = (m: Message) => {
      if (m.type !== type) return;
      child.off("message", onMessage);
      resolvePromise(m);
    };
    child.on("message", onMessage);
    child.send({ type });
  });
}

/** The server's heap after full GCs, in bytes. */
async function heapUsed(child: ChildProcess): Promise<number> {
  const m = await ask(child, "heap");
  if (!m.gc) throw new Error("the bench server runs without --expose-gc");
  return Number(m.heapUsed);
}

/** Time mailconf spent on each request since the last call (ms, request in → Response out). */
async function serverTimings(child: ChildProcess): Promise<number[]> {
  return (await ask(child, "timings")).ms as number[];
}

/** Runs autocannon; also returns every response's latency (ms, unrounded) and status. */
function load(
  options: Options,
): Promise<{ result: Result; latencies: number[]; statuses: Map<number, number> }> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  return new Promise((resolvePromise, reject) => {
    const instance = autocannon({ timeout: 10, excludeErrorStats: false, ...options }, (err, result) =>
      err ? reject(err) : resolvePromise({ result, latencies, statuses }),
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      latencies.push(ms);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const mib = (bytes: number) => `${fmt(bytes / 1024 / 1024)} MiB`;

async function main(): Promise<number> {
  const { child, baseline, mailconf } = await startServers();
  // A reader that went away (`npm run bench | head`): stop the servers and end quietly.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    child.kill();
    process.exit(0);
  });
  const failures: string[] = [];
  try {
    const outlookRequest = readFileSync(join(FIXTURES, "request-outlook.xml"));
    const xmlHeaders = { "Content-Type": "text/xml; charset=utf-8" };

    console.log(
      `mailconf bench: ${DURATION} s per throughput case, ${REFUSALS} refusals per attack (servers: pid ${child.pid})\n`,
    );
    console.log(
      "throughput (10 connections)          req/s     p50 ms   p99 ms   vs baseline (req/s, p50, p99)",
    );
    const throughput = async (label: string, options: Options, base?: Result) => {
      // A short warm-up so the JIT has seen the path before it is timed.
      await load({ ...options, duration: 1.5, connections: 10 });
      const { result, statuses } = await load({ ...options, duration: DURATION, connections: 10 });
      const ok = statuses.get(200) ?? 0;
      if (ok !== result.requests.total || result.errors > 0)
        failures.push(`${label}: ${result.requests.total - ok} non-200 answers, ${result.errors} errors`);
      const ratio = base
        ? `${fmt(result.requests.average / base.requests.average)}x, ${fmt(result.latency.p50 / Math.max(base.latency.p50, 1))}x, ${fmt(result.latency.p99 / Math.max(base.latency.p99, 1))}x`
        : "(baseline)";
      console.log(
        `  ${label.padEnd(34)} ${fmt(result.requests.average, 0).padStart(7)}  ${String(result.latency.p50).padStart(7)}  ${String(result.latency.p99).padStart(7)}   ${ratio}`,
      );
      return result;
    };
    const baseGet = await throughput("baseline GET (fixed XML)", { url: `${baseline}/fixed.xml` });
    await throughput(
      "autoconfig GET",
      { url: `${mailconf}/mail/config-v1.1.xml?emailaddress=jane.doe%40example.com` },
      baseGet,
    );
    const basePost = await throughput("baseline POST (fixed XML)", {
      url: `${baseline}/autodiscover/autodiscover.xml`,
      method: "POST",
      headers: xmlHeaders,
      body: outlookRequest,
    });
    await throughput(
      "Autodiscover POST",
      {
        url: `${mailconf}/autodiscover/autodiscover.xml`,
        method: "POST",
        headers: xmlHeaders,
        body: outlookRequest,
      },
      basePost,
    );

    // Login names from a directory, warm cache, as a ratio to the same request without one (issue 15).
    failures.push(...(await directoryBench(DURATION)));

    console.log(
      `\nattack refusals (1 connection, ${REFUSALS} sequential requests)\n` +
        "                                      in mailconf: p50 ms  p99 ms  max ms | round trip: p50 ms  p99 ms | heap growth",
    );
    const attacks: { label: string; body: Buffer; status: number }[] = [
      ...["attack-billion-laughs.xml", "attack-xxe-file.xml", "attack-xxe-parameter-entity.xml"].map((f) => ({
        label: f,
        body: readFileSync(join(FIXTURES, f)),
        status: 200,
      })),
      { label: "oversized body (64 KiB)", body: Buffer.alloc(64 * 1024, "<a>"), status: 413 },
    ];
    for (const attack of attacks) {
      const options: Options = {
        url: `${mailconf}/autodiscover/autodiscover.xml`,
        method: "POST",
        headers: xmlHeaders,
        body: attack.body,
        connections: 1,
      };
      // The refusal must be Autodiscover error 600 (checked once, outside the timing).
      const sample = await fetch(options.url, {
        method: "POST",
        headers: xmlHeaders,
        body: new Uint8Array(attack.body),
      });
      const text = await sample.text();
      if (sample.status !== attack.status || !text.includes("<ErrorCode>600</ErrorCode>"))
        failures.push(`${attack.label}: answered ${sample.status} without error 600`);
      await load({ ...options, amount: 500 }); // warm-up: JIT and lazy allocations settle first
      const p99s: number[] = [];
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        await serverTimings(child); // start a fresh list
        const before = await heapUsed(child);
        const { latencies, statuses, result } = await load({ ...options, amount: REFUSALS });
        const after = await heapUsed(child);
        const inServer = await serverTimings(child);
        const growth = after - before;
        const p99 = percentile(inServer, 99);
        p99s.push(p99);
        const label = attempt === 1 ? attack.label : `  again (p99 was >= ${MAX_P99_MS} ms)`;
        console.log(
          `  ${label.padEnd(48)} ${fmt(percentile(inServer, 50)).padStart(7)} ${fmt(p99).padStart(7)} ${fmt(Math.max(...inServer)).padStart(7)} |` +
            `${fmt(percentile(latencies, 50)).padStart(18)} ${fmt(percentile(latencies, 99)).padStart(7)} | ${mib(growth).padStart(11)}`,
        );
        if (
          (statuses.get(attack.status) ?? 0) !== REFUSALS ||
          result.errors > 0 ||
          inServer.length !== REFUSALS
        )
          failures.push(
            `${attack.label}: ${JSON.stringify(Object.fromEntries(statuses))}, ${result.errors} errors, ${inServer.length} timed`,
          );
        if (growth > MAX_HEAP_GROWTH)
          failures.push(`${attack.label}: heap grew ${mib(growth)} > ${mib(MAX_HEAP_GROWTH)}`);
        if (p99 < MAX_P99_MS) break;
      }
      if (!(Math.min(...p99s) < MAX_P99_MS))
        failures.push(
          `${attack.label}: p99 ${p99s.map((p) => `${fmt(p)} ms`).join(", ")} >= ${MAX_P99_MS} ms`,
        );
    }
  } finally {
    child.removeAllListeners("exit");
    child.send({ type: "stop" });
    setTimeout(() => child.kill(), 2000).unref();
  }
  // Attacks against the real `mailconf serve`: normal-request p99 under attack vs idle (bench/attacks.ts).
  failures.push(...(await runAttackScenarios({ load, percentile, duration: DURATION })));
  failures.push(...startupBench((line) => console.log(line)));
  if (failures.length > 0) {
    console.log(`\n${CHECK ? "bench --check FAILED" : "problems"}:\n  ${failures.join("\n  ")}`);
    return CHECK ? 1 : 0;
  }
  console.log(CHECK ? "\nbench --check passed" : "");
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    console.error(`bench failed: ${e.stack ?? e.message}`);
    process.exitCode = 1;
  },
);
