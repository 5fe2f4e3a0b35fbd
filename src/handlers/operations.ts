/**
 * What operating mailconf needs from every request, runtime-neutral: who the client is, rate
 * limits per client, one access-log/metrics record per request, and readiness. The runtime entries
 * supply the pieces (Node: src/node/operations.ts; Workers: src/worker-app.ts); without them the
 * app does none of it. See docs/operations.md.
 */
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { isAutodiscoverXmlPath } from "./autodiscover.ts";

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

/** Whether a finished request counts against the `failure` bucket. */
function failed(c: Context, path: string): boolean {
  if (c.get("domainKnown") === false) return true;
  const status = c.res.status;
  return status >= 400 && status < 500 && status !== 429 && ADMIN_PREFIX.test(path);
}

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
function tooManyRequests(c: Context, seconds: number): Response {
  return c.text("Too many requests; try again later.\n", 429, {
    "Retry-After": String(Math.max(1, Math.ceil(seconds))),
    "Cache-Control": "no-store",
  });
}

/**
 * The middleware of {@link Operations}: rate limits before the handler, the record after it.
 * With no `ops` it only adds nothing and calls the handler.
 */
export function operationsMiddleware(ops: Operations | undefined): MiddlewareHandler {
  if (!ops) return (_c, next) => next();
  const { rateLimiter, record } = ops;
  return async (c, next) => {
    const start = performance.now();
    const path = c.req.path;
    const client = ops.clientAddress(c);
    let limited: LimitKind | undefined;
    let refusal: Response | undefined;
    if (rateLimiter && !HEALTH_PATHS.has(path)) {
      const kind = limitKindOf(c.req.method, path);
      let wait = rateLimiter.wait?.(client, "failure") ?? 0;
      if (wait > 0) limited = "failure";
      else {
        wait = await rateLimiter.hit(client, "request");
        if (wait > 0) limited = "request";
        else if (kind) {
          wait = await rateLimiter.hit(client, kind);
          if (wait > 0) limited = kind;
        }
      }
      if (limited) refusal = tooManyRequests(c, wait);
    }
    if (!refusal) {
      await next();
      if (rateLimiter && failed(c, path)) await rateLimiter.hit(client, "failure");
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
