/**
 * Apple profile download: `GET /mobileconfig?email=<address>` and `/email.mobileconfig?email=`
 * (reference/mobileconfig.md §8). 200 `application/x-apple-aspen-config` with an ASCII attachment
 * filename and `Cache-Control: no-store`; signed (DER CMS) when a signer is configured.
 * Missing or malformed `email` → 400, unknown domain → 404: a small page naming the parameter.
 * A provider whose servers take only OAuth2 (Outlook.com) gets no profile, which would ask for a
 * password the servers refuse: 409 with a short page (browsers) or JSON (`error`, `field`,
 * `appleAccountType`) that points to Apple's built-in account type.
 */
import type { Context, Hono } from "hono";
import type { AccountSettings } from "../providers/account.ts";
import { type EmailAddress, parseEmailAddress } from "../providers/domain.ts";
import type { Resolution } from "../providers/store.ts";
import { profileProblem, renderMobileconfig } from "../templates/mobileconfig.ts";
import {
  type ProfileProblem,
  profileProblemText,
  renderProfileProblemPage,
} from "../templates/profile-page.ts";
import { AnswerCache } from "./answer-cache.ts";
import {
  type Answer,
  type AppDeps,
  accountFor,
  COMMON_HEADERS,
  getOnly,
  type NoteDomain,
  noteOn,
  PLAIN_HEADERS,
  partsOf,
  type RequestParts,
  resolveDomain,
  resolveDomainNow,
  toResponse,
} from "./context.ts";
import { pageSecurityHeaders } from "./page-headers.ts";

/** `jane.doe@example.com` → `jane.doe-at-example.com.mobileconfig` (ASCII letters, digits, `.-_` only). */
export function profileFileName(address: string): string {
  const safe = address
    .replace("@", "-at-")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .slice(0, 100);
  return `${safe || "mail"}.mobileconfig`;
}

/**
 * Answers a request that cannot get a profile: 400 (missing/malformed `email`) or 404 (no settings),
 * as a small HTML page with an address form for browsers (`Accept: text/html`; with the page
 * security headers of every page), else one line of text.
 */
async function problem(request: RequestParts, status: 400 | 404 | 409, p: ProfileProblem): Promise<Answer> {
  if (/\btext\/html\b/i.test(request.header("accept") ?? ""))
    return {
      status,
      headers: { ...COMMON_HEADERS, ...(await pageSecurityHeaders("no-store")) },
      body: renderProfileProblemPage(p, request.path),
    };
  if (p.kind === "no-profile") {
    const body = {
      error: profileProblemText(p, request.path),
      field: "email",
      ...(p.appleAccountType ? { appleAccountType: p.appleAccountType } : {}),
    };
    return { status, headers: JSON_PROBLEM_HEADERS, body: `${JSON.stringify(body)}\n` };
  }
  return { status, headers: PLAIN_HEADERS, body: `${profileProblemText(p, request.path)}\n` };
}

const JSON_PROBLEM_HEADERS = {
  ...COMMON_HEADERS,
  "Content-Type": "application/json; charset=utf-8",
  "Cache-Control": "no-store",
};

/**
 * Profiles kept per app (an app has one signer): 1,000 addresses (a signed profile is 4-8 KiB, so
 * at most ~8 MiB), each for an hour. A profile holds name-based UUIDs and a hash of the address,
 * so it cannot be compiled once per domain (src/templates/compiled.ts); signing it is what costs
 * (RSA: ~1 ms), so the signed bytes are what is kept: signed once per (address, certificate).
 */
export const PROFILE_CACHE_ENTRIES = 1000;
/** Lifetime of a cached profile, ms (the signature's signingTime stays within an hour of serving). */
export const PROFILE_CACHE_TTL_MS = 3_600_000;

/** The profile paths. */
export const PROFILE_PATHS = ["/mobileconfig", "/email.mobileconfig"] as const;

/** A made profile: the answer and whether it is signed. */
type Profile = { answer: Answer; signed: boolean };

/** The profile endpoint of one app (see {@link profileEndpoint}). */
export interface ProfileEndpoint {
  answer(request: RequestParts, note: NoteDomain): Answer | Promise<Answer>;
}

