/**
 * The shared end-to-end suite (test/e2e/cases.ts) on the real Node server (127.0.0.1, free port,
 * the same settings files as the Worker bundle), with the validators of ../shared/tools on top.
 */
import { afterAll, beforeAll, expect } from "vitest";
import type { RunningServer } from "../src/node.ts";
import { httpTarget, readE2EFiles, startE2EServer } from "./e2e/node.ts";
import { defineE2ESuite } from "./e2e/suite.ts";
import { checkAutoconfigClients, validateMobileconfig } from "./helpers/shared.ts";

let server: RunningServer;
beforeAll(async () => {
  server = await startE2EServer();
});
afterAll(() => server.close());

defineE2ESuite({
  runtime: "node",
  target: () => httpTarget(server.url),
  files: readE2EFiles(),
  validators: {
    autoconfig(xml) {
      const result = checkAutoconfigClients(xml);
      expect(result.output).not.toMatch(/REJECT/i);
      expect(result.status, result.output).toBe(0);
    },
    mobileconfig(profile) {
      const result = validateMobileconfig(profile);
      expect(result.status, result.output).toBe(0);
    },
  },
});
