/**
 * A SQL driver that counts the statements it runs, for the tests of the published-settings cache
 * (test/settings-cache.test.ts on SQLite, test/workers/d1-cache.test.ts on D1 in workerd). Web APIs
 * only, so both runtimes import it.
 */
import type { SqlDriver } from "../../src/store/sql.ts";

/** Wraps `driver`; `statements` grows by one per execute and by the batch's length per batch. */
export function counting(driver: SqlDriver): SqlDriver & { statements: number } {
  const counted = {
    statements: 0,
    execute: (s: Parameters<SqlDriver["execute"]>[0]) => {
      counted.statements++;
      return driver.execute(s);
    },
    batch: (s: Parameters<SqlDriver["batch"]>[0]) => {
      counted.statements += s.length;
      return driver.batch(s);
    },
  };
  return counted;
}
