/**
 * Thunderbird autoconfig endpoints (reference/autoconfig.md §2 and §6):
 * `GET|HEAD /mail/config-v1.1.xml`, `/.well-known/autoconfig/mail/config-v1.1.xml`,
 * `/.well-known/mail-v1.xml` (GNOME Online Accounts), `/v1.1/mail/config-v1.1.xml?emailaddress=…`
 * (Nine asks there) and ISPDB-style `/v1.1/<domain>`.
 *
 * The domain comes from `emailaddress` (optional; Thunderbird for Android sends none), else from
 * the Host name (`autoconfig.<domain>` or `<domain>`). Known domain: 200 clientConfig XML.
 * Unknown domain: 404 plain text (a 200 HTML page would be taken as a broken config).
 * A provider with a `directory`: user names are expanded for the address (`%LOGINNAME%` from the
 * directory, else its fallback), since clients know no `%LOGINNAME%`.
 */
import type { Context, Hono } from "hono";
import { type EmailAddress, normalizeDomain, parseEmailAddress } from "../providers/domain.ts";
import { renderAutoconfig } from "../templates/autoconfig.ts";
import { type AppDeps, accountFor, domainFromHost, getOnly, plain, resolveDomain } from "./context.ts";

/** Registers the autoconfig routes on `app`. */
export function autoconfigRoutes(app: Hono, deps: AppDeps): void {
  const handle = async (c: Context, pathDomain?: string) => {
    const emailParam = c.req.query("emailaddress");
    let domain: string | undefined;
    let address: EmailAddress | undefined;
    if (pathDomain !== undefined) {
      domain = normalizeDomain(pathDomain);
      if (!domain) return plain(c, 400, "The path must end with a mail domain, e.g. /v1.1/example.com.");
    } else if (emailParam) {
      address = parseEmailAddress(emailParam);
      if (!address) return plain(c, 400, "emailaddress is not a valid e-mail address.");
      domain = address.domain;
    } else {
      domain = domainFromHost(c.req.header("host"));
      if (!domain) return plain(c, 404, "No mail domain: pass ?emailaddress=user@domain.");
    }
    const resolution = await resolveDomain(deps, domain, c);
    if (!resolution) return plain(c, 404, `No settings for ${domain}.`);
    let provider = resolution.provider;
    if (provider.directory) {
      // User names from the directory (%LOGINNAME%), expanded here: clients know no such placeholder.
      const account = await accountFor(deps, resolution, address);
      provider = { ...provider, incoming: account.incoming, outgoing: account.outgoing };
    }
    const xml = renderAutoconfig({ provider, domain });
    return c.body(xml, 200, {
      "Content-Type": "application/xml; charset=utf-8",
      "Cache-Control": "public, max-age=3600",
      "Access-Control-Allow-Origin": "*",
    });
  };
  for (const path of [
    "/mail/config-v1.1.xml",
    "/.well-known/autoconfig/mail/config-v1.1.xml",
    "/.well-known/mail-v1.xml",
    "/v1.1/mail/config-v1.1.xml",
  ]) {
    getOnly(app, path, (c) => handle(c));
  }
  getOnly(app, "/v1.1/:domain", (c) => handle(c, c.req.param("domain")));
}
