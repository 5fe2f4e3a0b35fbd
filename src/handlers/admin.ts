/**
 * The admin API: publish providers and domains to the SQL store (src/store/sql-store.ts).
 *
 *   GET    /api/v1/providers                 list (paged: ?after=&limit=)
 *   GET    /api/v1/providers/{id}            the provider as published
 *   PUT    /api/v1/providers/{id}            create (201) or replace (200); body: the provider, as in a settings file
 *   DELETE /api/v1/providers/{id}            204; 409 while assigned domains or aliases point at it (?cascade=true deletes them too)
 *   GET    /api/v1/domains                   list (paged; ?provider=)
 *   GET    /api/v1/domains/{domain}          the entry
 *   PUT    /api/v1/domains/{domain}          body {"provider": "<id>"} or {"aliasOf": "<domain>"}
 *   DELETE /api/v1/domains/{domain}          204; 409 while aliases point at it (?cascade=true deletes them too)
 *   GET    /api/v1/openapi.json              the OpenAPI document (public)
 *
 * Only `/api/v1/providers…` and `/api/v1/domains…` are guarded: no token configured → 404 (the API
 * is off); no or wrong bearer token → 401. Other `/api/v1/` paths (public endpoints) pass through.
 * Bodies: `application/json` (else 415), at most {@link MAX_ADMIN_BODY_BYTES} (else 413), validated
 * with the settings model; 400 lists every field error as `{ "errors": [{ "path", "message" }] }`.
 * 409 for conflicts; 503 if the database fails (nothing is changed). Never a stack trace.
 */
import type { Context, Hono } from "hono";
import * as z from "zod";
import { normalizeDomain } from "../providers/domain.ts";
import { type FieldError, fieldErrors, formatPath, parseProvider } from "../providers/model.ts";
import { type DomainTarget, ListedDomainError, type SqlStore, WriteError } from "../store/sql-store.ts";
import { verifyBearer } from "./admin-auth.ts";
import { readBodyCapped } from "./body.ts";
import { type AppDeps, getOnly } from "./context.ts";
import { openApiDocument } from "./openapi.ts";

/** Largest admin request body, in bytes. */
export const MAX_ADMIN_BODY_BYTES = 256 * 1024;

type Status = 400 | 401 | 404 | 405 | 409 | 413 | 415 | 503;

const NO_STORE = { "Cache-Control": "no-store" };

function errors(c: Context, status: Status, list: FieldError[], headers: Record<string, string> = {}) {
  return c.json({ errors: list.map((e) => ({ path: formatPath(e.path), message: e.message })) }, status, {
    ...NO_STORE,
    ...headers,
  });
}

const one = (path: (string | number)[], message: string): FieldError[] => [{ path, message }];

/** `/api/v1/providers`, `/api/v1/providers/…`, `/api/v1/domains`, `/api/v1/domains/…`. */
function isAdminPath(path: string): boolean {
  return /^\/api\/v1\/(providers|domains)(\/|$)/.test(path);
}

/** Reads a JSON body: checks type and size, decodes UTF-8 (BOM dropped), parses. */
async function readJson(
  c: Context,
): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type !== "application/json" && !/^application\/[\w.+-]+\+json$/.test(type)) {
    return {
      ok: false,
      response: errors(c, 415, one(["headers", "Content-Type"], "expected Content-Type: application/json")),
    };
  }
  let body: Awaited<ReturnType<typeof readBodyCapped>>;
  try {
    body = await readBodyCapped(c.req.raw, MAX_ADMIN_BODY_BYTES);
  } catch {
    // The client broke off the upload: nobody reads this answer, and it is not a server fault.
    return { ok: false, response: errors(c, 400, one([], "the upload was broken off")) };
  }
  if (!body.ok) {
    return {
      ok: false,
      response: errors(c, 413, one([], `the body is larger than ${MAX_ADMIN_BODY_BYTES / 1024} KiB`)),
    };
  }
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(body.bytes);
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    const reason = e instanceof SyntaxError ? e.message : "the body is not UTF-8";
    return { ok: false, response: errors(c, 400, one([], `not valid JSON: ${reason}`)) };
  }
}

