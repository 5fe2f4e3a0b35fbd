/**
 * Build check of the Cloudflare Worker, run by `npm test`: `wrangler deploy --dry-run --outdir .wrangler/dist`
 * (offline: builds the bundle, runs the `[build]` command that validates and bundles the settings
 * files, uploads nothing), then reads wrangler's own size line
 * `Total Upload: 217.27 KiB / gzip: 70.41 KiB` and fails when the gzip size is over the budget.
 *
 *   node --import tsx scripts/check-bundle.ts [--max-gzip-kib 150]
 *
 * Exit codes: 0 built and within budget; 1 build failed, size line missing, or over budget.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The budget: gzipped upload, signing included, as wrangler reports it (issue 6: under 150 KiB).
 * The Worker with every feature is about 132 KiB; its largest libraries are the signing code on
 * the @peculiar/asn1-* schemas with asn1js ~37, zod ~22 (admin API), fast-xml-parser ~21 and
 * hono ~8 (pkijs, which cannot be tree-shaken, made signing ~86 and the Worker ~182).
 * README "Cloudflare Workers", Size. The budget catches regressions such as `import { z } from
 * "zod"` (+63 KiB of locales) or a CMS library that pulls in its whole API.
 */
export const MAX_GZIP_KIB = 150;

const ROOT = join(fileURLToPath(import.meta.url), "../..");

/** wrangler's bundle size, in KiB (1024 bytes) as it prints them. */
export interface UploadSize {
  totalKiB: number;
  gzipKiB: number;
}

/**
 * Finds wrangler's `Total Upload: <n> KiB / gzip: <n> KiB` line (ANSI colours allowed) in its output.
 * @returns the sizes, or `undefined` if the line is missing
 */
export function parseUploadSize(output: string): UploadSize | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the ANSI colour codes wrangler may print
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const m = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(plain);
  return m ? { totalKiB: Number(m[1]), gzipKiB: Number(m[2]) } : undefined;
}

/**
 * Judges wrangler's output against the budget.
 * @returns `{ ok, message }`: the message names the sizes and the budget, or what is missing
 */
export function judgeBundle(output: string, maxGzipKiB = MAX_GZIP_KIB): { ok: boolean; message: string } {
  const size = parseUploadSize(output);
  if (!size)
    return { ok: false, message: "check-bundle: wrangler printed no 'Total Upload: … / gzip: … KiB' line" };
  const verdict = size.gzipKiB <= maxGzipKiB ? "within" : "OVER";
  return {
    ok: size.gzipKiB <= maxGzipKiB,
    message: `check-bundle: Worker bundle ${size.totalKiB} KiB, gzip ${size.gzipKiB} KiB: ${verdict} the ${maxGzipKiB} KiB budget`,
  };
}

/** Environment for every wrangler run: no metrics, no `Request.cf` fetch, no banner, no prompts. */
export const WRANGLER_OFFLINE_ENV = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
  CI: "true",
} as const;

/** Runs `wrangler deploy --dry-run --outdir <outdir>` offline and returns its exit code and output. */
export function dryRunDeploy(outdir = ".wrangler/dist"): { status: number; output: string } {
  const result = spawnSync(
    join(ROOT, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", outdir],
    {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, ...WRANGLER_OFFLINE_ENV },
    },
  );
  return { status: result.status ?? 1, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** Command-line entry. @returns the exit code */
export function main(argv: string[]): number {
  const i = argv.indexOf("--max-gzip-kib");
  const max = i >= 0 ? Number(argv[i + 1]) : MAX_GZIP_KIB;
  const build = dryRunDeploy();
  if (build.status !== 0) {
    process.stderr.write(build.output);
    console.error(`check-bundle: wrangler deploy --dry-run failed (exit ${build.status})`);
    return 1;
  }
  const verdict = judgeBundle(build.output, max);
  (verdict.ok ? console.log : console.error)(verdict.message);
  return verdict.ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = main(process.argv.slice(2));
}
