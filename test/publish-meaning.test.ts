/**
 * Publishing that keeps its meaning (issue 11): a provider may have no domains of its own;
 * assignments stay assignments when their provider is published again; `providers export` writes
 * them as `assignedDomains` and `providers add` restores the store exactly (listings and answers);
 * a provider or domain that an alias or assignment points at is not removed unless the caller asks
 * for the cascade; conflict errors name their file and line.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createApp } from "../src/app.ts";
import { checkAddress } from "../src/cli/check-report.ts";
import { sha256 } from "../src/handlers/admin-auth.ts";
import { loadSettings } from "../src/node/server.ts";
import { openSqlite } from "../src/node/sqlite.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { SqlStore } from "../src/store/sql-store.ts";
import { cli } from "./helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "mailconf-meaning-"));
afterEach(() => {
  process.exitCode = undefined;
});

const SETTINGS = `providers:
  - id: shared-hosting-eu
    displayName: Shared Hosting EU
    incoming:
      - { type: imap, hostname: imap.hosting-eu.example, port: 993, socketType: SSL }
    outgoing:
      - { hostname: smtp.hosting-eu.example, port: 465, socketType: SSL }
  - id: corp.example
    displayName: Corp Mail
    domains: [corp.example, "*.corp.example"]
    incoming:
      - { type: imap, hostname: mail.corp.example, port: 993, socketType: SSL }
    outgoing:
      - { hostname: mail.corp.example, port: 587, socketType: STARTTLS }
aliases:
  corp-old.example: corp.example
`;

/** Domain listing without write times. */
async function listing(db: string): Promise<unknown[]> {
  const list = JSON.parse((await cli("domains", "list", "--json", "--db", db)).out) as Record<
    string,
    unknown
  >[];
  return list.map(({ updatedAt: _, ...rest }) => rest);
}

/** What `mailconf check` reports for each address (source, servers, profile), from the store in `db`. */
async function answers(db: string, addresses: string[]): Promise<string[][]> {
  const loaded = await loadSettings({ db });
  try {
    return await Promise.all(addresses.map(async (a) => (await checkAddress(loaded.store, a)).lines));
  } finally {
    loaded.close();
  }
}

const ADDRESSES = [
  "a@c1.hosted.example",
  "b@c2.hosted.example",
  "c@shop.cust.example",
  "d@corp.example",
  "e@x.corp.example",
  "f@corp-old.example",
  "g@google-co.example",
  "h@c1-old.example",
];

describe("publish → export → empty store → import", () => {
  const db = join(dir, "first.db");
  const file = join(dir, "hosting.yaml");
  writeFileSync(file, SETTINGS);

  it("a hosting profile with no domains of its own is published, and its assignments stay assigned", async () => {
    expect((await cli("providers", "add", file, "--db", db)).out).toBe(
      "created: shared-hosting-eu, corp.example\naliases: 1",
    );
    for (const [domain, target] of [
      ["c1.hosted.example", "shared-hosting-eu"],
      ["c2.hosted.example", "shared-hosting-eu"],
      ["*.cust.example", "shared-hosting-eu"],
      ["google-co.example", "googlemail.com"],
    ] as const)
      expect((await cli("domains", "add", domain, target, "--db", db)).code).toBe(0);
    expect(
      (await cli("domains", "add", "c1-old.example", "--alias-of", "c1.hosted.example", "--db", db)).code,
    ).toBe(0);
    const before = await listing(db);
    // Publishing the same file again replaces the providers; the assignments are untouched.
    expect((await cli("providers", "add", file, "--db", db)).out).toBe(
      "replaced: shared-hosting-eu, corp.example\naliases: 1",
    );
    expect(await listing(db)).toEqual(before);
    expect(before).toContainEqual({
      domain: "c1.hosted.example",
      provider: "shared-hosting-eu",
      origin: "assigned",
    });
    expect((await cli("domains", "remove", "c2.hosted.example", "--db", db)).out).toBe(
      "removed c2.hosted.example",
    );
    expect((await cli("domains", "add", "c2.hosted.example", "shared-hosting-eu", "--db", db)).code).toBe(0);
  });

  it("export writes assignments as assignedDomains; importing it into an empty store gives identical listings and answers", async () => {
    const exported = await cli("providers", "export", "--db", db);
    expect(exported.code).toBe(0);
    const doc = parse(exported.out) as Record<string, unknown>;
    expect(doc.assignedDomains).toEqual({
      "*.cust.example": "shared-hosting-eu",
      "c1.hosted.example": "shared-hosting-eu",
      "c2.hosted.example": "shared-hosting-eu",
      "google-co.example": "googlemail.com",
    });
    expect(doc.aliases).toEqual({
      "c1-old.example": "c1.hosted.example",
      "corp-old.example": "corp.example",
    });
    const providers = doc.providers as { id: string; domains: string[] }[];
    expect(providers.map((p) => [p.id, p.domains])).toEqual([
      ["corp.example", ["corp.example", "*.corp.example"]],
      ["shared-hosting-eu", []],
    ]);
    const copy = join(dir, "exported.yaml");
    writeFileSync(copy, exported.out);
    const second = join(dir, "second.db");
    expect((await cli("providers", "add", copy, "--db", second)).out).toBe(
      "created: corp.example, shared-hosting-eu\naliases: 2\nassigned domains: 4",
    );
    expect(await listing(second)).toEqual(await listing(db));
    expect(JSON.parse((await cli("providers", "export", "--json", "--db", second)).out)).toEqual(
      JSON.parse((await cli("providers", "export", "--json", "--db", db)).out),
    );
    const [one, two] = [await answers(db, ADDRESSES), await answers(second, ADDRESSES)];
    expect(two).toEqual(one);
    expect(one[0]?.[0]).toBe("a@c1.hosted.example: Shared Hosting EU (provider shared-hosting-eu)");
    expect(one[6]?.[0]).toBe("g@google-co.example: Google Mail (provider googlemail.com)");
    // The imported assignment is still an assignment: it can be removed on its own.
    expect((await cli("domains", "remove", "c2.hosted.example", "--db", second)).code).toBe(0);
  });

  it("a provider body that lists one of its assigned domains is refused, naming the file and line", async () => {
    const listed = join(dir, "listed.yaml");
    writeFileSync(
      listed,
      SETTINGS.replace(
        "    displayName: Shared Hosting EU\n",
        "    displayName: Shared Hosting EU\n    domains: [c1.hosted.example]\n",
      ),
    );
    const result = await cli("providers", "add", listed, "--db", db);
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      `${listed}:4: providers[0].domains[0]: c1.hosted.example is assigned to shared-hosting-eu one by one; leave it out of domains (it stays assigned), or delete the assignment first (DELETE /api/v1/domains/c1.hosted.example)`,
    );
    const taken = join(dir, "taken.yaml");
    writeFileSync(
      taken,
      `providers:\n  - id: other.example\n    displayName: Other\n    domains:\n      - other.example\n      - corp.example\n    incoming: [{ type: imap, hostname: imap.other.example, port: 993, socketType: SSL }]\n    outgoing: [{ hostname: smtp.other.example, port: 465, socketType: SSL }]\n`,
    );
    expect((await cli("providers", "add", taken, "--db", db)).err).toBe(
      `${taken}:6: providers[0].domains[1]: corp.example is already served by provider corp.example`,
    );
  });
});