/**
 * The profile endpoint of one app: `answer(request, note)` gives the answer (the table of this
 * module's docstring). With `deps.signProfile`, the profile's UTF-8 bytes are signed (DER CMS);
 * if signing fails at request time (it was validated at start, so this is a runtime fault) the
 * fault is logged and the unsigned profile is served, which devices install as "Unsigned" —
 * better than no profile (and not kept: the next request signs again).
 */
export function profileEndpoint(deps: AppDeps): ProfileEndpoint {
  /** A profile being made, and once made, the profile itself (so a kept one is served without waiting). */
  type Kept = { made: Promise<Profile>; profile?: Profile };
  const profiles = new AnswerCache<Kept>(PROFILE_CACHE_ENTRIES, PROFILE_CACHE_TTL_MS);
  const make = async (account: AccountSettings, address: string): Promise<Profile> => {
    const headers = {
      ...COMMON_HEADERS,
      "Content-Type": "application/x-apple-aspen-config",
      "Content-Disposition": `attachment; filename="${profileFileName(address)}"`,
      "Cache-Control": "no-store",
    };
    const xml = await renderMobileconfig(account);
    const bytes = new TextEncoder().encode(xml);
    if (!deps.signProfile) return { answer: { status: 200, headers, body: bytes }, signed: false };
    try {
      const signed = (await deps.signProfile(bytes)) as Uint8Array<ArrayBuffer>;
      return { answer: { status: 200, headers, body: signed }, signed: true };
    } catch (e) {
      deps.log?.(`profile signing failed, served unsigned: ${(e as Error).message}`);
      return { answer: { status: 200, headers, body: bytes }, signed: false };
    }
  };
  const keep = (account: AccountSettings, key: string): Kept => {
    const kept: Kept = { made: make(account, key) };
    kept.made.then(
      (profile) => {
        kept.profile = profile;
      },
      () => {},
    );
    return kept;
  };
  const finish = async (
    request: RequestParts,
    resolution: Resolution,
    address: EmailAddress,
  ): Promise<Answer> => {
    const account = await accountFor(deps, resolution, address);
    const refused = profileProblem(account);
    if (refused) {
      return problem(request, 409, {
        kind: "no-profile",
        address: address.address,
        reason: refused,
        appleAccountType: resolution.provider.signIn?.appleAccountType,
      });
    }
    // A directory's login name differs per address and may change there: such profiles are not kept.
    if (resolution.provider.directory) return (await make(account, address.address)).answer;
    const key = address.address;
    const profile = await profiles.get(key, resolution.provider, () => keep(account, key)).made;
    if (deps.signProfile && !profile.signed) profiles.delete(key);
    return profile.answer;
  };
  const answer = (request: RequestParts, note: NoteDomain): Answer | Promise<Answer> => {
    const email = request.query("email") ?? request.query("emailaddress");
    if (!email?.trim()) return problem(request, 400, { kind: "missing" });
    const address = parseEmailAddress(email);
    if (!address) return problem(request, 400, { kind: "malformed", value: email });
    const decide = (resolution: Resolution | null | undefined): Answer | Promise<Answer> => {
      if (!resolution) return problem(request, 404, { kind: "unknown-domain", domain: address.domain });
      // A kept profile passed every check of `finish` when it was made (they depend on the provider only).
      const kept = resolution.provider.directory
        ? undefined
        : profiles.peek(address.address, resolution.provider)?.profile;
      return kept && (!deps.signProfile || kept.signed) ? kept.answer : finish(request, resolution, address);
    };
    const now = resolveDomainNow(deps, address.domain, note);
    return now === undefined ? resolveDomain(deps, address.domain, note).then(decide) : decide(now);
  };
  return { answer };
}

/** Registers the profile routes on `app` (see {@link profileEndpoint}). */
export function mobileconfigRoutes(app: Hono, deps: AppDeps, endpoint = profileEndpoint(deps)): void {
  const handle = async (c: Context) => toResponse(await endpoint.answer(partsOf(c), noteOn(c)));
  for (const path of PROFILE_PATHS) getOnly(app, path, handle);
}
