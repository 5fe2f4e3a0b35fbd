/**
 * setupFiles of the `workers` project: applies the migrations/ folder to the D1 binding `DB` the way
 * wrangler does (`readD1Migrations` in vitest.config.ts, `applyD1Migrations` here), before the
 * Worker's own first request. The Worker then finds them recorded in `d1_migrations` and applies
 * nothing twice (test/workers/worker.test.ts checks a fresh database too).
 */
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