describe("what an alias or assignment points at is protected", () => {
  it("store: deleting a provider or domain an alias points at is a conflict naming it; cascade deletes both", async () => {
    const database = await openSqlite(join(dir, "protect.db"));
    try {
      const builtins = new MemoryStore(BUILTIN_PROVIDERS.map((p) => ({ provider: p, source: "built-in" })));
      const store = new SqlStore(database, { fallback: builtins });
      const loaded = await loadSettings({ db: join(dir, "first.db"), builtin: false });
      const published = (await loaded.sql?.providers()) ?? [];
      loaded.close();
      await store.putProviders(
        published.map((p) => p.provider),
        { "corp-old.example": "x.corp.example" },
      );
      await store.putDomain("c1.hosted.example", { provider: "shared-hosting-eu" });
      await store.putDomain("c1-old.example", { aliasOf: "c1.hosted.example" });
      await expect(store.deleteDomain("c1.hosted.example")).rejects.toMatchObject({
        kind: "conflict",
        errors: [
          {
            path: ["domain"],
            message: expect.stringMatching(/^aliases point at c1.hosted.example: c1-old.example;/),
          },
        ],
      });
      // An alias through a wildcard (*.corp.example serves x.corp.example) protects the provider.
      await expect(store.deleteProvider("corp.example")).rejects.toMatchObject({
        kind: "conflict",
        errors: [{ message: expect.stringContaining("corp-old.example (alias of x.corp.example)") }],
      });
      await expect(store.deleteProvider("shared-hosting-eu")).rejects.toMatchObject({
        errors: [{ message: expect.stringContaining("c1.hosted.example (assigned)") }],
      });
      expect((await store.listDomains()).items).toHaveLength(5);
      await store.deleteDomain("c1.hosted.example", { cascade: true });
      expect((await store.listDomains()).items.map((d) => d.domain)).toEqual([
        "*.corp.example",
        "corp-old.example",
        "corp.example",
      ]);
      await store.deleteProvider("corp.example", { cascade: true });
      expect((await store.listDomains()).items).toEqual([]);
      expect(await store.resolve("corp-old.example")).toBeUndefined();
    } finally {
      database.close();
    }
  });

  it("admin API: 409 naming the alias, 204 with ?cascade=true, 400 for a bad cascade value", async () => {
    const database = await openSqlite(join(dir, "api.db"));
    try {
      const builtins = new MemoryStore(BUILTIN_PROVIDERS.map((p) => ({ provider: p, source: "built-in" })));
      const store = new SqlStore(database, { fallback: builtins });
      const token = "a-token-for-the-cascade-test";
      const app = createApp({
        store,
        publicUrl: "https://autoconfig.test.example",
        admin: { store, tokenHashes: [await sha256(token)] },
      });
      const auth = { Authorization: `Bearer ${token}` };
      await store.putDomain("moved.example", { provider: "googlemail.com" });
      await store.putDomain("moved-old.example", { aliasOf: "moved.example" });
      const refused = await app.request("/api/v1/domains/moved.example", { method: "DELETE", headers: auth });
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { errors: { message: string }[] }).errors[0]?.message).toMatch(
        /^aliases point at moved.example: moved-old.example; /,
      );
      const bad = await app.request("/api/v1/domains/moved.example?cascade=yes", {
        method: "DELETE",
        headers: auth,
      });
      expect(bad.status).toBe(400);
      const ok = await app.request("/api/v1/domains/moved.example?cascade=true", {
        method: "DELETE",
        headers: auth,
      });
      expect(ok.status).toBe(204);
      expect((await store.listDomains()).items).toEqual([]);
    } finally {
      database.close();
    }
  });
});
