/**
 * The SQL store's caches (src/store/published-cache.ts): lookups of a loaded store run no SQL, a
 * write through the store is served by the next lookup, a write by another process (a second
 * store on the same file; the real CLI beside a running server) once the change marker has been
 * read again, i.e. within DEFAULT_CHANGE_CHECK_MS. Clocks are injected: nothing here is timed.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { startServer } from "../src/node/server.ts";
import { openSqlite, type SqliteDatabase } from "../src/node/sqlite.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import type { Provider } from "../src/providers/model.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { DEFAULT_CHANGE_CHECK_MS, DomainTable, loadIndex } from "../src/store/published-cache.ts";
import { peekPublished, SqlStore } from "../src/store/sql-store.ts";
import { counting } from "./helpers/counting-driver.ts";
import { provider } from "./helpers/providers.ts";
import { REPO_ROOT } from "./helpers/shared.ts";

const run = promisify(execFile);
/** Runs the built `mailconf` command from the repository (another process writing the database). */
const mailconf = (...args: string[]) =>
  run(process.execPath, ["bin/mailconf.js", ...args], { cwd: REPO_ROOT, timeout: 30_000 });
const dir = mkdtempSync(join(tmpdir(), "mailconf-cache-"));
const builtins = new MemoryStore(BUILTIN_PROVIDERS.map((p) => ({ provider: p, source: "built-in" })));
const opened: SqliteDatabase[] = [];
afterAll(() => {
  for (const db of opened) db.close();
});

async function database(name: string): Promise<SqliteDatabase> {
  const db = await openSqlite(join(dir, name));
  opened.push(db);
  return db;
}

const hoster = provider({
  id: "hoster.example.net",
  domains: ["hoster.example.net", "*.customers.example.net"],
  mxHosts: ["*.mx.hoster.example.net"],
});

