/**
 * What operating mailconf needs from every request, runtime-neutral: who the client is, rate
 * limits per client, one access-log/metrics record per request, and readiness. The runtime entries
 * supply the pieces (Node: src/node/operations.ts; Workers: src/worker-app.ts); without them the
 * app does none of it. See docs/operations.md.
 */
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { isAutodiscoverXmlPath } from "./autodiscover-request.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** The mail domain a request asked about (normalised), for the access log. */
    mailDomain: string;
    /** Whether some source knew {@link ContextVariableMap.mailDomain}. */
    domainKnown: boolean;
  }
}

/**
 * Rate-limit buckets, each counted per client and minute:
 * - `request`: every request but `/healthz` and `/readyz`;
 * - `expensive`: Autodiscover POST, the settings guide page (`/`) and Apple profiles;
 * - `failure`: lookups of a domain no source knows, and admin API requests answered 4xx. A client
 *   over this limit is refused everything until the window ends.
 */
export type LimitKind = "request" | "expensive" | "failure";

/** A per-client limiter (Node: in memory; Workers: the rate-limiting binding). */
export interface RateLimiter {
  /**
   * Counts one hit of `kind` for `client`.
   * @returns 0 when the hit is within the limit, else the seconds until the client may try again
   */
  hit(client: string, kind: LimitKind): number | Promise<number>;
  /** Like {@link hit} without counting: seconds until `client` is under the `kind` limit again (0: it is). */
  wait?(client: string, kind: LimitKind): number;
}

/** One finished request, as written to the access log and counted in metrics. */
export interface RequestRecord {
  method: string;
  /** The route pattern (`/v1.1/:domain`), never the raw path: a bounded set of values. */
  route: string;
  status: number;
  /** Milliseconds from the request reaching the app to the response leaving it. */
  durationMs: number;
  /** The client address (behind a trusted proxy: the forwarded one). */
  client: string;
  /** The mail domain asked about, if any; never a local part or a full address. */
  domain?: string;
  /** Whether a source knew {@link domain}. */
  known?: boolean;
  /** Set when the request was refused by a rate limit. */
  limited?: LimitKind;
}

/** The operations pieces a runtime gives {@link createApp} (all optional). */
export interface Operations {
  /** The client's address: the peer, or behind a trusted proxy the forwarded one. */
  clientAddress(c: Context): string;
  rateLimiter?: RateLimiter;
  /** Called once per request after the response is made (access log, metrics). Must not throw. */
  record?(record: RequestRecord): void;
  /**
   * Readiness (`/readyz`): resolves when settings are loaded and the store can be read; rejects
   * with the reason otherwise (answered 503).
   */
  ready?(): Promise<void>;
  /**
   * The rate-limit decision already taken for this request, if any (the Node fast path counted it
   * and then handed the request to the app): the middleware then does not count it again.
   */
  admitted?(c: Context): Admission | undefined;
  /** When the request reached the server (`performance.now()`), if before the app (the Node fast path). */
  startedAt?(c: Context): number | undefined;
}

/** Paths never rate-limited: monitors must always reach them. */
const HEALTH_PATHS = new Set(["/healthz", "/readyz"]);

/** The bucket a request counts against besides `request`, decided before it is handled. */
export function limitKindOf(method: string, path: string): LimitKind | undefined {
  if (method === "POST" && isAutodiscoverXmlPath(path)) return "expensive";
  if (path === "/" || path === "/mobileconfig" || path === "/email.mobileconfig") return "expensive";
  return undefined;
}

const ADMIN_PREFIX = /^\/api\/v1\/(providers|domains)(\/|$)/;

/**
 * The route a request matched, for logs and metrics: the registered pattern; the Autodiscover
 * routes, which match `*` and test the path themselves, by name; `(none)` for no route.
 */
export function routeOf(c: Context): string {
  const route = routePath(c);
  if (route !== "*" && route !== "/*" && route !== "") return route;
  const path = c.req.path;
  if (isAutodiscoverXmlPath(path)) return "/autodiscover/autodiscover.xml";
  if (/^\/autodiscover\/autodiscover\.json/i.test(path)) return "/autodiscover/autodiscover.json";
  return "(none)";
}

