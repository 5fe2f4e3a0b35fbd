/**
 * Outlook Autodiscover (POX) endpoint: `/autodiscover/autodiscover.xml` in any letter case (a trailing
 * slash tolerated), on any host name (reference/autodiscover.md §0, §3.6, §7).
 *
 * | request | answer (HTTP 200 unless noted, `text/xml; charset=utf-8`) |
 * |---|---|
 * | GET, HEAD, PUT … (anything but POST) | error 600 (what Exchange does) |
 * | body over {@link MAX_AUTODISCOVER_BODY_BYTES} | HTTP 413 with an error 600 document |
 * | empty, not XML, DOCTYPE/ENTITY, two `Request`s, no `EMailAddress`, an invalid address | error 600 |
 * | AcceptableResponseSchema outlook 2006a (or none) | settings; redirectAddr for an alias domain; error 500 for an unknown domain |
 * | AcceptableResponseSchema mobilesync | settings (or Redirect) if the provider sets `activeSync.url`, else error 601; in the mobilesync namespace |
 * | any other AcceptableResponseSchema | error 601 |
 * | the settings store fails | error 603 |
 *
 * Only a `LegacyDN` (no address) → 600: mailconf keeps no LegacyDN directory, so when both are sent the
 * address decides (a documented deviation from MS-OXDSCLI §3.2.5 "LegacyDN MUST be used"; the
 * corpus README's decision). Every local part of a known domain gets the same answer with its own
 * address filled in (no account enumeration). Never 401, never a 5xx, never request text in a namespace.
 */
import type { Context, Hono } from "hono";
import { parseEmailAddress } from "../providers/domain.ts";
import type { Resolution } from "../providers/store.ts";
import {
  type AUTODISCOVER_ERRORS,
  renderAutodiscoverError,
  renderOutlookSettings,
  renderRedirectAddr,
} from "../templates/autodiscover.ts";
import { renderMobilesyncRedirect, renderMobilesyncSettings } from "../templates/mobilesync.ts";
import {
  type AutodiscoverRequest,
  MAX_AUTODISCOVER_BODY_BYTES,
  parseAutodiscoverRequest,
} from "./autodiscover-request.ts";
import { readBodyCapped } from "./body.ts";
import { type AppDeps, accountFor, maskAddress } from "./context.ts";
import { noteDomain } from "./operations.ts";

const XML_HEADERS = { "Content-Type": "text/xml; charset=utf-8", "Cache-Control": "private, no-store" };

/** An answer before it becomes a Response: HTTP status and XML body. */
export interface PoxAnswer {
  status: 200 | 413;
  body: string;
}

const ok = (body: string): PoxAnswer => ({ status: 200, body });
const error = (code: keyof typeof AUTODISCOVER_ERRORS, mobilesync = false): PoxAnswer =>
  ok(renderAutodiscoverError(code, { mobilesync }));

/** True for the POX path in any letter case, with or without one trailing slash. */
export function isAutodiscoverXmlPath(path: string): boolean {
  const p = path.toLowerCase();
  return p === "/autodiscover/autodiscover.xml" || p === "/autodiscover/autodiscover.xml/";
}

/**
 * Decides the answer to a parsed request (the dispatch table of this module's docstring).
 * Store faults are logged and answered with error 603.
 */
export async function answerAutodiscover(
  deps: AppDeps,
  request: AutodiscoverRequest,
  c?: Context,
): Promise<PoxAnswer> {
  if (request.schema === "other") return error(601);
  const mobilesync = request.schema === "mobilesync";
  if (!request.emailAddress) {
    if (request.legacyDN)
      deps.log?.("autodiscover: LegacyDN without EMailAddress refused (no LegacyDN directory)");
    return error(600, mobilesync);
  }
  const address = parseEmailAddress(request.emailAddress);
  if (!address) return error(600, mobilesync);
  if (request.legacyDN)
    deps.log?.(`autodiscover: LegacyDN ignored, EMailAddress used for ${maskAddress(address)}`);
  let resolution: Resolution | undefined;
  try {
    resolution = await deps.store.resolve(address.domain);
  } catch (e) {
    deps.log?.(`autodiscover: settings store failed for ${maskAddress(address)}: ${(e as Error).message}`);
    return error(603, mobilesync);
  }
  noteDomain(c, address.domain, resolution !== undefined);
  if (!resolution) {
    deps.log?.(`autodiscover: unknown domain for ${maskAddress(address)}`);
    return error(mobilesync ? 601 : 500, mobilesync);
  }
  const account = await accountFor(deps, resolution, address);
  const redirect =
    resolution.via === "alias" && resolution.aliasOf && resolution.aliasOf !== address.domain
      ? `${address.localPart}@${resolution.aliasOf}`
      : undefined;
  if (mobilesync) {
    const url = resolution.provider.activeSync?.url;
    if (!url) return error(601, true);
    return ok(
      redirect ? renderMobilesyncRedirect(account, redirect) : renderMobilesyncSettings(account, url),
    );
  }
  return ok(redirect ? renderRedirectAddr(redirect) : renderOutlookSettings(account));
}

function send(c: Context, answer: PoxAnswer): Response {
  return c.body(answer.body, answer.status, XML_HEADERS);
}

/** Registers the POX Autodiscover route (any method, any letter case) on `app`. */
export function autodiscoverRoutes(app: Hono, deps: AppDeps): void {
  app.all("*", async (c, next) => {
    if (!isAutodiscoverXmlPath(c.req.path)) return next();
    if (c.req.method !== "POST") return send(c, error(600));
    let body: Awaited<ReturnType<typeof readBodyCapped>>;
    try {
      body = await readBodyCapped(c.req.raw, MAX_AUTODISCOVER_BODY_BYTES);
    } catch {
      return send(c, error(600)); // the client broke off the upload
    }
    if (!body.ok) {
      deps.log?.("autodiscover: request refused (body too large)");
      return send(c, { status: 413, body: renderAutodiscoverError(600) });
    }
    const parsed = parseAutodiscoverRequest(body.bytes);
    if (!parsed.ok) {
      deps.log?.(`autodiscover: request refused (${parsed.reason})`);
      return send(c, error(600));
    }
    return send(c, await answerAutodiscover(deps, parsed.request, c));
  });
}
