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
import type { Provider } from "../providers/model.ts";
import { compileAutoconfig, renderAutoconfig } from "../templates/autoconfig.ts";
import { AnswerCache } from "./answer-cache.ts";
import {
  type AppDeps,
  accountFor,
  COMMON_HEADERS,
  domainFromHost,
  getOnly,
  plain,
  resolveDomain,
  respond,
} from "./context.ts";

const HEADERS = {
  ...COMMON_HEADERS,
  "Content-Type": "application/xml; charset=utf-8",
  "Cache-Control": "public, max-age=3600",
  "Access-Control-Allow-Origin": "*",
};

/**
 * clientConfig compiled per provider object (a changed provider is a new object), filled with the
 * domain per request: with a million published domains, a cache per domain would miss nearly
 * every time. Domains the compiled form does not cover use `answers`.
 */
const compiled = new WeakMap<Provider, (domain: string) => string | undefined>();

/** clientConfig documents by mail domain: they depend on the provider and the domain only. */
const answers = new AnswerCache<string>();

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
    const { provider } = resolution;
    if (provider.directory) {
      // User names from the directory (%LOGINNAME%), expanded here: clients know no such placeholder.
      // Per address, so never from the answer cache.
      const account = await accountFor(deps, resolution, address);
      const expanded = { ...provider, incoming: account.incoming, outgoing: account.outgoing };
      return respond(renderAutoconfig({ provider: expanded, domain }), 200, HEADERS);
    }
    let fill = compiled.get(provider);
    if (!fill) {
      fill = compileAutoconfig(provider);
      compiled.set(provider, fill);
    }
    const known = domain;
    return respond(
      fill(known) ?? answers.get(known, provider, () => renderAutoconfig({ provider, domain: known })),
      200,
      HEADERS,
    );
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
