/**
 * Apple profile download: `GET /mobileconfig?email=<address>` and `/email.mobileconfig?email=`
 * (reference/mobileconfig.md §8). 200 `application/x-apple-aspen-config` with an ASCII attachment
 * filename and `Cache-Control: no-store`; signed (DER CMS) when a signer is configured.
 * Missing or malformed address → 400; unknown domain → 404.
 */
import type { Context, Hono } from "hono";
import { accountSettings } from "../providers/account.ts";
import { parseEmailAddress } from "../providers/domain.ts";
import { renderMobileconfig } from "../templates/mobileconfig.ts";
import { type AppDeps, plain, resolveDomain } from "./context.ts";

/** `jane.doe@example.com` → `jane.doe-at-example.com.mobileconfig` (ASCII letters, digits, `.-_` only). */
export function profileFileName(address: string): string {
  const safe = address
    .replace("@", "-at-")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .slice(0, 100);
  return `${safe || "mail"}.mobileconfig`;
}

/** Registers the profile routes on `app`. */
export function mobileconfigRoutes(app: Hono, deps: AppDeps): void {
  const handle = async (c: Context) => {
    const email = c.req.query("email") ?? c.req.query("emailaddress");
    if (!email) return plain(c, 400, "Missing email: use /mobileconfig?email=you@example.com");
    const address = parseEmailAddress(email);
    if (!address) return plain(c, 400, "email is not a valid e-mail address.");
    const resolution = await resolveDomain(deps, address.domain);
    if (!resolution) return plain(c, 404, `No settings for ${address.domain}.`);
    const xml = await renderMobileconfig(accountSettings(resolution, address));
    const bytes = new TextEncoder().encode(xml);
    const body = deps.signProfile ? await deps.signProfile(bytes) : bytes;
    return c.body(body as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "application/x-apple-aspen-config",
      "Content-Disposition": `attachment; filename="${profileFileName(address.address)}"`,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    });
  };
  app.get("/mobileconfig", handle);
  app.get("/email.mobileconfig", handle);
}
