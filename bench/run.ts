/**
 * `npm run bench [-- options]`: mailconf's speed and memory on 127.0.0.1 (docs/benchmark.md).
 *
 * 1. Throughput: for autoconfig GET, Autodiscover POST, Autodiscover v2 JSON, the Apple profile
 *    (unsigned, RSA-signed, ECDSA-signed) and the settings guide page, mailconf as `mailconf serve`
 *    starts it, from the same bundle (dist/cli/, built first if stale; bench/server.ts) against a bare node:http server answering mailconf's exact bytes for
 *    that request, loaded the same way (autocannon, keep-alive, 10 and 50 connections), interleaved:
 *    each round runs every case for both servers back to back, alternating which goes first. Prints
 *    req/s, p50/p99 latency, the server's CPU time per request (µs) and the ratios to bare, the
 *    median over the rounds.
 * 2. Attack refusals: the fixtures of test/fixtures/autodiscover (billion laughs, XXE file, XXE
 *    parameter entity) and an oversized body (64 KiB, four times the cap), 2,000 sequential requests
 *    each on one connection: refusal latency p50/p99 inside mailconf (request in → Response out) and
 *    for the loopback round trip, and the heap growth of the server process over those refusals.
 * 3. Login names from a directory (bench/directory.ts): autoconfig GET and Autodiscover POST for a
 *    provider with a directory (warm cache) as a ratio to one without.
 * 4. Attacks against the real `mailconf serve` (bench/attacks.ts, `--rate-limit 0`): a normal
 *    client's p99 during pipelining and attribute-heavy bodies as a ratio to its idle p99.
 * 5. The command line (bench/startup.ts): start-up of `mailconf --version` and `mailconf check`, and
 *    1,000 domains published with one `domains add --provider --from-file`, each before and after.
 * 6. `--scale [N]` (bench/scale.ts): a store of 10 versus N (default 1,000,000) published domains.
 *
 * `--check` (CI) runs 1 round at 10 connections, 1 s per case, and exits 1 if a refusal's in-server
 * p99 is ≥ 10 ms, the heap grows more than 4 MiB over 2,000 refusals, a refusal is not the expected
 * answer (error 600; 413 for the oversized body), or any throughput answer is not a 200. Throughput
 * ratios are printed, not checked: on a shared machine they mostly measure who else wants the CPUs.
 * An attack whose p99 misses the bound is measured again, up to {@link ATTEMPTS} times (other
 * processes only ever add latency); the best p99 counts and every run is printed.
 * The servers run in a child process so the load generator does not share their event loop; the
 * child exits when this process goes, however it goes (bench/server.ts watches the IPC channel).
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Options } from "autocannon";
import { runAttackScenarios } from "./attacks.ts";
import { directoryBench } from "./directory.ts";
import { fmt, load, median, percentile } from "./load.ts";
import { runScale, type ScaleReport, scaleFailures } from "./scale.ts";
import { ensureBuilt, startupBench } from "./startup.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = resolve(HERE, "../test/fixtures/autodiscover");
const USAGE = `usage: npm run bench [-- --check] [-- --duration <s>] [-- --rounds <n>] [-- --connections <n,n>]
                       [-- --only <name,…>] [-- --scale [<domains>]] [-- --json]

Measures mailconf on 127.0.0.1 against a bare node:http server answering mailconf's exact bytes
(autoconfig, Autodiscover POST and v2 JSON, profiles unsigned/RSA/ECDSA, the guide page), then the
refusal latency and heap growth for the Autodiscover attack fixtures.

  --check              CI: 1 round, 10 connections, 1 s per case; exit 1 if a refusal's p99 inside
                       mailconf is >= 10 ms, the heap grows over 4 MiB over 2,000 refusals, a
                       refusal is not error 600 (413 when oversized), an answer is not a 200, or
                       a normal request's p99 under an attack is both over 2x idle and over 250 ms
                       (the ratio alone is printed, not checked: it is noise on a busy machine)
  --duration <s>       seconds per throughput case (default 3; 1 with --check)
  --rounds <n>         interleaved rounds (default 2; 1 with --check)
  --connections <n,n>  connection counts (default 10,50; 10 with --check)
  --only <names>       only these throughput cases (comma separated; see the table)
  --scale [<domains>]  also compare 10 with <domains> (default 1000000) published domains in SQLite
  --json               print one JSON document instead of tables
  -h, --help           print this and exit
`;

interface Args {
  check: boolean;
  duration: number;
  rounds: number;
  connections: number[];
  only?: string[];
  scale?: number;
  json: boolean;
}

/** The command line, or the exit code after printing usage (`--help`: 0; a mistake: 2). */
function readArgs(argv: string[]): Args | number {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        check: { type: "boolean" },
        duration: { type: "string" },
        rounds: { type: "string" },
        connections: { type: "string" },
        only: { type: "string" },
        scale: { type: "boolean" },
        json: { type: "boolean" },
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
  const fail = (message: string) => {
    process.stderr.write(`bench: ${message}\n`);
    return 2;
  };
  const check = values.check === true;
  const duration = values.duration === undefined ? (check ? 1 : 3) : Number(values.duration);
  if (!(duration > 0 && duration <= 600))
    return fail(`--duration: expected seconds, 0-600, got ${JSON.stringify(values.duration)}`);
  const rounds = values.rounds === undefined ? (check ? 1 : 2) : Number(values.rounds);
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20))
    return fail(`--rounds: expected 1-20, got ${JSON.stringify(values.rounds)}`);
  const connections = String(values.connections ?? (check ? "10" : "10,50"))
    .split(",")
    .map(Number);
  if (!connections.every((n) => Number.isInteger(n) && n >= 1 && n <= 1000))
    return fail(`--connections: expected numbers 1-1000, got ${JSON.stringify(values.connections)}`);
  let scale: number | undefined;
  if (values.scale) {
    scale = positionals[0] === undefined ? 1_000_000 : Number(positionals[0]);
    if (!(Number.isInteger(scale) && scale >= 10 && scale <= 10_000_000))
      return fail(`--scale: expected a number of domains, 10-10000000, got ${positionals[0]}`);
  } else if (positionals.length > 0) return fail(`unexpected argument ${positionals[0]}`);
  const only = typeof values.only === "string" ? values.only.split(",") : undefined;
  return { check, duration, rounds, connections, only, scale, json: values.json === true };
}

