/**
 * Prints the plain closing line CI reads: `N passed, N failed` (and `, N skipped` when any were),
 * then, when tests of the external layer (test/helpers/external.ts) were skipped, how many and why.
 */
import type { Reporter, TestModule } from "vitest/node";
import { EXTERNAL_MARK, sharedStatus } from "./helpers/external-status.ts";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    let skippedExternal = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else {
          skipped++;
          if (test.fullName.includes(EXTERNAL_MARK)) skippedExternal++;
        }
      }
      if (mod.state() === "failed" && mod.children.size === 0) failed++;
    }
    const status = sharedStatus();
    const external = skippedExternal
      ? `\n${skippedExternal} external check(s) of ../shared skipped: ${status.reason ?? "skipped by filter"}`
      : "";
    process.stdout.write(
      `${external}\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`,
    );
  }
}
