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
import { parseEmailAddress } from "../providers/domain.ts";
import { profileProblem, renderMobileconfig } from "../templates/mobileconfig.ts";
import {
  type ProfileProblem,
  profileProblemText,
  renderProfileProblemPage,
} from "../templates/profile-page.ts";
import { AnswerCache } from "./answer-cache.ts";
import { type AppDeps, accountFor, COMMON_HEADERS, getOnly, resolveDomain, respond } from "./context.ts";
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
async function problem(c: Context, status: 400 | 404 | 409, p: ProfileProblem): Promise<Response> {
  if (/\btext\/html\b/i.test(c.req.header("Accept") ?? ""))
    return c.body(renderProfileProblemPage(p, c.req.path), status, await pageSecurityHeaders("no-store"));
  if (p.kind === "no-profile") {
    const body = {
      error: profileProblemText(p, c.req.path),
      field: "email",
      ...(p.appleAccountType ? { appleAccountType: p.appleAccountType } : {}),
    };
    return c.body(`${JSON.stringify(body)}\n`, status, {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-store",
    });
  }
  return c.text(`${profileProblemText(p, c.req.path)}\n`, status, { "Cache-Control": "no-store" });
}

/**
 * Profiles kept per app (an app has one signer): 1,000 addresses (a signed profile is 4-8 KiB, so
 * at most ~8 MiB), each for an hour. A profile holds name-based UUIDs and a hash of the address,
 * so it cannot be compiled once per domain (src/templates/compiled.ts); signing it is what costs
 * (RSA: ~1 ms), so the signed bytes are what is kept: signed once per (address, certificate).
 */
export const PROFILE_CACHE_ENTRIES = 1000;
/** Lifetime of a cached profile, ms (the signature's signingTime stays within an hour of serving). */
export const PROFILE_CACHE_TTL_MS = 3_600_000;

/**
 * Registers the profile routes on `app`. With `deps.signProfile`, the profile's UTF-8 bytes are
 * signed (DER CMS); if signing fails at request time (it was validated at start, so this is a
 * runtime fault) the fault is logged and the unsigned profile is served, which devices install
 * as "Unsigned" — better than no profile (and not kept: the next request signs again).
 */
export function mobileconfigRoutes(app: Hono, deps: AppDeps): void {
  const profiles = new AnswerCache<Promise<{ body: Uint8Array<ArrayBuffer>; signed: boolean }>>(
    PROFILE_CACHE_ENTRIES,
    PROFILE_CACHE_TTL_MS,
  );
  const make = async (account: AccountSettings) => {
    const xml = await renderMobileconfig(account);
    const bytes = new TextEncoder().encode(xml);
    if (!deps.signProfile) return { body: bytes, signed: false };
    try {
      return { body: (await deps.signProfile(bytes)) as Uint8Array<ArrayBuffer>, signed: true };
    } catch (e) {
      deps.log?.(`profile signing failed, served unsigned: ${(e as Error).message}`);
      return { body: bytes, signed: false };
    }
  };
  const handle = async (c: Context) => {
    const email = c.req.query("email") ?? c.req.query("emailaddress");
    if (!email?.trim()) return problem(c, 400, { kind: "missing" });
    const address = parseEmailAddress(email);
    if (!address) return problem(c, 400, { kind: "malformed", value: email });
    const resolution = await resolveDomain(deps, address.domain, c);
    if (!resolution) return problem(c, 404, { kind: "unknown-domain", domain: address.domain });
    const account = await accountFor(deps, resolution, address);
    const refused = profileProblem(account);
    if (refused) {
      return problem(c, 409, {
        kind: "no-profile",
        address: address.address,
        reason: refused,
        appleAccountType: resolution.provider.signIn?.appleAccountType,
      });
    }
    // A directory's login name differs per address and may change there: such profiles are not kept.
    let profile: Awaited<ReturnType<typeof make>>;
    if (resolution.provider.directory) profile = await make(account);
    else {
      const key = address.address;
      profile = await profiles.get(key, resolution.provider, () => make(account));
      if (deps.signProfile && !profile.signed) profiles.delete(key);
    }
    return respond(profile.body, 200, {
      ...COMMON_HEADERS,
      "Content-Type": "application/x-apple-aspen-config",
      "Content-Disposition": `attachment; filename="${profileFileName(address.address)}"`,
      "Cache-Control": "no-store",
    });
  };
  getOnly(app, "/mobileconfig", handle);
  getOnly(app, "/email.mobileconfig", handle);
}
