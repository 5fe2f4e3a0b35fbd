import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { E2E_ADMIN_TOKEN, E2E_PUBLIC_URL } from "./test/e2e/http.ts";

/**
 * Two projects, one run (`npm test`): `node` (unit, corpus, CLI and end-to-end tests against the
 * real Node server) and `workers` (the Worker inside workerd via @cloudflare/vitest-pool-workers,
 * compared with the Node server's answers recorded by test/e2e/record-node-answers.ts).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["test/**/*.test.ts"],
          exclude: ["test/workers/**"],
          environment: "node",
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              // As the Node server of the end-to-end tests (test/e2e/node.ts): same public URL and
              // admin token, no resolution by MX (and so no network).
              bindings: {
                MAILCONF_PUBLIC_URL: E2E_PUBLIC_URL,
                MAILCONF_ADMIN_TOKENS: E2E_ADMIN_TOKEN,
                MAILCONF_MX: "off",
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
              },
              d1Databases: ["FRESH_DB", "PRECEDENCE_DB"],
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          setupFiles: ["test/workers/apply-migrations.ts"],
          globalSetup: ["test/e2e/record-node-answers.ts"],
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
