/**
 * Pages and JSON for people and integrations:
 *
 * - `GET /` — the settings guide form; `GET /?email=<address>` — the guide for that address
 *   (200), or the form with a message: 400 for a malformed address, 404 for an unknown domain.
 * - `GET /api/v1/settings?email=<address>` — the same settings as JSON
 *   ({@link settingsOpenApiPath}); errors are `{ "error": "…", "field": "email" }` with 400/404.
 *
 * Both are built from the same AccountSettings as autoconfig, Autodiscover and the profile
 * (src/templates/settings-json.ts). Links use AppDeps.publicUrl, never the Host header.
 * HTML answers carry a Content-Security-Policy without scripts; the one inline stylesheet is
 * allowed by its SHA-256 hash (pageSecurityHeaders, src/handlers/page-headers.ts).
 */
import type { Context, Hono } from "hono";
import { parseEmailAddress } from "../providers/domain.ts";
import { type GuidePageInput, renderGuidePage } from "../templates/guide.ts";
import { FAVICON_SVG } from "../templates/html.ts";
import { renderSettingsJson, settingsGuide, settingsOpenApiSchema } from "../templates/settings-json.ts";
import { type AppDeps, accountFor, getOnly, resolveDomain } from "./context.ts";
import { pageSecurityHeaders } from "./page-headers.ts";

export { contentSecurityPolicy, pageSecurityHeaders } from "./page-headers.ts";

/** Outcome of looking an address up for the guide or the API. */
type Lookup =
  | { ok: true; guide: ReturnType<typeof settingsGuide> }
  | { ok: false; status: 400 | 404; error: string; title: string; detail: string };

async function lookup(deps: AppDeps, email: string, c: Context): Promise<Lookup> {
  const address = parseEmailAddress(email);
  if (!address) {
    return {
      ok: false,
      status: 400,
      error: "email is not a valid e-mail address",
      title: "That is not an e-mail address.",
      detail: "Check the spelling: an address looks like name@example.com.",
    };
  }
  const resolution = await resolveDomain(deps, address.domain, c);
  if (!resolution) {
    return {
      ok: false,
      status: 404,
      error: `no settings for ${address.domain}`,
      title: `No settings are known for ${address.domain}.`,
      detail:
        "Check the address for typos. If it is right, your e-mail provider or IT department can tell you the server settings.",
    };
  }
  return { ok: true, guide: settingsGuide(await accountFor(deps, resolution, address), deps.publicUrl) };
}

function jsonError(c: Context, status: 400 | 404, error: string): Response {
  return c.body(`${JSON.stringify({ error, field: "email" })}\n`, status, {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
    "Access-Control-Allow-Origin": "*",
  });
}

/** Registers `/` and `/api/v1/settings` on `app`. */
export function pagesRoutes(app: Hono, deps: AppDeps): void {
  getOnly(app, "/", async (c) => {
    const email = c.req.query("email")?.trim();
    if (!email) {
      return c.body(renderGuidePage({}), 200, await pageSecurityHeaders("public, max-age=300"));
    }
    const result = await lookup(deps, email, c);
    const input: GuidePageInput = result.ok
      ? { email, guide: result.guide }
      : { email, error: { title: result.title, detail: result.detail } };
    return c.body(
      renderGuidePage(input),
      result.ok ? 200 : result.status,
      await pageSecurityHeaders("no-store"),
    );
  });

  const icon = (c: Context) =>
    c.body(FAVICON_SVG, 200, { "Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=86400" });
  getOnly(app, "/favicon.svg", icon);
  getOnly(app, "/favicon.ico", icon);

  getOnly(app, "/api/v1/settings", async (c) => {
    const email = c.req.query("email")?.trim();
    if (!email) return jsonError(c, 400, "missing email: use /api/v1/settings?email=you@example.com");
    const result = await lookup(deps, email, c);
    if (!result.ok) return jsonError(c, result.status, result.error);
    return c.body(renderSettingsJson(result.guide), 200, {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-store",
      "Access-Control-Allow-Origin": "*",
    });
  });
}

const errorSchema = {
  type: "object",
  required: ["error", "field"],
  properties: {
    error: { type: "string", example: "email is not a valid e-mail address" },
    field: { type: "string", enum: ["email"] },
  },
} as const;

/**
 * OpenAPI 3.1 path item of `GET /api/v1/settings`, self-contained (no `$ref`), for the project's
 * OpenAPI document: `paths: { ...settingsOpenApiPath }`.
 */
export const settingsOpenApiPath = {
  "/api/v1/settings": {
    get: {
      operationId: "getSettings",
      security: [],
      summary: "Mail settings for an address, as the settings guide shows them",
      description:
        "The same servers, ports, encryption and user names that autoconfig, Autodiscover and the Apple profile send for the address, in the provider's order of preference, with words for people (security, authenticationText), notes and links.",
      tags: ["settings"],
      parameters: [
        {
          name: "email",
          in: "query",
          required: true,
          description: "The e-mail address, e.g. jane@example.com",
          schema: { type: "string", format: "email", maxLength: 320 },
        },
      ],
      responses: {
        "200": {
          description: "Settings for the address",
          content: { "application/json": { schema: settingsOpenApiSchema } },
        },
        "400": {
          description: "email missing or not an e-mail address",
          content: { "application/json": { schema: errorSchema } },
        },
        "404": {
          description: "No settings are known for the address's domain",
          content: { "application/json": { schema: errorSchema } },
        },
      },
    },
  },
} as const;
