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
import type { Hono } from "hono";
import { LRU } from "tiny-lru";
import { accountSettings } from "../providers/account.ts";
import { type EmailAddress, parseEmailAddress } from "../providers/domain.ts";
import type { Resolution } from "../providers/store.ts";
import {
  type AUTODISCOVER_ERRORS,
  renderAutodiscoverError,
  renderOutlookSettings,
  renderRedirectAddr,
} from "../templates/autodiscover.ts";
import { type CompiledAnswer, compileByLocalPart } from "../templates/compiled.ts";
import { renderMobilesyncRedirect, renderMobilesyncSettings } from "../templates/mobilesync.ts";
import { escapeXml } from "../templates/xml.ts";
import { AnswerCache } from "./answer-cache.ts";
import {
  type AutodiscoverRequest,
  isAutodiscoverXmlPath,
  MAX_AUTODISCOVER_BODY_BYTES,
  parseAutodiscoverRequest,
} from "./autodiscover-request.ts";

export { isAutodiscoverXmlPath } from "./autodiscover-request.ts";

import { type CappedBody, readBodyCapped } from "./body.ts";
import {
  type Answer,
  type AppDeps,
  accountFor,
  COMMON_HEADERS,
  maskAddress,
  type NoteDomain,
  noteOn,
  toResponse,
} from "./context.ts";

const XML_HEADERS = {
  ...COMMON_HEADERS,
  "Content-Type": "text/xml; charset=utf-8",
  "Cache-Control": "private, no-store",
};

/**
 * Parsed requests by their exact bytes (read as Latin-1, one character a byte): parsing is a pure
 * function of the bytes, and a client asks with the same body every time (Outlook repeats its probe
 * for each address). At most 1,000 bodies of at most 2 KiB each (Outlook's probe is ~400 bytes), so
 * at most 2 MiB of them; longer bodies are parsed every time.
 */
const CACHED_BODY_BYTES = 2048;
const parsedRequests = new LRU<ReturnType<typeof parseAutodiscoverRequest>>(1000);
const latin1 = new TextDecoder("latin1");

function parseCached(bytes: Uint8Array): ReturnType<typeof parseAutodiscoverRequest> {
  if (bytes.length > CACHED_BODY_BYTES) return parseAutodiscoverRequest(bytes);
  const key = latin1.decode(bytes);
  let parsed = parsedRequests.get(key);
  if (!parsed) {
    parsed = parseAutodiscoverRequest(bytes);
    parsedRequests.set(key, parsed);
  }
  return parsed;
}

/** Outlook settings compiled per mail domain (src/templates/compiled.ts); `fill` absent: render per request. */
const outlookAnswers = new AnswerCache<{ fill?: CompiledAnswer }>();

/** The Outlook settings document for `address` (the same bytes as rendering it directly). */
function outlookSettings(resolution: Resolution, address: EmailAddress): string {
  const { fill } = outlookAnswers.get(address.domain, resolution.provider, () => ({
    fill: compileByLocalPart(
      (a) => renderOutlookSettings(accountSettings(resolution, a)),
      address.domain,
      escapeXml,
    ),
  }));
  return fill ? fill(address.localPart) : renderOutlookSettings(accountSettings(resolution, address));
}

/** An answer before it becomes a Response: HTTP status and XML body. */
export interface PoxAnswer {
  status: 200 | 413;
  body: string;
}

const ok = (body: string): PoxAnswer => ({ status: 200, body });
const error = (code: keyof typeof AUTODISCOVER_ERRORS, mobilesync = false): PoxAnswer =>
  ok(renderAutodiscoverError(code, { mobilesync }));

/**
 * Decides the answer to a parsed request (the dispatch table of this module's docstring).
 * Store faults are logged and answered with error 603.
 */
export async function answerAutodiscover(
  deps: AppDeps,
  request: AutodiscoverRequest,
  note?: NoteDomain,
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
    const now = deps.store.peek?.(address.domain);
    resolution = now === undefined ? await deps.store.resolve(address.domain) : (now ?? undefined);
  } catch (e) {
    deps.log?.(`autodiscover: settings store failed for ${maskAddress(address)}: ${(e as Error).message}`);
    return error(603, mobilesync);
  }
  note?.(address.domain, resolution !== undefined);
  if (!resolution) {
    deps.log?.(`autodiscover: unknown domain for ${maskAddress(address)}`);
    return error(mobilesync ? 601 : 500, mobilesync);
  }
  const redirect =
    resolution.via === "alias" && resolution.aliasOf && resolution.aliasOf !== address.domain
      ? `${address.localPart}@${resolution.aliasOf}`
      : undefined;
  if (mobilesync) {
    const url = resolution.provider.activeSync?.url;
    if (!url) return error(601, true);
    const account = await accountFor(deps, resolution, address);
    return ok(
      redirect ? renderMobilesyncRedirect(account, redirect) : renderMobilesyncSettings(account, url),
    );
  }
  if (redirect) return ok(renderRedirectAddr(redirect));
  // A directory's login name differs per address: never from the compiled answer.
  if (resolution.provider.directory)
    return ok(renderOutlookSettings(await accountFor(deps, resolution, address)));
  return ok(outlookSettings(resolution, address));
}

function send(answer: PoxAnswer): Answer {
  return { status: answer.status, headers: XML_HEADERS, body: answer.body };
}

/**
 * The answer to a request for the POX path (the dispatch table of this module's docstring): the
 * body read with `readBody` under {@link MAX_AUTODISCOVER_BODY_BYTES} (a rejection: the client
 * broke off the upload), parsed, answered.
 * @param note told the mail domain looked up and whether it is known
 */
export async function answerAutodiscoverPost(
  deps: AppDeps,
  method: string,
  readBody: (maxBytes: number) => Promise<CappedBody>,
  note: NoteDomain,
): Promise<Answer> {
  if (method !== "POST") return send(error(600));
  let body: CappedBody;
  try {
    body = await readBody(MAX_AUTODISCOVER_BODY_BYTES);
  } catch {
    return send(error(600)); // the client broke off the upload
  }
  if (!body.ok) {
    deps.log?.("autodiscover: request refused (body too large)");
    return send({ status: 413, body: renderAutodiscoverError(600) });
  }
  const parsed = parseCached(body.bytes);
  if (!parsed.ok) {
    deps.log?.(`autodiscover: request refused (${parsed.reason})`);
    return send(error(600));
  }
  return send(await answerAutodiscover(deps, parsed.request, note));
}

/** Registers the POX Autodiscover route (any method, any letter case) on `app`. */
export function autodiscoverRoutes(app: Hono, deps: AppDeps): void {
  app.all("*", async (c, next) => {
    if (!isAutodiscoverXmlPath(c.req.path)) return next();
    const readBody = (maxBytes: number) =>
      deps.readBody?.(c, maxBytes) ?? readBodyCapped(c.req.raw, maxBytes);
    return toResponse(await answerAutodiscoverPost(deps, c.req.method, readBody, noteOn(c)));
  });
}
