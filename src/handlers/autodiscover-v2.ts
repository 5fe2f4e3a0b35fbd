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
import { type EmailAddress, parseEmailAddress } from "../providers/domain.ts";
import type { Provider } from "../providers/model.ts";
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

/** The path and query parameters of a request URL, as this endpoint reads them. */
export interface V2Target {
  /** The path as WHATWG URL gives it (`URL.pathname`). */
  pathname: string;
  /** The first query parameter named `name` (lower case) in any letter case, decoded as URLSearchParams does. */
  param(name: string): string | undefined;
}

/** The first of `params` named `name` (lower case) in any letter case. */
function firstParam(params: URLSearchParams, name: string): string | undefined {
  for (const [key, value] of params) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** A path WHATWG URL keeps as it is: no `%`, `#`, `\\`, white space or other character URL would encode or drop. */
const PLAIN_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/;
/** A query of the same characters and `%`, `?`: URLSearchParams reads it as it reads the URL's. */
const PLAIN_QUERY = /^[A-Za-z0-9._~!$&'()*+,;=:@/?%-]*$/;
/** A dot segment in the path, which URL would remove. */
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

/**
 * A name or value of a query as URLSearchParams decodes it (`+` is a space, then percent-decoding
 * as UTF-8), or `undefined` when that needs its lenient rules (a stray `%`, bytes that are not
 * UTF-8), which decodeURIComponent refuses.
 */
function formDecode(text: string): string | undefined {
  if (!text.includes("%") && !text.includes("+")) return text;
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return undefined;
  }
}

/** A {@link V2Target} read from a plain path and query without a URL (the common case, see {@link readTarget}). */
class PlainTarget implements V2Target {
  constructor(
    readonly pathname: string,
    private readonly query: string,
  ) {}

  param(name: string): string | undefined {
    const query = this.query;
    let start = 0;
    while (start < query.length) {
      let end = query.indexOf("&", start);
      if (end < 0) end = query.length;
      // An empty piece (`&&`) is no parameter, as for URLSearchParams.
      if (end > start) {
        const eq = query.indexOf("=", start);
        const keyEnd = eq >= 0 && eq < end ? eq : end;
        const key = formDecode(query.slice(start, keyEnd));
        if (key === undefined) return this.lenient(name);
        if (key.length === name.length && key.toLowerCase() === name) {
          if (keyEnd === end) return "";
          return formDecode(query.slice(keyEnd + 1, end)) ?? this.lenient(name);
        }
      }
      start = end + 1;
    }
    return undefined;
  }

  /** {@link param} by URLSearchParams, for a query with text decodeURIComponent refuses. */
  private lenient(name: string): string | undefined {
    // The constructor drops one leading `?`, which the URL's own searchParams keeps as part of a name.
    return firstParam(new URLSearchParams(`?${this.query}`), name);
  }
}

/** A {@link V2Target} from a parsed URL. */
function urlTarget(url: URL): V2Target {
  return { pathname: url.pathname, param: (name) => firstParam(url.searchParams, name) };
}

/**
 * The path and query of a request URL (`c.req.url`), never its host: a path with nothing to
 * normalise ({@link PLAIN_PATH}, no dot segment) and a query of the same characters are read
 * without a URL, giving what URL and URLSearchParams would give (test/fast-lanes.test.ts);
 * anything else goes through {@link requestTarget}.
 */
export function readTarget(url: string): V2Target {
  const scheme = url.indexOf("://");
  const slash = scheme < 0 ? -1 : url.indexOf("/", scheme + 3);
  if (slash >= 0) {
    // A `?` or `#` before the first `/` ends the authority: then URL decides where the path is.
    const q = url.indexOf("?", scheme + 3);
    const hash = url.indexOf("#", scheme + 3);
    if ((q < 0 || q > slash) && (hash < 0 || hash > slash)) {
      const path = q < 0 ? url.slice(slash) : url.slice(slash, q);
      const query = q < 0 ? "" : url.slice(q + 1);
      if (PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path) && PLAIN_QUERY.test(query))
        return new PlainTarget(path, query);
    }
  }
  // Never `new URL(url)`: its host is the client's Host header.
  return urlTarget(requestTarget(url));
}

