/**
 * The shape of one end-to-end exchange, the same on every runtime: the Node server over HTTP,
 * the Worker inside workerd (`exports.default.fetch`) and `wrangler dev` over HTTP.
 * Web APIs only: imported by tests that run inside workerd.
 */

/** A request as a client sends it. `headers.Host` is always sent explicitly (see {@link withHost}). */
export interface E2ERequest {
  /** `signed`: to the server configured to sign Apple profiles (default: the one that does not). */
  server?: "signed";
  method: string;
  /** Path and query, e.g. `/mail/config-v1.1.xml?emailaddress=a%40example.com`. */
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

/** What came back: status, headers (lower-case names, transport headers removed) and the exact body bytes. */
export interface E2EAnswer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Sends one request to the server under test. */
export type E2ETarget = (request: E2ERequest) => Promise<E2EAnswer>;

/** The servers under test: without profile signing, and (where the run has one) with it. */
export interface E2ETargets {
  plain: E2ETarget;
  signed?: E2ETarget;
}

/** Sends `request` to the server it names. @throws if the run has no signing server */
export function send(targets: E2ETargets, request: E2ERequest): Promise<E2EAnswer> {
  const target = request.server === "signed" ? targets.signed : targets.plain;
  if (!target) throw new Error(`no ${request.server ?? "plain"} server in this run`);
  return target(request);
}

/**
 * Headers added by the transport, not by the app: `@hono/node-server` and `wrangler dev` set them,
 * a Response handed back by `exports.default.fetch` has none. The body is compared byte for byte,
 * so dropping Content-Length loses nothing.
 */
export const TRANSPORT_HEADERS = new Set([
  "connection",
  "content-length",
  "date",
  "keep-alive",
  "transfer-encoding",
]);

/** Keeps the app's headers (lower-case names), drops {@link TRANSPORT_HEADERS}. */
export function appHeaders(entries: Iterable<[string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    const key = name.toLowerCase();
    if (!TRANSPORT_HEADERS.has(key)) out[key] = value;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Reads a fetch Response into an {@link E2EAnswer}. */
export async function answerFromResponse(res: Response): Promise<E2EAnswer> {
  return {
    status: res.status,
    headers: appHeaders(res.headers),
    body: new Uint8Array(await res.arrayBuffer()),
  };
}

/** The body as UTF-8 text. */
export function text(answer: E2EAnswer): string {
  return new TextDecoder().decode(answer.body);
}

/** Bytes → base64 (for vitest `provide`, which carries JSON-like values only). */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** base64 → bytes. */
export function fromBase64(value: string): Uint8Array {
  const binary = atob(value);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** An answer as carried by `provide`/`inject`: the body in base64. */
export interface EncodedAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const encodeAnswer = (a: E2EAnswer): EncodedAnswer => ({ ...a, body: toBase64(a.body) });
export const decodeAnswer = (a: EncodedAnswer): E2EAnswer => ({ ...a, body: fromBase64(a.body) });

/** The admin API token both runtimes accept in the end-to-end runs (test value, at least 16 characters). */
export const E2E_ADMIN_TOKEN = "e2e-admin-token-0123456789";

/** The public URL both runtimes are configured with in the end-to-end runs. */
export const E2E_PUBLIC_URL = "https://autoconfig.test.example";