/** 429 with `Retry-After` in seconds (RFC 6585 §4, RFC 9110 §10.2.3). */
export function tooManyRequests(seconds: number): {
  status: 429;
  headers: Record<string, string>;
  body: string;
} {
  return {
    status: 429,
    headers: {
      "X-Content-Type-Options": "nosniff",
      "Content-Type": "text/plain; charset=UTF-8",
      "Retry-After": String(Math.max(1, Math.ceil(seconds))),
      "Cache-Control": "no-store",
    },
    body: "Too many requests; try again later.\n",
  };
}

/** A rate-limit decision: the bucket that refused the request (none: admitted) and the seconds to wait. */
export interface Admission {
  limited?: LimitKind;
  wait: number;
}

const ADMITTED: Admission = { wait: 0 };

/**
 * Counts a request against the client's limits, before it is handled: refused at once while the
 * client is over its `failure` limit, else one hit of `request` and of the route's own bucket.
 * Health paths are never limited. Synchronous when the limiter is (the Node one is).
 */
export function admit(
  rateLimiter: RateLimiter | undefined,
  client: string,
  method: string,
  path: string,
): Admission | Promise<Admission> {
  if (!rateLimiter || HEALTH_PATHS.has(path)) return ADMITTED;
  const failureWait = rateLimiter.wait?.(client, "failure") ?? 0;
  if (failureWait > 0) return { limited: "failure", wait: failureWait };
  const kind = limitKindOf(method, path);
  const decide = (requestWait: number): Admission | Promise<Admission> => {
    if (requestWait > 0) return { limited: "request", wait: requestWait };
    if (!kind) return ADMITTED;
    const kindWait = rateLimiter.hit(client, kind);
    if (typeof kindWait === "number") return kindWait > 0 ? { limited: kind, wait: kindWait } : ADMITTED;
    return kindWait.then((w) => (w > 0 ? { limited: kind, wait: w } : ADMITTED));
  };
  const requestWait = rateLimiter.hit(client, "request");
  return typeof requestWait === "number" ? decide(requestWait) : requestWait.then(decide);
}

/**
 * Whether a finished request counts against the `failure` bucket: a lookup of a domain no source
 * knows, or an admin API request answered 4xx (not 429).
 */
export function isFailure(path: string, status: number, domainKnown: boolean | undefined): boolean {
  if (domainKnown === false) return true;
  return status >= 400 && status < 500 && status !== 429 && ADMIN_PREFIX.test(path);
}

/**
 * The middleware of {@link Operations}: rate limits before the handler, the record after it.
 * With no `ops` it only adds nothing and calls the handler. A decision already taken for the
 * request ({@link Operations.admitted}: the Node fast path handing it over) is not counted again.
 */
export function operationsMiddleware(ops: Operations | undefined): MiddlewareHandler {
  if (!ops) return (_c, next) => next();
  const { rateLimiter, record } = ops;
  return async (c, next) => {
    const start = ops.startedAt?.(c) ?? performance.now();
    const path = c.req.path;
    const client = ops.clientAddress(c);
    const admission = ops.admitted?.(c) ?? (await admit(rateLimiter, client, c.req.method, path));
    const limited = admission.limited;
    let refusal: Response | undefined;
    if (limited) {
      const answer = tooManyRequests(admission.wait);
      refusal = new Response(answer.body, answer);
    } else {
      await next();
      if (rateLimiter && isFailure(path, c.res.status, c.get("domainKnown")))
        await rateLimiter.hit(client, "failure");
    }
    record?.({
      method: c.req.method,
      route: refusal ? "(rate-limited)" : routeOf(c),
      status: refusal ? 429 : c.res.status,
      durationMs: performance.now() - start,
      client,
      domain: c.get("mailDomain"),
      known: c.get("domainKnown"),
      limited,
    });
    return refusal;
  };
}

/**
 * Notes the mail domain a request asked about, and whether it was known, for the access log,
 * metrics and the `failure` rate limit. Handlers call it after each lookup.
 */
export function noteDomain(c: Context | undefined, domain: string, known: boolean): void {
  if (!c) return;
  c.set("mailDomain", domain);
  c.set("domainKnown", known);
}