const parsed = readArgs(process.argv.slice(2));
if (typeof parsed === "number") process.exit(parsed);
const ARGS = parsed;
const REFUSALS = 2000;
const MAX_P99_MS = 10;
const MAX_HEAP_GROWTH = 4 * 1024 * 1024;
/** Runs of 2,000 refusals per attack at most, while the p99 bound is missed. */
const ATTEMPTS = 3;
/** What issue 10 asks of the ratio to bare (same run), and Monogramm's (Koa 1, 2016) for comparison. */
const TARGETS: Record<string, { target?: number; monogramm?: number }> = {
  "autoconfig GET": { target: 0.8, monogramm: 0.42 },
  "Autodiscover POST": { target: 0.6, monogramm: 0.28 },
  "Autodiscover v2 JSON": { target: 0.8 },
  "profile (unsigned)": { target: 0.7, monogramm: 0.43 },
  "profile (RSA-signed)": { monogramm: 0.43 },
  "profile (ECDSA-signed)": { monogramm: 0.43 },
};

type Message = { type: string; [key: string]: unknown };
type Urls = { plain: string; rsa: string; ecdsa: string; limited: string; timed: string; bare: string };

/** Starts bench/server.ts and waits for its URLs. */
function startServers(): Promise<{ child: ChildProcess; urls: Urls }> {
  const child = fork(join(HERE, "server.ts"), [], {
    execArgv: ["--expose-gc", "--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error("bench server did not start within 60 s")), 60_000);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`bench server exited (${code})`)));
    child.once("message", (m: Message) => {
      clearTimeout(timer);
      if (m.type === "ready") resolvePromise({ child, urls: m.urls as Urls });
    });
  });
}

/** Sends `message` to the server process and waits for its answer of the same type. */
function ask(child: ChildProcess, message: Message): Promise<Message> {
  return new Promise((resolvePromise) => {
    const onMessage = (m: Message) => {
      if (m.type !== message.type) return;
      child.off("message", onMessage);
      resolvePromise(m);
    };
    child.on("message", onMessage);
    child.send(message);
  });
}

/** The server's heap after full GCs, in bytes. */
async function heapUsed(child: ChildProcess): Promise<number> {
  const m = await ask(child, { type: "heap" });
  if (!m.gc) throw new Error("the bench server runs without --expose-gc");
  return Number(m.heapUsed);
}

const mib = (bytes: number) => `${fmt(bytes / 1024 / 1024)} MiB`;

/** One throughput case: the request, and which mailconf answers it. */
interface Case {
  name: string;
  server: "plain" | "rsa" | "ecdsa" | "limited";
  path: string;
  method?: "GET" | "POST";
  body?: Buffer;
  headers?: Record<string, string>;
}

/** One measured run of one server. */
interface Run {
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerRequest: number;
}

/** A case's figures at one connection count: medians over the rounds. */
export interface CaseReport {
  name: string;
  connections: number;
  bare: Run;
  mailconf: Run;
  /** Median over the rounds of mailconf req/s ÷ bare req/s of the same round. */
  ratio: number;
  target?: number;
  monogramm?: number;
}

/** Headers of mailconf's answer worth replaying from the bare server (not per-connection ones). */
function replayHeaders(headers: Headers, length: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of headers)
    if (!["date", "connection", "keep-alive", "transfer-encoding"].includes(k)) out[k] = v;
  out["content-length"] = String(length);
  return out;
}

