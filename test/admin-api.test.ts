/**
 * The admin API on the real Node server with a real SQLite file: off (404), 401, 400 with every
 * field path, 409/413/415, and publish → autoconfig/Autodiscover/profile reflect it → delete → 404.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { tokenHashLine } from "../src/handlers/admin-auth.ts";
import { openApiDocument } from "../src/handlers/openapi.ts";
import type { RunningServer } from "../src/node/server.ts";
import { openSqlite } from "../src/node/sqlite.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { ProviderSchema } from "../src/providers/model.ts";
import { LayeredStore, MemoryStore } from "../src/providers/store.ts";
import { SqlStore } from "../src/store/sql-store.ts";
import { expectValidProfile } from "./helpers/checks/expect.ts";
import { fetchBounded, startTestServer } from "./helpers/server.ts";

const dir = mkdtempSync(join(tmpdir(), "mailconf-admin-"));
const HASHED_TOKEN = "hashed-token-0123456789abcdef";
const PLAIN_TOKEN = "plain-token-0123456789abcdef";
const ENV_TOKEN = "env-token-0123456789abcdef";

const PROVIDER = {
  displayName: "Publish Test Mail",
  domains: ["publish-test.net", "*.hosted.publish-test.net"],
  incoming: [
    { type: "imap", hostname: "imap.publish-test.net", port: 993, socketType: "SSL" },
    { type: "pop3", hostname: "pop.publish-test.net", port: 995, socketType: "SSL" },
  ],
  outgoing: [{ hostname: "smtp.publish-test.net", port: 465, socketType: "SSL" }],
};

function autodiscoverRequest(address: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>${address}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`;
}

let server: RunningServer;
let api: (path: string, init?: RequestInit & { token?: string | null; json?: unknown }) => Promise<Response>;

beforeAll(async () => {
  const tokenFile = join(dir, "tokens");
  writeFileSync(tokenFile, `# admin tokens\n${await tokenHashLine(HASHED_TOKEN)}\n\n${PLAIN_TOKEN}\n`);
  server = await startTestServer({
    db: join(dir, "published.db"),
    adminTokenFile: tokenFile,
    adminTokens: `${ENV_TOKEN}, another-env-token-0123456789`,
  });
  api = (path, init = {}) => {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? HASHED_TOKEN : init.token;
    if (token !== null) headers.set("Authorization", `Bearer ${token}`);
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
    }
    return fetchBounded(`${server.url}${path}`, { ...init, headers, body });
  };
});
afterAll(() => server.close());

describe("admin API: access", () => {
  it("is off (404, like any unknown path) without a token configured, also with no database", async () => {
    const off = await startTestServer({ db: join(dir, "off.db") });
    const noDb = await startTestServer({ adminTokens: PLAIN_TOKEN });
    try {
      expect(off.report).toContain("admin API: off (no admin token configured)");
      expect(noDb.report).toContain("admin API: off (no database)");
      for (const s of [off, noDb]) {
        for (const [method, path] of [
          ["GET", "/api/v1/providers"],
          ["PUT", "/api/v1/providers/x.net"],
          ["DELETE", "/api/v1/domains/x.net"],
        ] as const) {
          const res = await fetchBounded(`${s.url}${path}`, {
            method,
            headers: { Authorization: `Bearer ${PLAIN_TOKEN}` },
          });
          expect(res.status).toBe(404);
          expect(await res.text()).toBe("Not found.\n");
        }
        expect((await fetchBounded(`${s.url}/api/v1/openapi.json`)).status).toBe(200);
      }
    } finally {
      await off.close();
      await noDb.close();
    }
  });

  it("401 without a token, with a wrong one or another scheme; each configured token works", async () => {
    for (const [token, headers] of [
      [null, {}],
      ["wrong-token-0123456789abcdef", {}],
      [`${HASHED_TOKEN}x`, {}],
      [null, { Authorization: `Basic ${btoa(`admin:${PLAIN_TOKEN}`)}` }],
      [null, { Authorization: `Bearer ${await tokenHashLine(HASHED_TOKEN)}` }], // the hash is not the token
    ] as const) {
      const res = await api("/api/v1/providers", { token, headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="mailconf admin"');
      expect(await res.json()).toEqual({
        errors: [{ path: "headers.Authorization", message: "expected Authorization: Bearer <admin token>" }],
      });
    }
    for (const token of [HASHED_TOKEN, PLAIN_TOKEN, ENV_TOKEN, "another-env-token-0123456789"]) {
      expect((await api("/api/v1/providers", { token })).status).toBe(200);
    }
    // Guarded before anything else: a bad body without a token is a 401, not a 400.
    expect((await api("/api/v1/providers/x.net", { method: "PUT", token: null, json: {} })).status).toBe(401);
  });

  it("guards only /api/v1/providers… and /api/v1/domains…: other /api/v1/ endpoints stay public", async () => {
    const database = await openSqlite(join(dir, "public.db"));
    try {
      const app = createApp({
        store: new MemoryStore(BUILTIN_PROVIDERS.map((provider) => ({ provider, source: "built-in" }))),
        publicUrl: "https://autoconfig.test.example",
        admin: { store: new SqlStore(database), tokenHashes: [new Uint8Array(32)] },
      });
      // The settings guide's JSON (src/handlers/pages.ts) needs no token.
      const res = await app.request("/api/v1/settings?email=jane%40example.com");
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ email: "jane@example.com" });
      expect((await app.request("/api/v1/providersX")).status).toBe(404);
      expect((await app.request("/api/v1/domains/x.net")).status).toBe(401);
    } finally {
      database.close();
    }
  });
});

describe("admin API: validation", () => {
  it("400 lists every field error with its path, and changes nothing", async () => {
    const before = await (await api("/api/v1/domains")).json();
    const res = await api("/api/v1/providers/bad.net", {
      method: "PUT",
      json: {
        displayName: "",
        domains: ["not a domain!"],
        incoming: [{ type: "imap", hostname: "imap.bad.net", port: "993x", socketType: "ssl" }],
        outgoing: [],
        colour: "blue",
      },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { path: string; message: string }[] };
    expect(body.errors).toEqual([
      { path: "displayName", message: "Too small: expected string to have >=1 characters" },
      { path: "domains[0]", message: 'expected a domain name (or *.domain), got "not a domain!"' },
      { path: "incoming[0].port", message: 'expected an integer 1-65535, got "993x"' },
      {
        path: "incoming[0].socketType",
        message: 'expected one of SSL, STARTTLS, plain (exact case), got "ssl"',
      },
      { path: "outgoing", message: "expected at least one outgoing server" },
      { path: "colour", message: "unknown field" },
    ]);
    expect((await api("/api/v1/providers/bad.net")).status).toBe(404);
    expect(await (await api("/api/v1/domains")).json()).toEqual(before);
  });

  it("400 for an id that differs from the URL, bad JSON, a bad domain or target; 415; 413", async () => {
    const mismatch = await api("/api/v1/providers/one.net", {
      method: "PUT",
      json: { ...PROVIDER, id: "two.net" },
    });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toEqual({
      errors: [{ path: "id", message: 'expected "one.net" (the id in the URL), got "two.net"' }],
    });
    const badJson = await api("/api/v1/providers/one.net", {
      method: "PUT",
      body: "{ not json",
      headers: { "Content-Type": "application/json" },
    });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { errors: { path: string }[] }).errors[0]?.path).toBe("(root)");
    const badDomain = await api("/api/v1/domains/not_a_domain", { method: "GET" });
    expect(badDomain.status).toBe(400);
    const badTarget = await api("/api/v1/domains/x-target.org", {
      method: "PUT",
      json: { provider: "a", extra: 1 },
    });
    expect(badTarget.status).toBe(400);
    expect(await badTarget.json()).toEqual({
      errors: [{ path: "extra", message: "unknown field" }],
    });
    const unknownProvider = await api("/api/v1/domains/x-target.org", {
      method: "PUT",
      json: { provider: "nobody.net" },
    });
    expect(unknownProvider.status).toBe(400);
    expect(((await unknownProvider.json()) as { errors: { path: string }[] }).errors[0]?.path).toBe(
      "provider",
    );
    const text = await api("/api/v1/providers/one.net", {
      method: "PUT",
      body: JSON.stringify(PROVIDER),
      headers: { "Content-Type": "text/plain" },
    });
    expect(text.status).toBe(415);
    expect(await text.json()).toEqual({
      errors: [{ path: 'headers["Content-Type"]', message: "expected Content-Type: application/json" }],
    });
    const neither = await api("/api/v1/domains/x-target.org", { method: "PUT", json: { provider: 7 } });
    expect(neither.status).toBe(400);
    const badLimit = await api("/api/v1/domains?limit=0");
    expect(await badLimit.json()).toEqual({
      errors: [{ path: "query.limit", message: 'expected an integer 1-10000, got "0"' }],
    });
    const big = await api("/api/v1/providers/one.net", {
      method: "PUT",
      json: { ...PROVIDER, notes: Array.from({ length: 300 }, () => "x".repeat(999)) },
    });
    expect(big.status).toBe(413);
    expect((await api("/api/v1/providers/one.net")).status).toBe(404);
    const wrongMethod = await api("/api/v1/providers", { method: "POST", json: PROVIDER });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET");
  });
});

describe("admin API: publish → served → delete", () => {
  const autoconfig = (address: string) =>
    fetchBounded(`${server.url}/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}`);
  const autodiscover = async (address: string) =>
    (
      await fetchBounded(`${server.url}/autodiscover/autodiscover.xml`, {
        method: "POST",
        body: autodiscoverRequest(address),
        headers: { "Content-Type": "text/xml" },
      })
    ).text();
  const profile = (address: string) =>
    fetchBounded(`${server.url}/mobileconfig?email=${encodeURIComponent(address)}`);

  it("a published provider and its domains are served at once by every format, and gone after delete", async () => {
    expect((await autoconfig("jane@publish-test.net")).status).toBe(404);

    const created = await api("/api/v1/providers/publish-test.net", { method: "PUT", json: PROVIDER });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/api/v1/providers/publish-test.net");
    const stored = ProviderSchema.parse(await created.json());
    expect(stored.incoming[0]?.username).toBe("%EMAILADDRESS%");
    expect(ProviderSchema.parse(await (await api("/api/v1/providers/publish-test.net")).json())).toEqual(
      stored,
    );

    const ac = await autoconfig("jane@publish-test.net");
    expect(ac.status).toBe(200);
    const xml = await ac.text();
    expect(xml).toContain('<emailProvider id="publish-test.net">');
    expect(xml).toContain("<hostname>imap.publish-test.net</hostname>");
    const ad = await autodiscover("jane@shop.hosted.publish-test.net");
    expect(ad).toContain("<Server>imap.publish-test.net</Server>");
    expect(ad).toContain("<LoginName>jane@shop.hosted.publish-test.net</LoginName>");
    const mc = await profile("jane@publish-test.net");
    expect(mc.status).toBe(200);
    const plist = await mc.text();
    expect(plist).toContain("<string>imap.publish-test.net</string>");
    expectValidProfile(plist);

    // A customer domain assigned one by one, and an alias.
    expect(
      (
        await api("/api/v1/domains/customer-of-publish.org", {
          method: "PUT",
          json: { provider: "publish-test.net" },
        })
      ).status,
    ).toBe(201);
    expect((await autoconfig("bob@customer-of-publish.org")).status).toBe(200);
    const alias = await api("/api/v1/domains/old-publish.org", {
      method: "PUT",
      json: { aliasOf: "publish-test.net" },
    });
    expect(await alias.json()).toMatchObject({
      domain: "old-publish.org",
      aliasOf: "publish-test.net",
      origin: "assigned",
    });
    expect(await autodiscover("bob@old-publish.org")).toContain(
      "<RedirectAddr>bob@publish-test.net</RedirectAddr>",
    );

    // Replace: the next request sees the new servers.
    const replaced = await api("/api/v1/providers/publish-test.net", {
      method: "PUT",
      json: {
        ...PROVIDER,
        incoming: [{ type: "imap", hostname: "imap2.publish-test.net", port: 993, socketType: "SSL" }],
      },
    });
    expect(replaced.status).toBe(200);
    expect(await (await autoconfig("jane@customer-of-publish.org")).text()).toContain(
      "<hostname>imap2.publish-test.net</hostname>",
    );

    // The provider cannot go while a customer domain still points at it.
    const blocked = await api("/api/v1/providers/publish-test.net", { method: "DELETE" });
    expect(blocked.status).toBe(409);
    expect(((await blocked.json()) as { errors: { message: string }[] }).errors[0]?.message).toContain(
      "customer-of-publish.org",
    );
    // A provider's own domain is removed by replacing the provider.
    const own = await api("/api/v1/domains/publish-test.net", { method: "DELETE" });
    expect(own.status).toBe(409);
    expect(await own.json()).toEqual({
      errors: [
        {
          path: "domain",
          message:
            "publish-test.net is listed in provider publish-test.net's domains; publish publish-test.net again without it (PUT /api/v1/providers/publish-test.net with its domains without publish-test.net)",
        },
      ],
    });

    expect((await api("/api/v1/domains/customer-of-publish.org", { method: "DELETE" })).status).toBe(204);
    expect((await autoconfig("bob@customer-of-publish.org")).status).toBe(404);
    expect((await api("/api/v1/domains/customer-of-publish.org")).status).toBe(404);
    expect((await api("/api/v1/domains/old-publish.org", { method: "DELETE" })).status).toBe(204);
    const deleted = await api("/api/v1/providers/publish-test.net", { method: "DELETE" });
    expect(deleted.status).toBe(204);
    expect((await autoconfig("jane@publish-test.net")).status).toBe(404);
    expect(await autodiscover("jane@publish-test.net")).toContain("<ErrorCode>500</ErrorCode>");
    expect((await profile("jane@publish-test.net")).status).toBe(404);
    expect((await api("/api/v1/providers/publish-test.net")).status).toBe(404);
    expect((await api("/api/v1/providers/publish-test.net", { method: "DELETE" })).status).toBe(404);
  });

  it("repoints a company's domain to the built-in Gmail provider (Google Workspace), by id", async () => {
    const gmail = BUILTIN_PROVIDERS.find((p) => p.id === "googlemail.com");
    const res = await api("/api/v1/domains/moving-company.org", {
      method: "PUT",
      json: { provider: "googlemail.com" },
    });
    expect(res.status).toBe(201);
    const xml = await (await autoconfig("ceo@moving-company.org")).text();
    expect(xml).toContain(`<hostname>${gmail?.incoming[0]?.hostname}</hostname>`);
    expect((await api("/api/v1/domains/moving-company.org", { method: "DELETE" })).status).toBe(204);
  });

  it("200 concurrent PUTs of different domains: every one is stored and served", async () => {
    expect(
      (
        await api("/api/v1/providers/concurrent.net", {
          method: "PUT",
          json: { ...PROVIDER, domains: ["concurrent.net"] },
        })
      ).status,
    ).toBe(201);
    const names = Array.from({ length: 200 }, (_, i) => `c${i}.concurrent-customers.org`);
    const statuses = await Promise.all(
      names.map(
        async (name) =>
          (await api(`/api/v1/domains/${name}`, { method: "PUT", json: { provider: "concurrent.net" } }))
            .status,
      ),
    );
    expect(statuses.every((s) => s === 201)).toBe(true);
    const listed: string[] = [];
    let next: string | null = "";
    while (next !== null) {
      const page = (await (
        await api(`/api/v1/domains?provider=concurrent.net&limit=50&after=${encodeURIComponent(next)}`)
      ).json()) as {
        domains: { domain: string }[];
        next: string | null;
      };
      listed.push(...page.domains.map((d) => d.domain));
      next = page.next;
    }
    expect(listed.filter((d) => d !== "concurrent.net").sort()).toEqual([...names].sort());
    expect((await autoconfig("x@c199.concurrent-customers.org")).status).toBe(200);
  });
});

describe("OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document describing every admin route", async () => {
    const res = await fetchBounded(`${server.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const paths = doc.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths["/api/v1/providers/{id}"] ?? {}).sort()).toEqual([
      "delete",
      "get",
      "parameters",
      "put",
    ]);
    expect(Object.keys(paths["/api/v1/domains/{domain}"] ?? {}).sort()).toEqual([
      "delete",
      "get",
      "parameters",
      "put",
    ]);
    // The public settings endpoint is documented too, and needs no token.
    expect(paths["/api/v1/settings"]?.get).toMatchObject({ operationId: "getSettings", security: [] });
    // The Provider schema is the settings model's: required fields and the port rule.
    const provider = doc.components.schemas.Provider;
    expect(provider.required).toEqual(["id", "displayName", "incoming", "outgoing"]);
    // What the list operations answer for a bad limit (400), and the plain-text 404 when the API is off.
    for (const path of ["/api/v1/providers", "/api/v1/domains"]) {
      const op = paths[path]?.get as { responses: Record<string, { content?: object }> } | undefined;
      const responses = op?.responses ?? {};
      expect(Object.keys(responses)).toContain("400");
      expect(Object.keys(responses["404"]?.content ?? {})).toEqual(["application/json", "text/plain"]);
    }
    const del = paths["/api/v1/domains/{domain}"]?.delete as { parameters: { name: string }[] };
    expect(del.parameters.map((p) => p.name)).toEqual(["cascade"]);
    expect(provider.properties.incoming.items.properties.port).toEqual({
      type: "integer",
      minimum: 1,
      maximum: 65535,
    });
  });
});

describe("a provider published in one process is served by a running server", () => {
  it("writes through another connection to the same file are visible to the next request", async () => {
    const path = join(dir, "published.db");
    const other = await openSqlite(path);
    try {
      const builtins = new MemoryStore(BUILTIN_PROVIDERS.map((p) => ({ provider: p, source: "built-in" })));
      const writer = new SqlStore(other, { fallback: new LayeredStore([builtins]) });
      await writer.putDomain("from-cli.org", { provider: "me.com" });
      const xml = await (await autoconfig("a@from-cli.org")).text();
      expect(xml).toContain("<hostname>imap.mail.me.com</hostname>");
      await writer.deleteDomain("from-cli.org");
      expect((await autoconfig("a@from-cli.org")).status).toBe(404);
    } finally {
      other.close();
    }
  });
});

function autoconfig(address: string) {
  return fetchBounded(`${server.url}/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}`);
}
