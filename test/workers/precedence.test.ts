/**
 * The composition root's order of precedence (test/helpers/precedence.ts) inside workerd, with the
 * published settings in D1 (the binding PRECEDENCE_DB of vitest.config.ts, migrated here the way
 * the Worker migrates DB); test/precedence.test.ts runs the same suite on Node with SQLite.
 */
import { env } from "cloudflare:workers";
import { d1Driver } from "../../src/store/d1.ts";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { applyMigrations } from "../../src/store/sql.ts";
import { precedenceSuite } from "../helpers/precedence.ts";

precedenceSuite({
  name: "Workers, D1",
  driver: async () => {
    const driver = d1Driver(env.PRECEDENCE_DB);
    await applyMigrations(driver, MIGRATIONS);
    return driver;
  },
});
