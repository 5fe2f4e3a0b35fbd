/**
 * `npm run bench -- --scale [N]`: the store at scale. Two SQLite files are made in bulk (one
 * transaction each, a recursive CTE): one with 10 published domains, one with N (default
 * 1,000,000), all served by one published provider (`d<i>.scale.example`). For each,
 * `mailconf serve --db <file>` is started as a separate process (`node bin/mailconf.js`) and
 * measured: time from spawning it to its first 200 answer for a random published domain, time until
 * it holds the store in memory (its log line), its RSS (current and peak, /proc), and throughput of
 * autoconfig GETs (`/v1.1/<domain>`) spread over random published domains, 10 connections,
 * interleaved rounds. The ratio is N domains ÷ 10 domains, per round, median.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { openSqlite } from "../src/node/sqlite.ts";
import { parseProvider } from "../src/providers/model.ts";
import { BUMP_VERSION_SQL } from "../src/store/published-cache.ts";
import { SqlStore } from "../src/store/sql-store.ts";
import { fmt, load, median } from "./load.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** One store's figures. */
export interface StoreFigures {
  domains: number;
  /** Database file size after a checkpoint, bytes. */
  dbBytes: number;
  /** Seconds to generate the file. */
  generateSeconds: number;
  /** ms from spawning `mailconf serve` to its first 200 answer. */
  firstAnswerMs: number;
  /** ms from spawning until the store is held in memory. */
  inMemoryMs: number;
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU time (user + system, /proc) per answered request, µs: unlike req/s, not moved by other processes. */
  cpuUsPerRequest: number;
  /** Resident set after the load, MiB; and its peak (VmHWM). */
  rssMiB: number;
  peakRssMiB: number;
}

export interface ScaleReport {
  small: StoreFigures;
  large: StoreFigures;
  /** Median over the rounds of large req/s ÷ small req/s. */
  ratio: number;
  /**
   * Median over the rounds of small ÷ large server CPU per request: the throughput ratio a
   * CPU-bound server would reach, readable on a shared machine where req/s is not.
   */
  cpuRatio: number;
}

const PROVIDER = "scale.example";

/** Issue 10's bounds for the large store, checked by `--check`. */
export const SCALE_TARGETS = { minRatio: 0.9, maxRssMiB: 300e6 / 2 ** 20, maxFirstAnswerMs: 3000 } as const;

/**
 * What `--check` reports for a scale run: the large store's throughput ratio below
 * {@link SCALE_TARGETS}.minRatio, its peak RSS (VmHWM) above the 300 MB (286 MiB), or its
 * first answer later than maxFirstAnswerMs after the spawn.
 * @returns one line per missed bound, empty when every bound holds
 */
export function scaleFailures(report: ScaleReport): string[] {
  const { large } = report;
  const out: string[] = [];
  const t = SCALE_TARGETS;
  if (!(report.ratio >= t.minRatio))
    out.push(`scale: throughput ${large.domains} ÷ 10 domains ${fmt(report.ratio)} < ${t.minRatio}`);
  if (!(large.peakRssMiB <= t.maxRssMiB))
    out.push(
      `scale: peak RSS with ${large.domains} domains ${fmt(large.peakRssMiB, 0)} MiB > 300 MB (${fmt(t.maxRssMiB, 0)} MiB)`,
    );
  if (!(large.firstAnswerMs <= t.maxFirstAnswerMs))
    out.push(
      `scale: first answer with ${large.domains} domains after ${fmt(large.firstAnswerMs, 0)} ms > ${t.maxFirstAnswerMs} ms`,
    );
  return out;
}

