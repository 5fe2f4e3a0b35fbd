/**
 * What every handler gets from the app: the settings store and deployment options.
 * Handlers read requests and shape responses; settings knowledge stays in providers/.
 */
import type { Context, Handler, Hono } from "hono";
import { type AccountSettings, accountSettings } from "../providers/account.ts";
import type { DirectoryLookup } from "../providers/directory.ts";
import type { EmailAddress } from "../providers/domain.ts";
import { normalizeDomain } from "../providers/domain.ts";
import type { Resolution, SettingsStore } from "../providers/store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import type { CappedBody } from "./body.ts";
import { noteDomain, type Operations } from "./operations.ts";

/**
 * The headers every answer carries (set up front by createApp's first middleware, and included by
 * {@link respond}): `X-Content-Type-Options: nosniff`.
 */
export const COMMON_HEADERS = { "X-Content-Type-Options": "nosniff" } as const;

/** Signs a profile: the exact plist bytes in, DER CMS SignedData out (see src/signing). */
export type ProfileSigner = (content: Uint8Array) => Promise<Uint8Array>;

/** Dependencies of {@link createApp}. */
export interface AppDeps {
  store: SettingsStore;
  /** Absolute base URL clients reach this server at, e.g. `https://autoconfig.example.com` (no trailing slash). */
  publicUrl: string;
  /** Signs Apple profiles when configured; unsigned profiles otherwise. */
  signProfile?: ProfileSigner;
  /** Log sink for operator-facing messages (no full addresses). Default: nothing. */
  log?: (message: string) => void;
  /**
   * The admin API (`/api/v1/providers…`, `/api/v1/domains…`): the SQL store it publishes to and the
   * SHA-256 hashes of the accepted bearer tokens. Absent, or no hashes → the admin API is off (404).
   */
  admin?: { store: SqlStore; tokenHashes: readonly Uint8Array[] };
  /**
   * Reads a request body with a byte cap counted while reading. Default: the Web Request's body
   * (readBodyCapped); the Node entry reads the Node request directly (src/node/body.ts).
   */
  readBody?: (c: Context, maxBytes: number) => Promise<CappedBody>;
  /** Client address, rate limits, access log and metrics, readiness (see operations.ts). */
  ops?: Operations;
  /**
   * Looks addresses up in a provider's `directory` (Node: src/node/ldap.ts, cached). Absent (Workers)
   * → providers with a directory answer as without one (`fallbackLoginName`, the address).
   */
  directory?: DirectoryLookup;
}

/**
 * The mail domain named by the Host header: `autoconfig.<domain>`, `autodiscover.<domain>`,
 * `ua-auto-config.<domain>` (PACC) or `<domain>` itself, port (also an empty one, `example.com:`)
 * removed. `undefined` for IP addresses and names that are not domains.
 */
export function domainFromHost(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const name = host.replace(/:\d*$/, "").replace(/^\[.*\]$/, "");
  const stripped = name.replace(/^(autoconfig|autodiscover|ua-auto-config)\./i, "");
  return normalizeDomain(stripped);
}

/**
 * The request's path and query as a URL on a fixed placeholder origin (`http://request.invalid`).
 * The host part of `c.req.url` is what the client sent in `Host` and may be a name WHATWG URL
 * refuses (`xn--a.com`, `999.1.1.1`, `example.com.1`), so `new URL(c.req.url)` can throw: handlers
 * read paths and parameters from this instead. Only `pathname` and `searchParams` mean anything.
 * @param requestUrl `c.req.url`, e.g. `http://xn--a.com/autodiscover/autodiscover.json?Email=…`
 * @returns never throws; a path that cannot be read gives `http://request.invalid/`
 */
