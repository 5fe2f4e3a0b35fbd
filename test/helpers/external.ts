/**
 * `describeShared`: the external layer's tests (see external-status.ts), run when ../shared is there,
 * skipped with the reason when it is not, failing under MAILCONF_REQUIRE_SHARED=1.
 */
import { describe, it } from "vitest";
import { EXTERNAL_MARK, sharedStatus } from "./external-status.ts";

export { EXTERNAL_MARK, REPO_ROOT, SHARED, sharedStatus } from "./external-status.ts";

const STATUS = sharedStatus();

/** True when the external layer runs in this process. */
export const SHARED_AVAILABLE = STATUS.available;

/**
 * `describe` for tests that need `../shared`: runs them when it is there; otherwise skips them
 * (`describe.skipIf`) with the reason in the suite name, or, under MAILCONF_REQUIRE_SHARED=1, puts a
 * failing test in their place. The body must not touch `../shared` while tests are collected
 * (read files inside tests or hooks, or guard with {@link SHARED_AVAILABLE}).
 */
export function describeShared(title: string, body: () => void): void {
  const name = `${EXTERNAL_MARK} ${title}`;
  if (STATUS.available) {
    describe(name, body);
    return;
  }
  if (STATUS.required) {
    describe(name, () => {
      it("needs ../shared (MAILCONF_REQUIRE_SHARED=1)", () => {
        throw new Error(`external layer required but missing: ${STATUS.reason}`);
      });
    });
    return;
  }
  describe.skipIf(true)(`${name} — skipped: ${STATUS.reason}`, body);
}
