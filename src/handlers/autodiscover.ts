/**
 * Outlook Autodiscover (POX) endpoint: `/autodiscover/autodiscover.xml` in any letter case, on any
 * host name (reference/autodiscover.md §0, §7).
 *
 * POST with a request body → dispatch on AcceptableResponseSchema: Outlook 2006a → settings
 * (or redirectAddr for an alias domain; error 500 for an unknown domain); mobilesync → error 601
 * in the mobilesync namespace unless an ActiveSync URL is configured; anything else → 601.
 * Malformed bodies, DOCTYPE/ENTITY, two Requests, no address, GET → HTTP 200 with error 600.
 * A body over {@link MAX_AUTODISCOVER_BODY_BYTES} → 413. Never 401, never a 5xx.
 */
import type { Context, Hono } from "hono";
import { accountSettings } from "../providers/account.ts";
import { parseEmailAddress } from "../providers/domain.ts";
import {
  type AUTODISCOVER_ERRORS,
  OUTLOOK_RESPONSE_NS,
  renderAutodiscoverError,
  renderOutlookSettings,
  renderRedirectAddr,
} from "../templates/autodiscover.ts";
import { renderMobilesyncSettings } from "../templates/mobilesync.ts";
import { MAX_AUTODISCOVER_BODY_BYTES, parseAutodiscoverRequest } from "./autodiscover-request.ts";
import { readBodyCapped } from "./body.ts";
import { type AppDeps, maskAddress, resolveDomain } from "./context.ts";

const XML_HEADERS = { "Content-Type": "text/xml; charset=utf-8", "Cache-Control": "no-store" };

function xml(c: Context, body: string): Response {
  return c.body(body, 200, XML_HEADERS);
}

function error(c: Context, code: keyof typeof AUTODISCOVER_ERRORS, mobilesync = false): Response {
  return xml(c, renderAutodiscoverError(code, { mobilesync }));
}

/** Registers the POX Autodiscover route (any method, any letter case) on `app`. */
export function autodiscoverRoutes(app: Hono, deps: AppDeps): void {
  app.all("*", async (c, next) => {
    if (c.req.path.toLowerCase() !== "/autodiscover/autodiscover.xml") return next();
    if (c.req.method !== "POST") return error(c, 600);
    const body = await readBodyCapped(c.req.raw, MAX_AUTODISCOVER_BODY_BYTES);
    if (!body.ok) return c.text("Request body too large.\n", 413);
    const parsed = parseAutodiscoverRequest(body.bytes);
    if (!parsed.ok) {
      deps.log?.(`autodiscover: request refused (${parsed.reason})`);
      return error(c, 600);
    }
    const request = parsed.request;
    const isOutlook = request.acceptableResponseSchema === OUTLOOK_RESPONSE_NS;
    if (!isOutlook && !request.mobilesync) return error(c, 601);
    // We keep no LegacyDN directory: the address decides (reference decision table); only a LegacyDN → 600.
    const address = request.emailAddress ? parseEmailAddress(request.emailAddress) : undefined;
    if (!address) return error(c, 600, request.mobilesync);
    const resolution = await resolveDomain(deps, address.domain);
    if (!resolution) {
      deps.log?.(`autodiscover: unknown domain for ${maskAddress(address)}`);
      return error(c, request.mobilesync ? 601 : 500, request.mobilesync);
    }
    if (resolution.via === "alias" && resolution.aliasOf) {
      return xml(c, renderRedirectAddr(`${address.localPart}@${resolution.aliasOf}`));
    }
    const account = accountSettings(resolution, address);
    if (request.mobilesync) {
      const url = resolution.provider.activeSync?.url;
      return url ? xml(c, renderMobilesyncSettings(account, url)) : error(c, 601, true);
    }
    return xml(c, renderOutlookSettings(account));
  });
}
