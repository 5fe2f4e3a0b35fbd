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
import { parseEmailAddress } from "../providers/domain.ts";
import { profileProblem, renderMobileconfig } from "../templates/mobileconfig.ts";
import {
  type ProfileProblem,
  profileProblemText,
  renderProfileProblemPage,
} from "../templates/profile-page.ts";
import { type AppDeps, accountFor, getOnly, resolveDomain } from "./context.ts";
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
 * Registers the profile routes on `app`. With `deps.signProfile`, the profile's UTF-8 bytes are
 * signed (DER CMS); if signing fails at request time (it was validated at start, so this is a
 * runtime fault) the fault is logged and the unsigned profile is served, which devices install
 * as "Unsigned" — better than no profile.
 */
export function mobileconfigRoutes(app: Hono, deps: AppDeps): void {
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
    const xml = await renderMobileconfig(account);
    const bytes = new TextEncoder().encode(xml);
    let body: Uint8Array = bytes;
    if (deps.signProfile) {
      try {
        body = await deps.signProfile(bytes);
      } catch (e) {
        deps.log?.(`profile signing failed, served unsigned: ${(e as Error).message}`);
      }
    }
    return c.body(body as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "application/x-apple-aspen-config",
      "Content-Disposition": `attachment; filename="${profileFileName(address.address)}"`,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    });
  };
  getOnly(app, "/mobileconfig", handle);
  getOnly(app, "/email.mobileconfig", handle);
}