async function throughputCases(child: ChildProcess, urls: Urls, failures: string[]): Promise<CaseReport[]> {
  const outlookRequest = readFileSync(join(FIXTURES, "request-outlook.xml"));
  const xml = { "Content-Type": "text/xml; charset=utf-8" };
  const email = "jane.doe%40example.com";
  const all: Case[] = [
    { name: "autoconfig GET", server: "plain", path: `/mail/config-v1.1.xml?emailaddress=${email}` },
    // The same with rate limits on (counted, never reached): the limiter's cost per request.
    {
      name: "autoconfig + rate limits",
      server: "limited",
      path: `/mail/config-v1.1.xml?emailaddress=${email}`,
    },
    {
      name: "Autodiscover POST",
      server: "plain",
      path: "/autodiscover/autodiscover.xml",
      method: "POST",
      body: outlookRequest,
      headers: xml,
    },
    {
      name: "Autodiscover v2 JSON",
      server: "plain",
      path: `/autodiscover/autodiscover.json?Email=${email}&Protocol=AutodiscoverV1`,
    },
    { name: "profile (unsigned)", server: "plain", path: `/mobileconfig?email=${email}` },
    { name: "profile (RSA-signed)", server: "rsa", path: `/mobileconfig?email=${email}` },
    { name: "profile (ECDSA-signed)", server: "ecdsa", path: `/mobileconfig?email=${email}` },
    { name: "guide page", server: "plain", path: `/?email=${email}` },
  ];
  const cases = ARGS.only ? all.filter((c) => ARGS.only?.includes(c.name)) : all;
  // The bare server answers each case with the bytes mailconf gives for it.
  for (const [i, c] of cases.entries()) {
    const response = await fetch(`${urls[c.server]}${c.path}`, {
      method: c.method ?? "GET",
      headers: c.headers,
      body: c.body ? new Uint8Array(c.body) : undefined,
    });
    const body = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200) failures.push(`${c.name}: mailconf answered ${response.status}`);
    await ask(child, {
      type: "bare",
      path: `/case-${i}`,
      status: response.status,
      headers: replayHeaders(response.headers, body.byteLength),
      body: body.toString("base64"),
    });
  }
  const cpu = async () => Number((await ask(child, { type: "cpu" })).us);
  const measure = async (label: string, options: Options, connections: number): Promise<Run> => {
    await load({ ...options, duration: Math.min(1, ARGS.duration), connections }); // JIT warm-up
    const before = await cpu();
    const { result, statuses } = await load({ ...options, duration: ARGS.duration, connections });
    const used = (await cpu()) - before;
    const ok = statuses.get(200) ?? 0;
    if (ok !== result.requests.total || result.errors > 0)
      failures.push(`${label}: ${result.requests.total - ok} non-200 answers, ${result.errors} errors`);
    // Progress (also how a closed output, `| head`, is noticed early): stderr for --json.
    (ARGS.json ? process.stderr : process.stdout).write(
      `  ${label}, ${connections} connections: ${fmt(result.requests.average, 0)} req/s\n`,
    );
    return {
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      cpuUsPerRequest: used / Math.max(1, result.requests.total),
    };
  };
  const runs = new Map<string, { bare: Run[]; mailconf: Run[] }>();
  for (let round = 0; round < ARGS.rounds; round++) {
    for (const connections of ARGS.connections) {
      for (const [i, c] of cases.entries()) {
        const common: Options = {
          method: c.method ?? "GET",
          headers: c.headers,
          body: c.body,
        } as Options;
        const key = `${c.name}\n${connections}`;
        const entry = runs.get(key) ?? { bare: [], mailconf: [] };
        runs.set(key, entry);
        const bare = () =>
          measure(`${c.name} (bare)`, { ...common, url: `${urls.bare}/case-${i}` }, connections);
        const mine = () => measure(c.name, { ...common, url: `${urls[c.server]}${c.path}` }, connections);
        // Alternate who goes first, so neither always gets the machine right after a rest.
        if ((round + i) % 2 === 0) {
          entry.bare.push(await bare());
          entry.mailconf.push(await mine());
        } else {
          entry.mailconf.push(await mine());
          entry.bare.push(await bare());
        }
      }
    }
  }
  const reports: CaseReport[] = [];
  const med = (list: Run[]): Run => ({
    rps: median(list.map((r) => r.rps)),
    p50: median(list.map((r) => r.p50)),
    p99: median(list.map((r) => r.p99)),
    cpuUsPerRequest: median(list.map((r) => r.cpuUsPerRequest)),
  });
  for (const connections of ARGS.connections)
    for (const c of cases) {
      const entry = runs.get(`${c.name}\n${connections}`);
      if (!entry) continue;
      const ratio = median(entry.mailconf.map((m, i) => m.rps / (entry.bare[i]?.rps ?? Number.NaN)));
      reports.push({
        name: c.name,
        connections,
        bare: med(entry.bare),
        mailconf: med(entry.mailconf),
        ratio,
        ...TARGETS[c.name],
      });
    }
  return reports;
}

