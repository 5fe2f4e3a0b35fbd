/**
 * The shared end-to-end suite (test/e2e/cases.ts) on the real Node server (127.0.0.1, free port,
 * the same settings files as the Worker bundle; a second one signs profiles with a throwaway RSA
 * chain at a fixed time), with the in-repo checkers (test/helpers/checks) and `openssl cms -verify`
 * on top. The answers the checkers saw are then handed to the validators of ../shared/tools too,
 * where it is present.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { E2ETargets } from "./e2e/http.ts";
import { makeE2ESigning, readE2EFiles, startE2EServers } from "./e2e/node.ts";
import { defineE2ESuite } from "./e2e/suite.ts";
import { expectAcceptedAutoconfig, expectValidProfile } from "./helpers/checks/expect.ts";
import { describeShared } from "./helpers/external.ts";
import { cmsVerify } from "./helpers/pki.ts";
import { checkAutoconfigClients, validateMobileconfig } from "./helpers/shared.ts";

const { signing, chain } = makeE2ESigning();
let servers: Awaited<ReturnType<typeof startE2EServers>>;
beforeAll(async () => {
  servers = await startE2EServers(signing);
});
afterAll(() => servers.close());

/** Every autoconfig document and profile the checkers saw, for the external validators. */
const seen = { autoconfig: [] as string[], profiles: [] as Uint8Array[] };

defineE2ESuite({
  runtime: "node",
  targets: (): E2ETargets => servers.targets,
  files: readE2EFiles(),
  caseOptions: { signingTime: signing.time },
  validators: {
    autoconfig(xml) {
      expectAcceptedAutoconfig(xml);
      seen.autoconfig.push(xml);
    },
    mobileconfig(profile) {
      expectValidProfile(profile);
      seen.profiles.push(profile);
    },
    signedProfile(signed, content) {
      // Verified at the signing time (the certificate is valid then), to the test root.
      const v = cmsVerify(signed, chain.rootPath, Date.parse(signing.time) / 1000);
      expect(v.ok, v.output).toBe(true);
      expect(new Uint8Array(v.content)).toEqual(content);
      expectValidProfile(signed);
      seen.profiles.push(signed);
    },
  },
});

describeShared("the validators of ../shared accept the end-to-end answers", () => {
  it("check-autoconfig-clients.py accepts every autoconfig answer", () => {
    expect(seen.autoconfig.length).toBeGreaterThan(0);
    for (const xml of seen.autoconfig) {
      const result = checkAutoconfigClients(xml);
      expect(result.output).not.toMatch(/REJECT/i);
      expect(result.status, result.output).toBe(0);
    }
  });
  it("validate-mobileconfig.py accepts every profile, plain and signed", () => {
    expect(seen.profiles.length).toBeGreaterThan(1);
    for (const profile of seen.profiles) {
      const result = validateMobileconfig(profile);
      expect(result.status, result.output).toBe(0);
    }
  });
});