/**
 * Where the address comes from for this URL: `{ email, from }` for a v2 path (`from` names the
 * source for error messages: `Email` or `the address after /v1.0/`), `undefined` for any other path.
 * On the path form, the segment after `/v1.0/` is the address when it is one; otherwise a valid
 * `Email=` query parameter is used, so a segment that is not an address (`/v1.0/me`) does not
 * override it. A segment that does not percent-decode counts as `""`.
 */
export function v2Email(url: URL): { email: string | undefined; from: string } | undefined {
  return emailOf(urlTarget(url));
}

function emailOf(target: V2Target): { email: string | undefined; from: string } | undefined {
  const lower = target.pathname.toLowerCase();
  const query = target.param("email");
  if (lower === BASE || lower === `${BASE}/`) return { email: query, from: "Email" };
  if (!lower.startsWith(PATH_FORM)) return undefined;
  const raw = target.pathname.slice(PATH_FORM.length);
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

/** The v2 paths in any letter case (as {@link emailOf} tells them), for a path as sent. */
const V2_PATH = /^\/autodiscover\/autodiscover\.json(?:\/|\/v1\.0\/.*)?$/is;

/**
 * Whether a path is a v2 path (any method), for a path as sent with no `%` and no dot segment, which
 * the URL's path equals (the Node fast path's test; the app's route reads the URL).
 */
export function isV2Path(path: string): boolean {
  return V2_PATH.test(path);
}

// The answers of a known domain, made once: the AutodiscoverV1 answer per public URL, the
// ActiveSync answer per provider object (a changed provider is a new object); and the 404.
const NOT_FOUND = json(404, renderV2Error("NotFound", "No settings are published for this domain."));
let autodiscoverV1: { publicUrl: string; answer: Answer } | undefined;
const activeSync = new WeakMap<Provider, Answer>();

/** The `AutodiscoverV1` answer: the POX endpoint under the public URL (read per request: it may be set late). */
function autodiscoverV1Answer(publicUrl: string): Answer {
  if (autodiscoverV1?.publicUrl !== publicUrl) {
    const base = publicUrl.replace(/\/+$/, "");
    autodiscoverV1 = {
      publicUrl,
      answer: json(200, renderV2Endpoint("AutodiscoverV1", `${base}/autodiscover/autodiscover.xml`)),
    };
  }
  return autodiscoverV1.answer;
}

/** The answer for a looked-up domain (the table of this module's docstring). */
function v2Answer(
  deps: AppDeps,
  protocol: string,
  requested: string,
  address: EmailAddress,
  resolution: Resolution | null | undefined,
): Answer {
  if (!resolution) {
    deps.log?.(`autodiscover v2: unknown domain for ${maskAddress(address)}`);
    return NOT_FOUND;
  }
  if (protocol === "autodiscoverv1") return autodiscoverV1Answer(deps.publicUrl);
  const { provider } = resolution;
  const eas = provider.activeSync?.url;
  if (!eas) return json(400, renderV2InvalidProtocol(requested));
  let answer = activeSync.get(provider);
  if (!answer) {
    answer = json(200, renderV2Endpoint("ActiveSync", eas));
    activeSync.set(provider, answer);
  }
  return answer;
}

/**
 * The answer to a v2 request (the table of this module's docstring), or `undefined` when `url` is
 * not a v2 path; synchronous when the store knows the domain from memory, else a Promise.
 * @param url the request URL (`c.req.url`; only its path and query are read, never its host)
 * @param note told the mail domain looked up and whether it is known
 */
export function answerV2(
  deps: AppDeps,
  method: string,
  url: string,
  note: NoteDomain,
): Answer | undefined | Promise<Answer | undefined> {
  const target = readTarget(url);
  const found = emailOf(target);
  if (!found) return undefined;
  if (method !== "GET" && method !== "HEAD") return READ_ONLY_ANSWER;
  const requested = target.param("protocol") ?? "";
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
  const now = resolveDomainNow(deps, address.domain, note);
  if (now !== undefined) return v2Answer(deps, protocol, requested, address, now);
  return resolveDomain(deps, address.domain, note).then((resolution) =>
    v2Answer(deps, protocol, requested, address, resolution),
  );
}

/** Registers the v2 JSON routes on `app`. */
export function autodiscoverV2Routes(app: Hono, deps: AppDeps): void {
  app.all("*", async (c, next) => {
    if (!mayBeV2(c.req.url)) return next();
    const answer = await answerV2(deps, c.req.method, c.req.url, noteOn(c));
    return answer ? toResponse(answer) : next();
  });
}