describe("SQL store cache", () => {
  it("full: after loading, lookups of known and unknown domains run no SQL until the marker is due", async () => {
    const db = await database("full.db");
    await new SqlStore(db, { fallback: builtins }).putProviders([hoster]);
    let now = 0;
    const driver = counting(db);
    const store = new SqlStore(driver, { fallback: builtins, cache: "full", loadIndex, clock: () => now });
    await store.warm();
    expect(store.inMemory).toBe(true);
    const before = driver.statements;
    for (let i = 0; i < 50; i++) {
      expect((await store.resolve("a.customers.example.net"))?.via).toBe("wildcard");
      expect(await store.resolve(`unknown-${i}.example.org`)).toBeUndefined();
      expect((await store.matchMx("in1.mx.hoster.example.net"))?.provider.id).toBe("hoster.example.net");
      expect(await store.hasMxHosts()).toBe(true);
    }
    expect(driver.statements - before).toBe(0);
    now += DEFAULT_CHANGE_CHECK_MS;
    await store.resolve("hoster.example.net");
    expect(driver.statements - before).toBe(1); // the marker, and nothing else: it did not move
  });

  it("full needs its loader, which only the Node entry gives (the Worker bundle stays without it)", async () => {
    const db = await database("no-loader.db");
    expect(() => new SqlStore(db, { fallback: builtins, cache: "full" })).toThrow(
      /cache "full" needs options\.loadIndex/,
    );
    expect(new SqlStore(db, { fallback: builtins, cache: "lru" }).inMemory).toBe(false);
  });

  it("full: a write through the store is served by the next lookup, the index reloads behind it", async () => {
    const db = await database("local-write.db");
    const store = new SqlStore(db, { fallback: builtins, cache: "full", loadIndex, clock: () => 0 });
    await store.putProviders([hoster]);
    await store.warm();
    expect((await store.resolve("shop.example.org"))?.provider.id).toBeUndefined();
    await store.putDomain("shop.example.org", { provider: "hoster.example.net" });
    expect((await store.resolve("shop.example.org"))?.provider.id).toBe("hoster.example.net");
    await store.warm();
    expect(store.inMemory).toBe(true);
    expect((await store.resolve("shop.example.org"))?.provider.id).toBe("hoster.example.net");
    await store.deleteDomain("shop.example.org");
    expect(await store.resolve("shop.example.org")).toBeUndefined();
    await store.putProviders([
      {
        ...hoster,
        incoming: [
          { ...hoster.incoming[0], port: 143, socketType: "STARTTLS" } as Provider["incoming"][number],
        ],
      },
    ]);
    expect((await store.resolve("hoster.example.net"))?.provider.incoming[0]?.port).toBe(143);
  });

  it.each(["full", "lru"] as const)(
    "%s: another process's write is served once the marker is read again",
    async (mode) => {
      const db = await database(`other-${mode}.db`);
      const cli = new SqlStore(await openSqlite(db.path), { fallback: builtins }); // "the CLI"
      await cli.putProviders([hoster]);
      await cli.putDomain("moving.example.org", { provider: "hoster.example.net" });
      let now = 0;
      const server = new SqlStore(db, { fallback: builtins, cache: mode, loadIndex, clock: () => now });
      await server.warm();
      expect((await server.resolve("moving.example.org"))?.provider.id).toBe("hoster.example.net");
      await cli.putDomain("moving.example.org", { provider: "googlemail.com" });
      await cli.putDomain("new.example.org", { provider: "hoster.example.net" });
      now += DEFAULT_CHANGE_CHECK_MS - 1; // not due yet: inside the documented window the cache answers
      expect((await server.resolve("moving.example.org"))?.provider.id).toBe("hoster.example.net");
      now += 1;
      expect((await server.resolve("moving.example.org"))?.provider.id).toBe("googlemail.com");
      expect((await server.resolve("new.example.org"))?.provider.id).toBe("hoster.example.net");
      await server.warm(); // held in memory again (full) or cached (lru) before it is deleted
      if (mode === "full") expect(server.domainsInMemory).toBe(4); // hoster, *.customers, moving, new
      await cli.deleteDomain("new.example.org");
      now += DEFAULT_CHANGE_CHECK_MS - 1;
      expect((await server.resolve("new.example.org"))?.provider.id).toBe("hoster.example.net");
      now += 1;
      expect(await server.resolve("new.example.org")).toBeUndefined();
    },
  );

  it("full and lru answer exactly as the database does (exact, alias, wildcard, unknown); peek too, when it answers", async () => {
    const db = await database("same.db");
    const writer = new SqlStore(db, { fallback: builtins });
    await writer.putProviders(
      [hoster, provider({ id: "eu.example.net", domains: ["*.eu.customers.example.net", "eu.example.net"] })],
      { "old.example.org": "hoster.example.net", "gmail-alias.example.org": "gmail.com" },
    );
    await writer.putDomain("assigned.example.org", { provider: "googlemail.com" });
    await writer.putDomain("*.assigned.example.org", { provider: "hoster.example.net" });
    const full = new SqlStore(db, { fallback: builtins, cache: "full", loadIndex });
    const lru = new SqlStore(db, { fallback: builtins, cache: "lru", lruEntries: 16 });
    await full.warm();
    let peeks = 0;
    const label = fc.constantFrom("a", "b", "eu", "customers", "assigned", "old", "gmail-alias", "x-1");
    const base = fc.constantFrom(
      "example.net",
      "example.org",
      "customers.example.net",
      "eu.customers.example.net",
      "assigned.example.org",
      "hoster.example.net",
    );
    await fc.assert(
      fc.asyncProperty(fc.array(label, { maxLength: 3 }), base, async (labels, b) => {
        const name = [...labels, b].join(".");
        const expected = await writer.resolve(name);
        // The request path asks peek first (synchronous, from memory): it must agree or abstain.
        const peeked = peekPublished(full.currentIndex, name);
        if (peeked !== undefined) {
          peeks++;
          expect(peeked ?? undefined).toEqual(expected);
        }
        expect(await full.resolve(name)).toEqual(expected);
        expect(await lru.resolve(name)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
    expect(full.inMemory).toBe(true);
    expect(peeks).toBeGreaterThan(100);
    expect(peekPublished(full.currentIndex, "hoster.example.net")?.via).toBe("exact");
    expect(peekPublished(full.currentIndex, "a.eu.customers.example.net")?.via).toBe("wildcard");
    expect(peekPublished(full.currentIndex, "nothing.example.com")).toBeNull();
    expect(peekPublished(full.currentIndex, "old.example.org")).toBeUndefined(); // an alias: resolve() follows it
    expect(lru.currentIndex).toBeUndefined(); // only the full cache holds the settings in memory
  });
});

describe("DomainTable", () => {
  it("finds exactly the names it holds (binary search over pages of packed strings)", () => {
    const name = fc
      .array(fc.constantFrom(..."ab-*.0z".split("")), { minLength: 1, maxLength: 6 })
      .map((c) => c.join(""));
    fc.assert(
      fc.property(
        fc.uniqueArray(name, { maxLength: 60 }),
        fc.array(name, { maxLength: 20 }),
        fc.integer({ min: 0, max: 7 }),
        (names, probes, pageSize) => {
          const sorted = [...names].sort();
          const builder = DomainTable.builder();
          const expected = new Map<string, string | { aliasOf: string }>();
          const page: string[] = [];
          const flush = () => {
            builder.addPage(page.join(" "), page.length / 2);
            page.length = 0;
          };
          sorted.forEach((n, i) => {
            const value = i % 3 === 0 ? { aliasOf: `t${i % 2}` } : `p${i % 4}`;
            expected.set(n, value);
            // pageSize 0: one by one (add); else pages as the loading statement returns them.
            if (pageSize === 0) builder.add(n, value);
            else {
              page.push(n, typeof value === "string" ? value : `=${value.aliasOf}`);
              if (page.length / 2 === pageSize) flush();
            }
          });
          if (page.length > 0) flush();
          const table = builder.build();
          expect(table.size).toBe(sorted.length);
          for (const probe of [...names, ...probes, "", "zzzzzzz"])
            expect(table.get(probe)).toEqual(expected.get(probe));
        },
      ),
      { numRuns: 300 },
    );
    expect(() => {
      const b = DomainTable.builder();
      b.add("b.example", "p");
      b.add("a.example", "p");
    }).toThrow(/ascending/);
    expect(() => DomainTable.builder().addPage("b.example p a.example p", 2)).toThrow(/ascending/);
    // A stored name with a space (written around mailconf) makes the page's count wrong.
    expect(() => DomainTable.builder().addPage("a b.example p c.example p", 2)).toThrow(/pairs/);
    expect(() => DomainTable.builder().addPage("a.example p", 2)).toThrow(/pairs/);
  });
});

describe("a running server and the real CLI", () => {
  it(`serves a CLI write (add and delete) within ${DEFAULT_CHANGE_CHECK_MS} ms, and an admin API write at once, also when the store is held in memory`, async () => {
    const path = join(dir, "served.db");
    const tokens = join(dir, "tokens");
    writeFileSync(tokens, "a-long-admin-token-for-tests\n");
    const server = await startServer({
      port: 0,
      host: "127.0.0.1",
      db: path,
      adminTokenFile: tokens,
      builtin: true,
    });
    const get = (domain: string) => fetch(`${server.url}/v1.1/${domain}`).then((r) => r.status);
    /** Waits (bounded) until the server answers from memory with `n` published domains. */
    const heldInMemory = async (n: number) => {
      for (let i = 0; i < 200 && server.domainsInMemory() !== n; i++) {
        await get("poll.example.org"); // a lookup reads the marker when due, and starts the loading
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(server.domainsInMemory()).toBe(n);
    };
    try {
      const put = await fetch(`${server.url}/api/v1/domains/api.example.org`, {
        method: "PUT",
        headers: { Authorization: "Bearer a-long-admin-token-for-tests", "Content-Type": "application/json" },
        body: JSON.stringify({ provider: "googlemail.com" }),
      });
      expect(put.status).toBe(201);
      expect(await get("api.example.org")).toBe(200);
      await mailconf("domains", "add", "cli.example.org", "googlemail.com", "--db", path);
      await new Promise((r) => setTimeout(r, DEFAULT_CHANGE_CHECK_MS + 50));
      expect(await get("cli.example.org")).toBe(200);
      // Both domains in memory: the deletions below must drop them from there, not only from SQL.
      await heldInMemory(2);
      expect(await get("cli.example.org")).toBe(200);
      await mailconf("domains", "remove", "cli.example.org", "--db", path);
      await new Promise((r) => setTimeout(r, DEFAULT_CHANGE_CHECK_MS + 50));
      expect(await get("cli.example.org")).toBe(404);
      await heldInMemory(1);
      expect(await get("api.example.org")).toBe(200);
      const del = await fetch(`${server.url}/api/v1/domains/api.example.org`, {
        method: "DELETE",
        headers: { Authorization: "Bearer a-long-admin-token-for-tests" },
      });
      expect(del.status).toBe(204);
      expect(await get("api.example.org")).toBe(404);
    } finally {
      await server.close();
    }
  }, 90_000);
});
