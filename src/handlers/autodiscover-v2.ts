/**
 * Autodiscover v2 JSON endpoint (reference/autodiscover.md §3.7, §7 "handleV2"), GET or HEAD (any
 * other method: 405 with `Allow: GET, HEAD`), path in any letter case:
 *
 * - `/autodiscover/autodiscover.json?Email=<address>&Protocol=<p>` (Outlook, Outlook mobile, Nine)
 * - `/autodiscover/autodiscover.json/v1.0/<address>?Protocol=<p>` (Microsoft's form; the address is the
 *   single path segment after `/v1.0/`, percent-decoded once)
 *
 * `RedirectCount`, `ServerLocation` and other parameters are ignored; parameter names match in any case.
 *
 * | Protocol (any letter case) | answer (`application/json; charset=utf-8`) |
 * |---|---|
 * | `AutodiscoverV1` | 200 `{"Protocol":"AutodiscoverV1","Url":"<publicUrl>/autodiscover/autodiscover.xml"}` |
 * | `ActiveSync`, provider with `activeSync.url` | 200 `{"Protocol":"ActiveSync","Url":"<that URL>"}` |
 * | anything else (ActiveSync without a URL, EWS, REST, none …) | 400 `InvalidProtocol`, the value filtered to `[A-Za-z0-9]` |
 * | a supported protocol with no or an invalid Email | 400 `InvalidEmailAddress` |
 * | a supported protocol for an unknown domain | 404 `NotFound` |
 *
 * The Url comes from `deps.publicUrl`, never from the Host header (mailcow's Host echo, §6.8). The path
 * form is never used to build another URL (ProxyShell, CVE-2021-34473, entered on this path).
 */
import type { Hono } from "hono";
import { parseEmailAddress } from "../providers/domain.ts";
import type { Resolution } from "../providers/store.ts";
import { renderV2Endpoint, renderV2Error, renderV2InvalidProtocol } from "../templates/autodiscover-v2.ts";
import {
  type Answer,
  type AppDeps,
  COMMON_HEADERS,
  maskAddress,
  type NoteDomain,
  noteOn,
  READ_ONLY_ANSWER,
  requestTarget,
  resolveDomain,
  resolveDomainNow,
  toResponse,
} from "./context.ts";

const JSON_HEADERS = {
  ...COMMON_HEADERS,
  "Content-Type": "application/json; charset=utf-8",
  "Cache-Control": "private, no-store",
};
const BASE = "/autodiscover/autodiscover.json";
const PATH_FORM = `${BASE}/v1.0/`;
const V2_HINT = /autodiscover\.json/i;

/** The first query parameter named `name` in any letter case. */
function param(url: URL, name: string): string | undefined {
  for (const [key, value] of url.searchParams) if (key.toLowerCase() === name) return value;
  return undefined;
}

/**
 * Where the address comes from for this URL: `{ email, from }` for a v2 path (`from` names the
 * source for error messages: `Email` or `the address after /v1.0/`), `undefined` for any other path.
 * On the path form, the segment after `/v1.0/` is the address when it is one; otherwise a valid
 * `Email=` query parameter is used, so a segment that is not an address (`/v1.0/me`) does not
 * override it. A segment that does not percent-decode counts as `""`.
 */
export function v2Email(url: URL): { email: string | undefined; from: string } | undefined {
  const lower = url.pathname.toLowerCase();
  const query = param(url, "email");
  if (lower === BASE || lower === `${BASE}/`) return { email: query, from: "Email" };
  if (!lower.startsWith(PATH_FORM)) return undefined;
  const raw = url.pathname.slice(PATH_FORM.length);
  let segment: string | undefined;
  if (raw !== "" && !raw.includes("/")) {
    try {
      segment = decodeURIComponent(raw);
    } catch {
      segment = "";
    }
  }
  const path = { email: segment, from: "the address after /v1.0/" };
  if (segment !== undefined && parseEmailAddress(segment)) return path;
  if (query !== undefined && parseEmailAddress(query)) return { email: query, from: "Email" };
  return segment !== undefined || query === undefined ? path : { email: query, from: "Email" };
}

function json(status: 200 | 400 | 404, body: string): Answer {
  return { status, headers: JSON_HEADERS, body };
}

/**
 * Whether a request URL may be a v2 request: a string test that holds for every URL normalising to
 * a v2 path (dot segments included), so other requests pay no URL parse.
 */
export function mayBeV2(url: string): boolean {
  return V2_HINT.test(url);
}

/** The target and address source of the last URL read (the fast path asks {@link isV2Url}, then {@link answerV2}). */
let last: { url: string; target: URL; found: ReturnType<typeof v2Email> } | undefined;

function readV2(url: string): { target: URL; found: ReturnType<typeof v2Email> } {
  if (last?.url !== url) {
    // Never `new URL(url)`: its host is the client's Host header.
    const target = requestTarget(url);
    last = { url, target, found: v2Email(target) };
  }
  return last;
}

/** Whether a request URL is a v2 request (a v2 path, any method). */
export function isV2Url(url: string): boolean {
  return mayBeV2(url) && readV2(url).found !== undefined;
}

/**
 * The answer to a v2 request (the table of this module's docstring), or `undefined` when `url` is
 * not a v2 path.
 * @param url the request URL (`c.req.url`; only its path and query are read, never its host)
 * @param note told the mail domain looked up and whether it is known
 */
export function answerV2(
  deps: AppDeps,
  method: string,
  url: string,
  note: NoteDomain,
): Answer | undefined | Promise<Answer | undefined> {
  const { target, found } = readV2(url);
  if (!found) return undefined;
  if (method !== "GET" && method !== "HEAD") return READ_ONLY_ANSWER;
  const requested = param(target, "protocol") ?? "";
  const protocol = requested.trim().toLowerCase();
  if (protocol !== "autodiscoverv1" && protocol !== "activesync")
    return json(400, renderV2InvalidProtocol(requested));
  const address = found.email ? parseEmailAddress(found.email) : undefined;
  if (!address)
    return json(
      400,
      renderV2Error(
        "InvalidEmailAddress",
        `${found.from}: expected an e-mail address such as jane@example.com`,
      ),
    );
  const decide = (resolution: Resolution | null | undefined): Answer => {
    if (!resolution) {
      deps.log?.(`autodiscover v2: unknown domain for ${maskAddress(address)}`);
      return json(404, renderV2Error("NotFound", "No settings are published for this domain."));
    }
    if (protocol === "activesync") {
      const eas = resolution.provider.activeSync?.url;
      return eas
        ? json(200, renderV2Endpoint("ActiveSync", eas))
        : json(400, renderV2InvalidProtocol(requested));
    }
    const base = deps.publicUrl.replace(/\/+$/, "");
    return json(200, renderV2Endpoint("AutodiscoverV1", `${base}/autodiscover/autodiscover.xml`));
  };
  const now = resolveDomainNow(deps, address.domain, note);
  if (now !== undefined) return decide(now);
  return resolveDomain(deps, address.domain, note).then(decide);
}

/** Registers the v2 JSON routes on `app`. */
export function autodiscoverV2Routes(app: Hono, deps: AppDeps): void {
  app.all("*", async (c, next) => {
    if (!mayBeV2(c.req.url)) return next();
    const answer = await answerV2(deps, c.req.method, c.req.url, noteOn(c));
    return answer ? toResponse(answer) : next();
  });
}
