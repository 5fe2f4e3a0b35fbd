/**
 * Whether the external test layer is there (no vitest import: the summary reporter uses this too).
 *
 * The external test layer: Mozilla's ISPDB corpus, the Autodiscover fixtures and the Python
 * validators kept in `../shared` next to the repository (CI has it; a fresh clone does not).
 * The in-repo tests cover the same ground with the project's own fixtures (test/fixtures) and
 * TypeScript checkers (test/helpers/checks); this layer adds the real-world files on top.
 *
 * Where `../shared` is missing, every external test is reported as skipped, with the reason in its
 * name, and the summary line counts them (test/summary-reporter.ts). With
 * `MAILCONF_REQUIRE_SHARED=1` (set by `.ci/run`) a missing `../shared` fails the run instead.
 * `MAILCONF_SHARED=<dir>` points at another copy.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Where the external layer is looked for. */
export const SHARED = resolve(REPO_ROOT, process.env.MAILCONF_SHARED ?? "../shared");

/** Every external test's name starts with this; the summary reporter counts the skipped ones by it. */
export const EXTERNAL_MARK = "[../shared]";

/** What the external layer needs from `../shared`. */
const NEEDED = [
  "corpus/ispdb",
  "corpus/autodiscover",
  "tools/check-autoconfig-clients.py",
  "schemas/autoconfig.rng",
];

/** Is the external layer there, must it be, and if it is missing, why. */
export interface SharedStatus {
  available: boolean;
  required: boolean;
  /** Why the layer does not run (undefined when it is available). */
  reason?: string;
}

/** The status of the external layer for this run. */
export function sharedStatus(): SharedStatus {
  const required = process.env.MAILCONF_REQUIRE_SHARED === "1";
  const missing = NEEDED.filter((p) => !existsSync(join(SHARED, p)));
  if (missing.length === 0) return { available: true, required };
  const what = existsSync(SHARED) ? `${SHARED} lacks ${missing.join(", ")}` : `${SHARED} does not exist`;
  return {
    available: false,
    required,
    reason: `${what}: the real-world corpus and validators are an extra layer (MAILCONF_REQUIRE_SHARED=1 makes this a failure)`,
  };
}
