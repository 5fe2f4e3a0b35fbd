/**
 * PACC endpoint (draft-ietf-mailmaint-pacc-02, the newest revision that could be read; docs/pacc.md): `GET|HEAD /.well-known/user-agent-configuration.json`
 * on `ua-auto-config.<domain>` (any other method: 405 with `Allow: GET, HEAD`).
 *
 * The request carries no address: the domain is the Host name minus `ua-auto-config.` (or the
 * Host name itself). Known domain with at least one server PACC can express: 200, the document of
 * src/templates/pacc.ts, `application/json`, the same bytes for every request (its SHA-256 is
 * published in DNS), `Access-Control-Allow-Origin: *` so web mail clients can read it.
 * Unknown domain, an IP address as Host, or nothing expressible: 404 plain text.
 */
import type { Hono } from "hono";
import { accountSettings } from "../providers/account.ts";
import { PACC_PATH, paccAnswer } from "../templates/pacc.ts";
import { type AppDeps, domainFromHost, getOnly, plain, resolveDomain } from "./context.ts";

/** Registers the PACC route on `app`. */
export function paccRoutes(app: Hono, deps: AppDeps): void {
  getOnly(app, PACC_PATH, async (c) => {
    const domain = domainFromHost(c.req.header("host"));
    if (!domain) return plain(c, 404, `No mail domain: ask https://ua-auto-config.<domain>${PACC_PATH}`);
    const resolution = await resolveDomain(deps, domain, c);
    if (!resolution) return plain(c, 404, `No settings for ${domain}.`);
    const answer = paccAnswer(accountSettings(resolution));
    if (answer.json === undefined) return plain(c, 404, `No PACC document for ${domain}.`);
    return c.body(answer.json, 200, {
      "Content-Type": "application/json",
      "Cache-Control": "public, max-age=3600",
      "Access-Control-Allow-Origin": "*",
    });
  });
}
