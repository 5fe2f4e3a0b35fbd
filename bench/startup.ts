/**
 * CLI start-up time (issue 12), part of `npm run bench`: `mailconf --version` and
 * `mailconf check jane@example.com --no-mx` as run before (the TypeScript sources through tsx, as
 * bin/mailconf.js did) and after (the compiled dist/cli/main.js), and a bare `node -e 0` as the
 * baseline of the same run. Runs alternate between the variants, so load on the machine hits them
 * alike; each figure is the median wall time of {@link RUNS} runs.
 *
 * `--check` fails if the compiled command is not faster than the tsx one (ratio after/before ≥ 1).
 * The absolute figures depend on the machine and its load; the ratios do not, much.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
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
  const start = performance.now();
  const r = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/**
 * Measures and prints the start-up table.
 * @param log where the lines go
 * @returns the failures for `--check` (empty when the compiled CLI starts faster than tsx's)
 */
export function startupBench(log: (line: string) => void): string[] {
  ensureBuilt();
  const commands: { label: string; args: string[] }[] = [
    { label: "mailconf --version", args: ["--version"] },
    { label: "mailconf check jane@example.com", args: ["check", "jane@example.com", "--no-mx"] },
  ];
  const failures: string[] = [];
  log(`\nCLI start-up, median of ${RUNS} runs (wall ms; before = tsx on src/, after = compiled dist/):`);
  for (const { label, args } of commands) {
    const bare: number[] = [];
    const before: number[] = [];
    const after: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      bare.push(once(["-e", "0"]));
      before.push(once(["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args]));
      after.push(once([COMPILED, ...args]));
    }
    const [b, t, c] = [median(bare), median(before), median(after)];
    log(
      `  ${label.padEnd(32)} before ${t.toFixed(0).padStart(5)}  after ${c.toFixed(0).padStart(5)}  ` +
        `after/before ${(c / t).toFixed(2)}  (node -e 0: ${b.toFixed(0)}, after − node ${(c - b).toFixed(0)})`,
    );
    if (!(c < t))
      failures.push(`${label}: compiled ${c.toFixed(0)} ms is not faster than tsx ${t.toFixed(0)} ms`);
  }
  return failures;
}
