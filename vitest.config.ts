import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

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
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // Same public URL as the Node server of the end-to-end tests (test/e2e/node.ts).
            miniflare: { bindings: { MAILCONF_PUBLIC_URL: "https://autoconfig.test.example" } },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          globalSetup: ["test/e2e/record-node-answers.ts"],
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