export function requestTarget(requestUrl: string): URL {
  const scheme = requestUrl.indexOf("://");
  const start = scheme < 0 ? 0 : scheme + 3;
  const end = requestUrl.slice(start).search(/[/?#]/);
  const rest = end < 0 ? "/" : requestUrl.slice(start + end);
  try {
    // Concatenated, not resolved against a base: a path starting with `//` stays a path.
    return new URL(`http://request.invalid${rest.startsWith("/") ? "" : "/"}${rest}`);
  } catch {
    return new URL("http://request.invalid/");
  }
}

/**
 * Resolves a domain through the store; store faults count as "unknown" (logged), never a 5xx.
 * With the request's context, the domain and whether it was known are noted for the access log,
 * metrics and rate limits ({@link noteDomain}).
 */
export async function resolveDomain(
  deps: AppDeps,
  domain: string,
  c?: Context | NoteDomain,
): Promise<Resolution | undefined> {
  let resolution: Resolution | undefined;
  try {
    resolution = await deps.store.resolve(domain);
  } catch (e) {
    deps.log?.(`settings store failed for a lookup: ${(e as Error).message}`);
  }
  if (typeof c === "function") c(domain, resolution !== undefined);
  else noteDomain(c, domain, resolution !== undefined);
  return resolution;
}

/**
 * {@link resolveDomain} answered synchronously when the store can ({@link SettingsStore.peek}):
 * the resolution or `null` (unknown), noted like resolveDomain; `undefined` when only
 * resolveDomain can tell (then nothing is noted).
 */
export function resolveDomainNow(
  deps: AppDeps,
  domain: string,
  note: NoteDomain,
): Resolution | null | undefined {
  let resolution: Resolution | null | undefined;
  try {
    resolution = deps.store.peek?.(domain);
  } catch {
    return undefined; // resolveDomain asks again, and logs the fault
  }
  if (resolution !== undefined) note(domain, resolution !== null);
  return resolution;
}

/**
 * Told the mail domain a request asked about and whether a source knew it (for the access log,
 * metrics and the `failure` rate limit): `noteDomain` on a Hono context, or the Node fast path's own record.
 */
export type NoteDomain = (domain: string, known: boolean) => void;

/**
 * What the hot endpoints read from a request, the same from a Hono context ({@link partsOf}) and
 * straight from node:http (src/node/fast-path.ts), so requests are read by one piece of code.
 */
export interface RequestParts {
  method: string;
  /** The request URL, `http://<Host><target>` (the host part is the client's: see {@link requestTarget}). */
  url: string;
  /** The path, percent-decoded (Hono's `c.req.path`). */
  path: string;
  /** The first value of a query parameter, decoded as Hono's `c.req.query(name)` does. */
  query(name: string): string | undefined;
  /** A request header by its lower-case name (`c.req.header(name)`). */
  header(name: string): string | undefined;
}

/** The {@link RequestParts} of a Hono request. */
export function partsOf(c: Context): RequestParts {
  return {
    method: c.req.method,
    url: c.req.url,
    path: c.req.path,
    query: (name) => c.req.query(name),
    header: (name) => c.req.header(name),
  };
}

/** A {@link NoteDomain} writing to a Hono context. */
export function noteOn(c: Context): NoteDomain {
  return (domain, known) => noteDomain(c, domain, known);
}

/**
 * A whole answer before it is written: status, a header object that already holds
 * {@link COMMON_HEADERS} (constant per kind of answer wherever possible) and the body. The hot
 * endpoints decide their answers as this, runtime-neutral, so the Hono route ({@link toResponse})
 * and the Node fast path (src/node/fast-path.ts) send the same bytes from one piece of code.
 */
export interface Answer {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: string | Uint8Array<ArrayBuffer>;
}

/** The Response of an {@link Answer} (see {@link respond}). */
export function toResponse(answer: Answer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}

/** Headers of {@link plainAnswer}: what `c.text` sends, plus `Cache-Control: no-store`. */
export const PLAIN_HEADERS = {
  ...COMMON_HEADERS,
  "Content-Type": "text/plain; charset=UTF-8",
  "Cache-Control": "no-store",
} as const;

/** A short plain-text {@link Answer} for people and scripts (never HTML, never a stack trace). */
export function plainAnswer(status: 400 | 404 | 405 | 409 | 413 | 415 | 429, message: string): Answer {
  return { status, headers: PLAIN_HEADERS, body: `${message}\n` };
}

/**
 * The account settings for an address, with the provider's directory asked when it has one
 * (bounded in time, cached; never throws). Providers without a directory: {@link accountSettings}
 * at once, no lookup.
 */
export async function accountFor(
  deps: AppDeps,
  resolution: Resolution,
  address?: EmailAddress,
): Promise<AccountSettings> {
  const directory = resolution.provider.directory;
  if (!directory || !address || !deps.directory) return accountSettings(resolution, address);
  return accountSettings(resolution, address, await deps.directory(directory, address));
}

/** Masks an address for logs: `j***@example.com`. */
export function maskAddress(address: EmailAddress | undefined): string {
  if (!address) return "(none)";
  return `${address.localPart.slice(0, 1)}***@${address.domain}`;
}

/** `Allow` of the read-only routes: Hono answers HEAD from the GET handler (same headers, no body). */
export const READ_ONLY_ALLOW = "GET, HEAD";

/** 405 for a read-only route asked with another method (RFC 9110 §15.5.6); the method is not echoed. */
export const READ_ONLY_ANSWER: Answer = {
  status: 405,
  headers: { ...PLAIN_HEADERS, Allow: READ_ONLY_ALLOW },
  body: "This URL answers only GET and HEAD.\n",
};

/** {@link READ_ONLY_ANSWER} as a Response. */
export function readOnlyMethodNotAllowed(_c: Context): Response {
  return toResponse(READ_ONLY_ANSWER);
}

/**
 * Registers a read-only route: `handler` for GET (and so HEAD), then 405 with `Allow: GET, HEAD`
 * for every other method, so a wrong method is not mistaken for a missing URL (a bare 404).
 */
export function getOnly(app: Hono, path: string, handler: Handler): void {
  app.get(path, handler);
  app.all(path, readOnlyMethodNotAllowed);
}

/** A short plain-text answer for people and scripts (never HTML, never a stack trace). */
export function plain(c: Context, status: 400 | 404 | 405 | 413 | 415 | 429, message: string): Response {
  return c.text(`${message}\n`, status, { "Cache-Control": "no-store" });
}
