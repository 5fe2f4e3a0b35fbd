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
import type { Hono } from "hono";
import { type EmailAddress, normalizeDomain, parseEmailAddress } from "../providers/domain.ts";
import type { Provider } from "../providers/model.ts";
import type { Resolution } from "../providers/store.ts";
import { compileAutoconfig, renderAutoconfig } from "../templates/autoconfig.ts";
import { AnswerCache } from "./answer-cache.ts";
import {
  type Answer,
  type AppDeps,
  accountFor,
  COMMON_HEADERS,
  domainFromHost,
  getOnly,
  type NoteDomain,
  noteOn,
  partsOf,
  plainAnswer,
  type RequestParts,
  resolveDomain,
  resolveDomainNow,
  toResponse,
} from "./context.ts";

const HEADERS = {
  ...COMMON_HEADERS,
  "Content-Type": "application/xml; charset=utf-8",
  "Cache-Control": "public, max-age=3600",
  "Access-Control-Allow-Origin": "*",
};

/** The paths answered with `?emailaddress=` or the Host name (the route patterns, for logs). */
export const AUTOCONFIG_PATHS = [
  "/mail/config-v1.1.xml",
  "/.well-known/autoconfig/mail/config-v1.1.xml",
  "/.well-known/mail-v1.xml",
  "/v1.1/mail/config-v1.1.xml",
] as const;

/** The ISPDB-style route `/v1.1/<domain>`. */
export const AUTOCONFIG_DOMAIN_ROUTE = "/v1.1/:domain";

/**
 * clientConfig compiled per provider object (a changed provider is a new object), filled with the
 * domain per request: with a million published domains, a cache per domain would miss nearly
 * every time. Domains the compiled form does not cover use `answers`.
 */
const compiled = new WeakMap<Provider, (domain: string) => string | undefined>();

/** clientConfig documents by mail domain, as UTF-8: they depend on the provider and the domain only. */
const answers = new AnswerCache<Uint8Array<ArrayBuffer>>();
const utf8 = new TextEncoder();

/**
 * The answer to an autoconfig request (see the module documentation); synchronous when the store
 * knows the domain from memory and the answer is kept (the common case), else a Promise.
 * @param pathDomain the `<domain>` of `/v1.1/<domain>`, percent-decoded; none for the other paths
 * @param note told the mail domain looked up and whether it is known
 */
export function answerAutoconfig(
  deps: AppDeps,
  request: RequestParts,
  pathDomain: string | undefined,
  note: NoteDomain,
): Answer | Promise<Answer> {
  let domain: string | undefined;
  let address: EmailAddress | undefined;
  if (pathDomain !== undefined) {
    domain = normalizeDomain(pathDomain);
    if (!domain) return plainAnswer(400, "The path must end with a mail domain, e.g. /v1.1/example.com.");
  } else {
    const emailParam = request.query("emailaddress");
    if (emailParam) {
      address = parseEmailAddress(emailParam);
      if (!address) return plainAnswer(400, "emailaddress is not a valid e-mail address.");
      domain = address.domain;
    } else {
      domain = domainFromHost(request.header("host"));
      if (!domain) return plainAnswer(404, "No mail domain: pass ?emailaddress=user@domain.");
    }
  }
  const now = resolveDomainNow(deps, domain, note);
  const known = domain;
  return now === undefined
    ? resolveDomain(deps, known, note).then((r) => autoconfigFor(deps, known, address, r))
    : autoconfigFor(deps, known, address, now);
}

/** The answer for a looked-up domain: 404, the compiled document, or one expanded for a directory. */
function autoconfigFor(
  deps: AppDeps,
  domain: string,
  address: EmailAddress | undefined,
  resolution: Resolution | null | undefined,
): Answer | Promise<Answer> {
  if (!resolution) return plainAnswer(404, `No settings for ${domain}.`);
  const { provider } = resolution;
  if (!provider.directory) return clientConfig(domain, resolution);
  // User names from the directory (%LOGINNAME%), expanded here: clients know no such placeholder.
  // Per address, so never from the answer cache.
  return accountFor(deps, resolution, address).then((account) => ({
    status: 200,
    headers: HEADERS,
    body: renderAutoconfig({
      provider: { ...provider, incoming: account.incoming, outgoing: account.outgoing },
      domain,
    }),
  }));
}

/** The clientConfig document of a domain's provider (without a directory), compiled or kept. */
function clientConfig(domain: string, { provider }: Resolution): Answer {
  let fill = compiled.get(provider);
  if (!fill) {
    fill = compileAutoconfig(provider);
    compiled.set(provider, fill);
  }
  const body =
    fill(domain) ?? answers.get(domain, provider, () => utf8.encode(renderAutoconfig({ provider, domain })));
  return { status: 200, headers: HEADERS, body };
}

/** Registers the autoconfig routes on `app`. */
export function autoconfigRoutes(app: Hono, deps: AppDeps): void {
  for (const path of AUTOCONFIG_PATHS) {
    getOnly(app, path, async (c) =>
      toResponse(await answerAutoconfig(deps, partsOf(c), undefined, noteOn(c))),
    );
  }
  getOnly(app, AUTOCONFIG_DOMAIN_ROUTE, async (c) =>
    toResponse(await answerAutoconfig(deps, partsOf(c), c.req.param("domain"), noteOn(c))),
  );
}
