/**
 * Assertions on top of the in-repo checkers, for tests that render or fetch documents.
 */
import { expect } from "vitest";
import { checkProfile } from "./apple-profile.ts";
import { checkAutoconfigClients } from "./autoconfig-clients.ts";
import { validateAutoconfigStructure } from "./autoconfig-schema.ts";

/** Thunderbird desktop and Thunderbird for Android both accept the document, and it fits the autoconfig schema. */
export function expectAcceptedAutoconfig(xml: string | Uint8Array): void {
  expect(checkAutoconfigClients(xml)).toEqual({ thunderbirdDesktop: "OK", thunderbirdAndroid: "OK" });
  const text = typeof xml === "string" ? xml : new TextDecoder().decode(xml);
  expect(validateAutoconfigStructure(text)).toEqual([]);
}

/** The profile (plain or CMS-signed) fits the plist DTD and Apple's payload schemas; `strict`: no warnings either. */
export function expectValidProfile(profile: string | Uint8Array, options: { strict?: boolean } = {}): void {
  const report = checkProfile(profile);
  expect(report.errors).toEqual([]);
  if (options.strict) expect(report.warnings).toEqual([]);
}