/** Maps a store failure to its answer: WriteError by kind, anything else 503 (logged). */
function failure(c: Context, deps: AppDeps, e: unknown): Response {
  if (e instanceof ListedDomainError) {
    const how = `PUT /api/v1/providers/${encodeURIComponent(e.provider)} with its domains without ${e.domain}`;
    return errors(c, 409, [{ path: ["domain"], message: `${e.errors[0]?.message} (${how})` }]);
  }
  if (e instanceof WriteError) {
    const status = e.kind === "invalid" ? 400 : e.kind === "conflict" ? 409 : 404;
    return errors(c, status, e.errors);
  }
  deps.log?.(`admin: database error: ${(e as Error)?.message ?? e}`);
  return errors(c, 503, one([], "the settings database failed; nothing was changed"));
}

/** `?after=&limit=`; errors name the parameter. */
function paging(
  c: Context,
): { ok: true; after?: string; limit?: number } | { ok: false; errors: FieldError[] } {
  const limitText = c.req.query("limit");
  if (limitText !== undefined && !(/^\d+$/.test(limitText) && +limitText >= 1 && +limitText <= 10_000)) {
    return {
      ok: false,
      errors: one(["query", "limit"], `expected an integer 1-10000, got ${JSON.stringify(limitText)}`),
    };
  }
  return { ok: true, after: c.req.query("after"), limit: limitText === undefined ? undefined : +limitText };
}

/** `?cascade=true|false` of the DELETE requests (absent: false); errors name the parameter. */
function cascadeParam(c: Context): { ok: true; value: boolean } | { ok: false; errors: FieldError[] } {
  const text = c.req.query("cascade");
  if (text === undefined || text === "false") return { ok: true, value: false };
  if (text === "true") return { ok: true, value: true };
  return {
    ok: false,
    errors: one(["query", "cascade"], `expected true or false, got ${JSON.stringify(text)}`),
  };
}

const DomainTargetSchema = z.union(
  [z.strictObject({ provider: z.string().min(1) }), z.strictObject({ aliasOf: z.string().min(1) })],
  { error: 'expected {"provider": "<provider id>"} or {"aliasOf": "<domain>"}' },
);

function methodNotAllowed(c: Context, allow: string): Response {
  return errors(c, 405, one([], `method ${c.req.method} is not allowed here; use ${allow}`), {
    Allow: allow,
  });
}