function printThroughput(reports: CaseReport[]): void {
  console.log(
    `\nthroughput: median of ${ARGS.rounds} interleaved round(s), ${ARGS.duration} s per case and server\n` +
      "case                     conns |  bare req/s  p50  p99  µs/req | mailconf req/s  p50  p99  µs/req | ratio  target  Monogramm",
  );
  for (const r of reports) {
    const side = (run: Run) =>
      `${fmt(run.rps, 0).padStart(10)} ${String(run.p50).padStart(4)} ${String(run.p99).padStart(4)} ${fmt(run.cpuUsPerRequest, 0).padStart(7)}`;
    const target = r.target === undefined ? "" : `${r.ratio >= r.target ? ">=" : "< "}${fmt(r.target)}`;
    console.log(
      `${r.name.padEnd(24)} ${String(r.connections).padStart(5)} | ${side(r.bare)} | ${" ".repeat(4)}${side(r.mailconf)} | ${fmt(r.ratio).padStart(5)}  ${target.padEnd(6)}  ${r.monogramm === undefined ? "" : fmt(r.monogramm)}`,
    );
  }
}

interface AttackReport {
  name: string;
  p50: number;
  p99: number;
  max: number;
  roundTripP50: number;
  roundTripP99: number;
  heapGrowth: number;
}

