/**
 * DNS records for admins: `GET /dns` (form), `GET /dns?domain=<domain>` (the records as a table
 * and zone-file lines), `GET /dns?domain=<domain>&format=zone` (the zone lines as text/plain).
 * Targets come from AppDeps.publicUrl (never the Host header) and the provider's servers.
 * A malformed domain → 400, an unknown one → 404 (the page with a message, or plain text).
 */
import type { Hono } from "hono";
import { accountSettings } from "../providers/account.ts";
import { normalizeDomain } from "../providers/domain.ts";
import { renderDnsPage } from "../templates/dns-page.ts";
import { dnsRecords, renderZoneLines } from "../templates/dns-records.ts";
import { paccDnsInput } from "../templates/pacc.ts";
import { type AppDeps, getOnly, plain, resolveDomain } from "./context.ts";
import { pageSecurityHeaders } from "./page-headers.ts";

/** Reads a domain as people type it: `example.com`, `Example.COM.`, or an address `jane@example.com`. */
export function domainInput(text: string): string | undefined {
  const trimmed = text.trim();
  return normalizeDomain(trimmed.includes("@") ? trimmed.slice(trimmed.lastIndexOf("@") + 1) : trimmed);
}

/** Registers `/dns` on `app`. */
export function dnsRoutes(app: Hono, deps: AppDeps): void {
  getOnly(app, "/dns", async (c) => {
    const typed = c.req.query("domain")?.trim();
    const asZone = c.req.query("format") === "zone";
    if (!typed) {
      if (asZone) return plain(c, 400, "Missing domain: use /dns?domain=example.com&format=zone");
      return c.body(renderDnsPage({}), 200, await pageSecurityHeaders("public, max-age=300"));
    }
    const domain = domainInput(typed);
    const resolution = domain ? await resolveDomain(deps, domain) : undefined;
    if (!domain || !resolution) {
      const status = domain ? 404 : 400;
      const error = domain
        ? {
            title: `No settings are known for ${domain}.`,
            detail: "Add the domain to a provider's domains first.",
          }
        : { title: "That is not a domain name.", detail: "A mail domain looks like example.com." };
      if (asZone) return plain(c, status, error.title);
      return c.body(renderDnsPage({ domain: typed, error }), status, await pageSecurityHeaders("no-store"));
    }
    const account = accountSettings(resolution);
    const set = dnsRecords({ account, publicUrl: deps.publicUrl, ...(await paccDnsInput(account)) });
    const zone = renderZoneLines(set, deps.publicUrl);
    if (asZone) {
      return c.body(zone, 200, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" });
    }
    return c.body(
      renderDnsPage({ domain: typed, result: { set, zone } }),
      200,
      await pageSecurityHeaders("no-store"),
    );
  });
}
