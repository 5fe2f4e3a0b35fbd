/**
 * Golden files under test/golden/. `UPDATE_GOLDEN=1 npm test` rewrites them; review the diff before committing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { expect } from "vitest";
import { REPO_ROOT } from "./shared.ts";

/** Asserts `actual` equals test/golden/<name> byte for byte. */
export function expectGolden(name: string, actual: string): void {
  const path = join(REPO_ROOT, "test/golden", name);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(path)) {
    if (process.env.CI === "true" && !existsSync(path)) throw new Error(`golden file ${name} is missing`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
  }
  expect(actual).toBe(readFileSync(path, "utf8"));
}
