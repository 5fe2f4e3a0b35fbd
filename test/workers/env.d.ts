// Bindings the `workers` vitest project adds to those of wrangler.toml (vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    /** The migrations/ folder, read by readD1Migrations in vitest.config.ts. */
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** An empty D1 database: the Worker must migrate it itself. */
    FRESH_DB: D1Database;
    /** An empty D1 database for the composition root's precedence suite (test/workers/precedence.test.ts). */
    PRECEDENCE_DB: D1Database;
    MAILCONF_ADMIN_TOKENS: string;
  }
}
