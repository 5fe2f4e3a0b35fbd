/**
 * The security headers of every HTML page mailconf serves (settings guide, DNS records, the
 * profile download's error page): one Content-Security-Policy without scripts, where the only
 * inline code allowed is the shared stylesheet {@link PAGE_CSS} (by its SHA-256 hash, CSP3 §8.4),
 * no Referer (page URLs hold the address), no framing. Pages must use that stylesheet
 * (src/templates/html.ts `renderPage`): any other inline style is blocked by the browser.
 */
import { PAGE_CSS } from "../templates/html.ts";

let cspPromise: Promise<string> | undefined;

/** Base64 SHA-256 of a string's UTF-8 bytes (CSP hash source, CSP3 §8.4). */
async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

/**
 * The Content-Security-Policy of every HTML page: nothing may load or run except the page's own
 * inline stylesheet ({@link PAGE_CSS}, by hash); forms submit only to this origin; no framing.
 */
export async function contentSecurityPolicy(): Promise<string> {
  cspPromise ??= sha256Base64(PAGE_CSS).then(
    (hash) =>
      `default-src 'none'; style-src 'sha256-${hash}'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
  );
  return cspPromise;
}

/**
 * Headers of every HTML page: `Content-Type: text/html; charset=utf-8`, the CSP, `Referrer-Policy:
 * no-referrer` (no Referer to the provider's help links: the URL holds the address),
 * `X-Frame-Options: DENY`, and `Cache-Control: <cache>`.
 */
export async function pageSecurityHeaders(cache: string): Promise<Record<string, string>> {
  return {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": await contentSecurityPolicy(),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": cache,
  };
}