/** Makes a database with `n` published domains d0…d(n-1).scale.example, in one transaction. */
async function generate(path: string, n: number): Promise<number> {
  const started = performance.now();
  const db = await openSqlite(path);
  const parsed = parseProvider({
    id: PROVIDER,
    displayName: "Scale Example Mail",
    domains: [PROVIDER],
    incoming: [{ type: "imap", hostname: "imap.scale.example", port: 993, socketType: "SSL" }],
    outgoing: [{ hostname: "smtp.scale.example", port: 465, socketType: "SSL" }],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  await new SqlStore(db).putProviders([parsed.value]);
  await db.batch([
    {
      sql: `INSERT INTO domains (domain, provider_id, alias_of, origin, updated_at)
            WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?)
            SELECT 'd' || i || '.scale.example', ?, NULL, 'assigned', ? FROM seq`,
      params: [n, PROVIDER, new Date().toISOString()],
    },
    { sql: BUMP_VERSION_SQL },
  ]);
  await db.execute({ sql: "PRAGMA wal_checkpoint(TRUNCATE)" });
  db.close();
  return (performance.now() - started) / 1000;
}

interface Started {
  child: ChildProcess;
  url: string;
  firstAnswerMs: number;
  inMemoryMs: number;
}

/** Starts `mailconf serve` on `db`; resolves once it answers and holds the store in memory. */
async function serveDb(db: string, n: number): Promise<Started> {
  // This process's first fetch loads undici (~100 ms): not the server's start-up, so done before.
  await fetch("data:,").catch(() => undefined);
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    // Rate limits off: the load comes from one client, far above any real client's rate.
    [
      "bin/mailconf.js",
      "serve",
      "--db",
      db,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--no-mx",
      "--rate-limit",
      "0",
    ],
    { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  let inMemoryMs = Number.NaN;
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString("utf8");
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString("utf8");
    if (Number.isNaN(inMemoryMs) && /held in memory/.test(err)) inMemoryMs = performance.now() - t0;
  });
  const deadline = t0 + 120_000;
  let url: string | undefined;
  let firstAnswerMs = Number.NaN;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mailconf serve exited: ${err}`);
    url ??= /listening on (http:\/\/\S+)/.exec(out)?.[1];
    if (url && Number.isNaN(firstAnswerMs)) {
      const status = await fetch(`${url}/v1.1/d${Math.floor(Math.random() * n)}.scale.example`)
        .then((r) => r.status)
        .catch(() => 0);
      if (status === 200) firstAnswerMs = performance.now() - t0;
    }
    if (!Number.isNaN(firstAnswerMs) && !Number.isNaN(inMemoryMs) && url)
      return { child, url, firstAnswerMs, inMemoryMs };
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill();
  throw new Error(`mailconf serve --db ${db} did not answer and load within 120 s: ${err}`);
}

/** CPU time (user + system) of a process so far, µs (Linux /proc; NaN elsewhere). */
function cpuUs(pid: number | undefined): number {
  const file = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(file)) return Number.NaN;
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(file, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux the bench runs on). */
const CLOCK_TICKS = 100;

/** VmRSS and VmHWM of a process, MiB (Linux /proc; NaN elsewhere). */
function rss(pid: number | undefined): { rss: number; peak: number } {
  const file = `/proc/${pid}/status`;
  if (pid === undefined || !existsSync(file)) return { rss: Number.NaN, peak: Number.NaN };
  const status = readFileSync(file, "utf8");
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024;
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}

/**
 * Runs the scale scenario.
 * @param options.domains published domains of the large store
 * @param options.duration seconds per throughput run; `rounds` interleaved rounds
 */
export async function runScale(options: {
  domains: number;
  duration: number;
  rounds: number;
  print: boolean;
}): Promise<ScaleReport> {
  const dir = mkdtempSync(join(tmpdir(), "mailconf-scale-"));
  const log = (line: string) => options.print && console.log(line);
  log(`\nstore scale: 10 versus ${options.domains} published domains (SQLite, generated in bulk)`);
  const servers: ChildProcess[] = [];
  try {
    const stores = [10, options.domains].map((n) => ({ n, path: join(dir, `scale-${n}.db`) }));
    const made = [];
    for (const s of stores) {
      const seconds = await generate(s.path, s.n);
      const started = await serveDb(s.path, s.n);
      servers.push(started.child);
      made.push({
        ...s,
        seconds,
        started,
        runs: [] as { rps: number; p50: number; p99: number; cpuUs: number }[],
      });
    }
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? made : [...made].reverse();
      for (const s of order) {
        const run = (duration: number) =>
          load({
            url: s.started.url,
            connections: 10,
            duration,
            requests: [
              {
                setupRequest: (request) => ({
                  ...request,
                  path: `/v1.1/d${Math.floor(Math.random() * s.n)}.scale.example`,
                }),
              },
            ],
          });
        await run(Math.min(1, options.duration));
        const cpuBefore = cpuUs(s.started.child.pid);
        const { result, statuses } = await run(options.duration);
        const cpuUsed = cpuUs(s.started.child.pid) - cpuBefore;
        if ((statuses.get(200) ?? 0) !== result.requests.total)
          throw new Error(`scale ${s.n}: non-200 answers ${JSON.stringify(Object.fromEntries(statuses))}`);
        s.runs.push({
          rps: result.requests.average,
          p50: result.latency.p50,
          p99: result.latency.p99,
          cpuUs: cpuUsed / Math.max(1, result.requests.total),
        });
      }
    }
    const figures = made.map((s): StoreFigures => {
      const mem = rss(s.started.child.pid);
      return {
        domains: s.n,
        dbBytes: statSync(s.path).size,
        generateSeconds: s.seconds,
        firstAnswerMs: s.started.firstAnswerMs,
        inMemoryMs: s.started.inMemoryMs,
        rps: median(s.runs.map((r) => r.rps)),
        p50: median(s.runs.map((r) => r.p50)),
        p99: median(s.runs.map((r) => r.p99)),
        cpuUsPerRequest: median(s.runs.map((r) => r.cpuUs)),
        rssMiB: mem.rss,
        peakRssMiB: mem.peak,
      };
    });
    const [small, large] = made;
    const ratio = median((large?.runs ?? []).map((r, i) => r.rps / (small?.runs[i]?.rps ?? Number.NaN)));
    const cpuRatio = median(
      (large?.runs ?? []).map((r, i) => (small?.runs[i]?.cpuUs ?? Number.NaN) / r.cpuUs),
    );
    log(
      "domains    db MiB  made s | first answer ms  in memory ms | req/s   p50  p99  µs/req | RSS MiB  peak MiB",
    );
    for (const f of figures)
      log(
        `${String(f.domains).padStart(9)} ${fmt(f.dbBytes / 1024 / 1024, 1).padStart(7)} ${fmt(f.generateSeconds, 1).padStart(7)} |` +
          `${fmt(f.firstAnswerMs, 0).padStart(16)} ${fmt(f.inMemoryMs, 0).padStart(13)} |` +
          `${fmt(f.rps, 0).padStart(6)} ${String(f.p50).padStart(5)} ${String(f.p99).padStart(4)} ${fmt(f.cpuUsPerRequest, 0).padStart(7)} |` +
          `${fmt(f.rssMiB, 0).padStart(8)} ${fmt(f.peakRssMiB, 0).padStart(9)}`,
      );
    log(
      `throughput ratio ${options.domains} ÷ 10 domains: ${fmt(ratio)}; by server CPU per request: ${fmt(cpuRatio)} (medians of ${options.rounds} round(s))`,
    );
    return { small: figures[0] as StoreFigures, large: figures[1] as StoreFigures, ratio, cpuRatio };
  } finally {
    for (const child of servers) child.kill("SIGTERM");
    await Promise.all(
      servers.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : undefined)),
    );
    rmSync(dir, { recursive: true, force: true });
  }
}
