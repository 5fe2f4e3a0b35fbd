/**
 * The shared end-to-end suite (test/e2e/cases.ts) on the real Node server (127.0.0.1, free port,
 * the same settings files as the Worker bundle; a second one signs profiles with a throwaway RSA
 * chain at a fixed time), with the validators of ../shared/tools and `openssl cms -verify` on top.
 */
import { afterAll, beforeAll, expect } from "vitest";
import type { E2ETargets } from "./e2e/http.ts";
import { makeE2ESigning, readE2EFiles, startE2EServers } from "./e2e/node.ts";
import { defineE2ESuite } from "./e2e/suite.ts";
import { cmsVerify } from "./helpers/pki.ts";
import { checkAutoconfigClients, validateMobileconfig } from "./helpers/shared.ts";

const { signing, chain } = makeE2ESigning();
let servers: Awaited<ReturnType<typeof startE2EServers>>;
beforeAll(async () => {
  servers = await startE2EServers(signing);
});
afterAll(() => servers.close());

defineE2ESuite({
  runtime: "node",
  targets: (): E2ETargets => servers.targets,
  files: readE2EFiles(),
  caseOptions: { signingTime: signing.time },
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
    signedProfile(signed, content) {
      // Verified at the signing time (the certificate is valid then), to the test root.
      const v = cmsVerify(signed, chain.rootPath, Date.parse(signing.time) / 1000);
      expect(v.ok, v.output).toBe(true);
      expect(new Uint8Array(v.content)).toEqual(content);
      expect(validateMobileconfig(signed).status).toBe(0);
    },
  },
});