/** Registers the admin API and the OpenAPI document on `app`. */
export function adminRoutes(app: Hono, deps: AppDeps): void {
  getOnly(app, "/api/v1/openapi.json", (c) =>
    c.json(openApiDocument, 200, {
      "Cache-Control": "public, max-age=300",
      "Access-Control-Allow-Origin": "*",
    }),
  );

  app.use("/api/v1/*", async (c, next) => {
    if (!isAdminPath(c.req.path)) return next();
    const admin = deps.admin;
    if (!admin || admin.tokenHashes.length === 0) return c.text("Not found.\n", 404);
    if (!(await verifyBearer(c.req.header("authorization"), admin.tokenHashes))) {
      return errors(
        c,
        401,
        one(["headers", "Authorization"], "expected Authorization: Bearer <admin token>"),
        {
          "WWW-Authenticate": 'Bearer realm="mailconf admin"',
        },
      );
    }
    return next();
  });

  const store = (): SqlStore => (deps.admin as NonNullable<AppDeps["admin"]>).store;

  // ------------------------------------------------------------------ providers
  app.get("/api/v1/providers", async (c) => {
    const page = paging(c);
    if (!page.ok) return errors(c, 400, page.errors);
    try {
      const list = await store().listProviders(page);
      return c.json(
        {
          providers: list.items.map(({ provider, updatedAt }) => ({
            id: provider.id,
            displayName: provider.displayName,
            domains: provider.domains,
            mxHosts: provider.mxHosts,
            updatedAt,
          })),
          next: list.next,
        },
        200,
        NO_STORE,
      );
    } catch (e) {
      return failure(c, deps, e);
    }
  });
  app.all("/api/v1/providers", (c) => methodNotAllowed(c, "GET"));

  app.get("/api/v1/providers/:id", async (c) => {
    const id = c.req.param("id");
    try {
      const hit = await store().getProvider(id);
      if (!hit) return errors(c, 404, one(["id"], `no published provider ${id}`));
      return c.json(hit.provider, 200, {
        ...NO_STORE,
        "Last-Modified": new Date(hit.updatedAt).toUTCString(),
      });
    } catch (e) {
      return failure(c, deps, e);
    }
  });

  app.put("/api/v1/providers/:id", async (c) => {
    const id = c.req.param("id");
    const body = await readJson(c);
    if (!body.ok) return body.response;
    let data = body.value;
    const problems: FieldError[] = [];
    if (data !== null && typeof data === "object" && !Array.isArray(data)) {
      const record = data as Record<string, unknown>;
      if (record.id !== undefined && record.id !== id) {
        problems.push({
          path: ["id"],
          message: `expected ${JSON.stringify(id)} (the id in the URL), got ${JSON.stringify(record.id)}`,
        });
      }
      data = { ...record, id };
    }
    const parsed = parseProvider(data);
    if (!parsed.ok) problems.push(...parsed.errors);
    else if (parsed.value.directory)
      // It names a password file, an environment variable and a server as seen from this machine:
      // through the API, a token would let its holder send a file's first line to any LDAP server.
      problems.push({
        path: ["directory"],
        message:
          "a directory can only be configured in a settings file, not through the admin API (docs/ldap.md)",
      });
    if (!parsed.ok || problems.length > 0) return errors(c, 400, problems);
    try {
      const { created } = await store().putProviders([parsed.value]);
      const isNew = created.length > 0;
      return c.json(parsed.value, isNew ? 201 : 200, {
        ...NO_STORE,
        ...(isNew ? { Location: `/api/v1/providers/${encodeURIComponent(id)}` } : {}),
      });
    } catch (e) {
      return failure(c, deps, e);
    }
  });

  app.delete("/api/v1/providers/:id", async (c) => {
    try {
      const cascade = cascadeParam(c);
      if (!cascade.ok) return errors(c, 400, cascade.errors);
      await store().deleteProvider(c.req.param("id"), { cascade: cascade.value });
      return c.body(null, 204, NO_STORE);
    } catch (e) {
      return failure(c, deps, e);
    }
  });
  app.all("/api/v1/providers/:id", (c) => methodNotAllowed(c, "GET, PUT, DELETE"));

  // ------------------------------------------------------------------ domains
  app.get("/api/v1/domains", async (c) => {
    const page = paging(c);
    if (!page.ok) return errors(c, 400, page.errors);
    try {
      const list = await store().listDomains({ ...page, provider: c.req.query("provider") });
      return c.json({ domains: list.items, next: list.next }, 200, NO_STORE);
    } catch (e) {
      return failure(c, deps, e);
    }
  });
  app.all("/api/v1/domains", (c) => methodNotAllowed(c, "GET"));

  /** The normalised path domain, or a 400. */
  const pathDomain = (c: Context): { ok: true; domain: string } | { ok: false; response: Response } => {
    const raw = c.req.param("domain") ?? "";
    const domain = normalizeDomain(raw, { wildcard: true });
    if (domain) return { ok: true, domain };
    return {
      ok: false,
      response: errors(
        c,
        400,
        one(["domain"], `expected a domain name (or *.domain), got ${JSON.stringify(raw)}`),
      ),
    };
  };

  app.get("/api/v1/domains/:domain", async (c) => {
    const name = pathDomain(c);
    if (!name.ok) return name.response;
    try {
      const entry = await store().getDomain(name.domain);
      if (!entry) return errors(c, 404, one(["domain"], `no published domain ${name.domain}`));
      return c.json(entry, 200, NO_STORE);
    } catch (e) {
      return failure(c, deps, e);
    }
  });

  app.put("/api/v1/domains/:domain", async (c) => {
    const raw = c.req.param("domain");
    const body = await readJson(c);
    if (!body.ok) return body.response;
    const parsed = DomainTargetSchema.safeParse(body.value);
    if (!parsed.success) return errors(c, 400, fieldErrors(parsed.error));
    try {
      const { created, entry } = await store().putDomain(raw, parsed.data as DomainTarget);
      return c.json(entry, created ? 201 : 200, {
        ...NO_STORE,
        ...(created ? { Location: `/api/v1/domains/${encodeURIComponent(entry.domain)}` } : {}),
      });
    } catch (e) {
      return failure(c, deps, e);
    }
  });

  app.delete("/api/v1/domains/:domain", async (c) => {
    const name = pathDomain(c);
    if (!name.ok) return name.response;
    try {
      const cascade = cascadeParam(c);
      if (!cascade.ok) return errors(c, 400, cascade.errors);
      await store().deleteDomain(name.domain, { cascade: cascade.value });
      return c.body(null, 204, NO_STORE);
    } catch (e) {
      return failure(c, deps, e);
    }
  });
  app.all("/api/v1/domains/:domain", (c) => methodNotAllowed(c, "GET, PUT, DELETE"));
}