async function attackRefusals(child: ChildProcess, urls: Urls, failures: string[]): Promise<AttackReport[]> {
  const xmlHeaders = { "Content-Type": "text/xml; charset=utf-8" };
  if (!ARGS.json)
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
  const reports: AttackReport[] = [];
  for (const attack of attacks) {
    const options: Options = {
      url: `${urls.timed}/autodiscover/autodiscover.xml`,
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
      await ask(child, { type: "timings" }); // start a fresh list
      const before = await heapUsed(child);
      const { latencies, statuses, result } = await load({ ...options, amount: REFUSALS });
      const after = await heapUsed(child);
      const inServer = (await ask(child, { type: "timings" })).ms as number[];
      const growth = after - before;
      const p99 = percentile(inServer, 99);
      p99s.push(p99);
      const report: AttackReport = {
        name: attack.label,
        p50: percentile(inServer, 50),
        p99,
        max: Math.max(...inServer),
        roundTripP50: percentile(latencies, 50),
        roundTripP99: percentile(latencies, 99),
        heapGrowth: growth,
      };
      reports.push(report);
      const label = attempt === 1 ? attack.label : `  again (p99 was >= ${MAX_P99_MS} ms)`;
      if (!ARGS.json)
        console.log(
          `  ${label.padEnd(48)} ${fmt(report.p50).padStart(7)} ${fmt(p99).padStart(7)} ${fmt(report.max).padStart(7)} |` +
            `${fmt(report.roundTripP50).padStart(18)} ${fmt(report.roundTripP99).padStart(7)} | ${mib(growth).padStart(11)}`,
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
      failures.push(`${attack.label}: p99 ${p99s.map((p) => `${fmt(p)} ms`).join(", ")} >= ${MAX_P99_MS} ms`);
  }
  return reports;
}

async function main(): Promise<number> {
  // The servers run the bundle `mailconf serve` runs (dist/cli/): built now if missing or stale.
  ensureBuilt();
  const { child, urls } = await startServers();
  // A reader that went away (`npm run bench | head`): stop the servers and end quietly.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    child.kill();
    process.exit(0);
  });
  const failures: string[] = [];
  let throughput: CaseReport[] = [];
  let attacks: AttackReport[] = [];
  let scale: ScaleReport | undefined;
  try {
    if (!ARGS.json)
      console.log(
        `mailconf bench: ${ARGS.rounds} round(s) of ${ARGS.duration} s per case at ${ARGS.connections.join(" and ")} connection(s), ` +
          `${REFUSALS} refusals per attack (servers: pid ${child.pid})\n`,
      );
    throughput = await throughputCases(child, urls, failures);
    if (!ARGS.json) printThroughput(throughput);
    attacks = await attackRefusals(child, urls, failures);
  } finally {
    child.removeAllListeners("exit");
    child.send({ type: "stop" });
    setTimeout(() => child.kill(), 2000).unref();
  }
  // The sections of issues 13, 15 and 12, each in its own processes; their tables go to stderr with --json.
  const print = ARGS.json ? console.error : console.log;
  const printed = async <T>(run: () => Promise<T>): Promise<T> => {
    const log = console.log;
    console.log = print;
    try {
      return await run();
    } finally {
      console.log = log;
    }
  };
  // Login names from a directory, warm cache, as a ratio to the same request without one (issue 15).
  failures.push(...(await printed(() => directoryBench(ARGS.duration))));
  // Attacks against the real `mailconf serve`: normal-request p99 under attack vs idle (bench/attacks.ts).
  failures.push(...(await printed(() => runAttackScenarios({ load, percentile, duration: ARGS.duration }))));
  failures.push(...startupBench(print, { check: ARGS.check }));
  if (ARGS.scale !== undefined)
    scale = await runScale({
      domains: ARGS.scale,
      duration: ARGS.duration,
      rounds: ARGS.rounds,
      print: !ARGS.json,
    });
  if (scale) failures.push(...scaleFailures(scale));
  if (ARGS.json)
    console.log(
      JSON.stringify(
        {
          conditions: {
            duration: ARGS.duration,
            rounds: ARGS.rounds,
            connections: ARGS.connections,
            node: process.version,
          },
          throughput,
          attacks,
          scale,
          failures,
        },
        null,
        2,
      ),
    );
  if (failures.length > 0) {
    if (!ARGS.json)
      console.log(`\n${ARGS.check ? "bench --check FAILED" : "problems"}:\n  ${failures.join("\n  ")}`);
    return ARGS.check ? 1 : 0;
  }
  if (!ARGS.json) console.log(ARGS.check ? "\nbench --check passed" : "");
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
