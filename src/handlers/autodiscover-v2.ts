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
import type { Context, Hono } from "hono";
import { parseEmailAddress } from "../providers/domain.ts";
import { renderV2Endpoint, renderV2Error, renderV2InvalidProtocol } from "../templates/autodiscover-v2.ts";
import {
  type AppDeps,
  maskAddress,
  readOnlyMethodNotAllowed,
  requestTarget,
  resolveDomain,
} from "./context.ts";

const JSON_HEADERS = {
  "Content-Type": "application/json; charset=utf-8",
  "Cache-Control": "private, no-store",
};
const BASE = "/autodiscover/autodiscover.json";
const PATH_FORM = `${BASE}/v1.0/`;

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

function json(c: Context, status: 200 | 400 | 404, body: string): Response {
  return c.body(body, status, JSON_HEADERS);
}

/** Registers the v2 JSON routes on `app`. */
export function autodiscoverV2Routes(app: Hono, deps: AppDeps): void {
  app.all("*", async (c, next) => {
    // Never `new URL(c.req.url)`: this runs for every request, and its host is the client's Host header.
    const url = requestTarget(c.req.url);
    const found = v2Email(url);
    if (!found) return next();
    if (c.req.method !== "GET" && c.req.method !== "HEAD") return readOnlyMethodNotAllowed(c);
    const requested = param(url, "protocol") ?? "";
    const protocol = requested.trim().toLowerCase();
    if (protocol !== "autodiscoverv1" && protocol !== "activesync")
      return json(c, 400, renderV2InvalidProtocol(requested));
    const address = found.email ? parseEmailAddress(found.email) : undefined;
    if (!address)
      return json(
        c,
        400,
        renderV2Error(
          "InvalidEmailAddress",
          `${found.from}: expected an e-mail address such as jane@example.com`,
        ),
      );
    const resolution = await resolveDomain(deps, address.domain, c);
    if (!resolution) {
      deps.log?.(`autodiscover v2: unknown domain for ${maskAddress(address)}`);
      return json(c, 404, renderV2Error("NotFound", "No settings are published for this domain."));
    }
    if (protocol === "activesync") {
      const eas = resolution.provider.activeSync?.url;
      return eas
        ? json(c, 200, renderV2Endpoint("ActiveSync", eas))
        : json(c, 400, renderV2InvalidProtocol(requested));
    }
    const base = deps.publicUrl.replace(/\/+$/, "");
    return json(c, 200, renderV2Endpoint("AutodiscoverV1", `${base}/autodiscover/autodiscover.xml`));
  });
}
