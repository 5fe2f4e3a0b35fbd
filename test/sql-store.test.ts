/**
 * The SQL store against real databases: a SQLite file (libsql, as `mailconf serve --db`), D1
 * (workerd through Miniflare, as on Cloudflare Workers) and PostgreSQL (`--db postgres://…`, a
 * server started here on 127.0.0.1, see test/helpers/postgres.ts). The same cases run on all three.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres } from "../src/node/postgres.ts";
import { openSqlite } from "../src/node/sqlite.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { d1Driver } from "../src/store/d1.ts";
import { MIGRATIONS } from "../src/store/migrations.ts";
import { loadIndex } from "../src/store/published-cache.ts";
import { applyMigrations, type SqlDriver } from "../src/store/sql.ts";
import { SqlStore, WriteError } from "../src/store/sql-store.ts";
import { postgresUnavailable, startPostgres, type TestPostgres } from "./helpers/postgres.ts";
import { provider } from "./helpers/providers.ts";
import { REPO_ROOT } from "./helpers/shared.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "mailconf-sql-"));
let fileCounter = 0;

/** Every row of every table, to prove a refused write changed nothing. */
async function snapshot(db: SqlDriver): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const [table, order] of [
    ["providers", "id"],
    ["domains", "domain"],
    ["mx_hosts", "pattern, provider_id"],
  ]) {
    out[table as string] = (await db.execute({ sql: `SELECT * FROM ${table} ORDER BY ${order}` })).rows;
  }
  return out;
}

async function writeError(promise: Promise<unknown>): Promise<WriteError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof WriteError) return e;
    throw e;
  }
  throw new Error("expected a WriteError");
}

interface Backend {
  name: string;
  /** Why this backend cannot run here (the suite is skipped, saying so). */
  skip?: string;
  /** Concurrent writes in the "none lost" case (D1 through Miniflare costs ~50 ms a call from Node). */
  concurrent: number;
  /** A fresh, migrated database. */
  open(): Promise<{ driver: SqlDriver; reopen(): Promise<SqlDriver>; close(): Promise<void> }>;
}

const builtins = new MemoryStore(BUILTIN_PROVIDERS.map((p) => ({ provider: p, source: "built-in" })));

const sqlite: Backend = {
  name: "SQLite file (libsql)",
  concurrent: 200,
  async open() {
    const path = join(dir, `store-${++fileCounter}.db`);
    let db = await openSqlite(path);
    return {
      driver: db,
      async reopen() {
        db.close();
        db = await openSqlite(path);
        return db;
      },
      async close() {
        db.close();
      },
    };
  },
};

const d1: Backend = {
  name: "D1 (Miniflare)",
  concurrent: 25,
  async open() {
    const persist = join(dir, `d1-${++fileCounter}`);
    const start = () =>
      new Miniflare({
        modules: true,
        script: "export default { fetch() { return new Response('') } }",
        d1Databases: { DB: "settings" },
        d1Persist: persist,
        cf: false,
      });
    let mf = start();
    const driver = d1Driver(await mf.getD1Database("DB"));
    await applyMigrations(driver, MIGRATIONS);
    return {
      driver,
      async reopen() {
        await mf.dispose();
        mf = start();
        const again = d1Driver(await mf.getD1Database("DB"));
        expect(await applyMigrations(again, MIGRATIONS)).toEqual([]);
        return again;
      },
      close: () => mf.dispose(),
    };
  },
};

let postgresServer: Promise<TestPostgres> | undefined;
afterAll(async () => {
  await (await postgresServer)?.stop();
});

const postgres: Backend = {
  name: "PostgreSQL (pg)",
  skip: postgresUnavailable,
  concurrent: 200,
  async open() {
    postgresServer ??= startPostgres();
    const url = await (await postgresServer).createDatabase(`store_${++fileCounter}`);
    let db = await openPostgres(url);
    expect(db.migrated).toEqual(MIGRATIONS.map((m) => m.name));
    return {
      driver: db,
      async reopen() {
        await db.close();
        db = await openPostgres(url);
        expect(db.migrated).toEqual([]);
        return db;
      },
      close: () => db.close(),
    };
  },
};

for (const backend of [sqlite, d1, postgres])
  describe.skipIf(backend.skip !== undefined)(
    `SQL store on ${backend.name}${backend.skip ? ` (skipped: ${backend.skip})` : ""}`,
    () => storeSuite(backend),
  );

function storeSuite(backend: Backend): void {
  let db: Awaited<ReturnType<Backend["open"]>>;
  let store: SqlStore;
  beforeAll(async () => {
    db = await backend.open();
    store = new SqlStore(db.driver, { fallback: builtins });
  });
  afterAll(() => db.close());

  it("creates, reads, replaces and deletes a provider; lookups follow every write", async () => {
    const hoster = provider({ id: "hoster-a.net", domains: ["hoster-a.net", "*.hosted.hoster-a.net"] });
    expect(await store.putProviders([hoster])).toEqual({ created: ["hoster-a.net"], replaced: [] });
    expect((await store.getProvider("hoster-a.net"))?.provider).toEqual(hoster);
    expect(await store.resolve("hoster-a.net")).toMatchObject({ via: "exact", source: "database" });
    expect(await store.resolve("shop.hosted.hoster-a.net")).toMatchObject({
      via: "wildcard",
      provider: { id: "hoster-a.net" },
    });
    expect(await store.resolve("hosted.hoster-a.net")).toBeUndefined(); // *. does not match the suffix itself

    const replaced = provider({
      id: "hoster-a.net",
      displayName: "Hoster A, new servers",
      domains: ["hoster-a.net", "hoster-a.org"],
      incoming: [{ type: "imap", hostname: "imap2.hoster-a.net", port: 143, socketType: "STARTTLS" }],
    });
    expect(await store.putProviders([replaced])).toEqual({ created: [], replaced: ["hoster-a.net"] });
    expect((await store.resolve("hoster-a.org"))?.provider.incoming[0]?.hostname).toBe("imap2.hoster-a.net");
    expect(await store.resolve("shop.hosted.hoster-a.net")).toBeUndefined();
    expect((await store.listDomains({ provider: "hoster-a.net" })).items.map((d) => d.domain)).toEqual([
      "hoster-a.net",
      "hoster-a.org",
    ]);

    await store.deleteProvider("hoster-a.net");
    expect(await store.getProvider("hoster-a.net")).toBeUndefined();
    expect(await store.resolve("hoster-a.net")).toBeUndefined();
    expect((await store.listDomains({ provider: "hoster-a.net" })).items).toEqual([]);
    expect((await writeError(store.deleteProvider("hoster-a.net"))).kind).toBe("not-found");
  });

  it("assigns domains to providers of any source, aliases and wildcards: exact → alias → wildcard", async () => {
    await store.putProviders([provider({ id: "hoster-b.net", mxHosts: ["*.mx.hoster-b.net"] })]);
    // A company moving to Google Workspace: its domain → the built-in Gmail provider, by id.
    expect((await store.putDomain("Acme-B.ORG.", { provider: "googlemail.com" })).created).toBe(true);
    expect(await store.resolve("acme-b.org")).toMatchObject({
      via: "exact",
      provider: { id: "googlemail.com" },
      source: "database (provider from built-in)",
    });
    await store.putDomain("*.acme-b.org", { provider: "hoster-b.net" });
    expect(await store.resolve("eu.shop.acme-b.org")).toMatchObject({
      via: "wildcard",
      provider: { id: "hoster-b.net" },
    });
    expect((await store.resolve("acme-b.org"))?.provider.id).toBe("googlemail.com");
    await store.putDomain("old-acme-b.org", { aliasOf: "acme-b.org" });
    expect(await store.resolve("old-acme-b.org")).toMatchObject({
      via: "alias",
      aliasOf: "acme-b.org",
      provider: { id: "googlemail.com" },
    });
    // Alias of a domain only a lower source knows.
    await store.putDomain("my-gmail-b.org", { aliasOf: "gmail.com" });
    expect((await store.resolve("my-gmail-b.org"))?.provider.id).toBe("googlemail.com");
    // Repointing is a replace (200), and visible at once.
    const moved = await store.putDomain("acme-b.org", { provider: "hoster-b.net" });
    expect(moved.created).toBe(false);
    expect((await store.resolve("acme-b.org"))?.provider.id).toBe("hoster-b.net");
    // MX patterns of published providers.
    expect((await store.matchMx("mx7.mx.hoster-b.net"))?.provider.id).toBe("hoster-b.net");
    expect(await store.matchMx("mx.hoster-b.net")).toBeUndefined();
    expect(await store.hasMxHosts()).toBe(true);
  });

  it("the in-memory index, read in pages (group_concat / string_agg), holds exactly the domains table", async () => {
    await store.putProviders([
      provider({ id: "paged.example", domains: ["paged.example", "*.paged.example"] }),
    ]);
    for (const name of ["a-1.example", "a.example", "a0.example", "b.example", "z.example"])
      await store.putDomain(`${name.replace(".example", "")}.paged-customers.example`, {
        provider: "paged.example",
      });
    await store.putDomain("paged-alias.example", { aliasOf: "a.paged-customers.example" });
    const { rows } = await db.driver.execute({ sql: "SELECT domain, provider_id, alias_of FROM domains" });
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const pageRows of [1, 3, 1000]) {
      const index = await loadIndex(db.driver, () => undefined, pageRows);
      expect(index?.domains.size).toBe(rows.length);
      for (const r of rows)
        expect(index?.domains.get(String(r.domain))).toEqual(
          r.provider_id === null ? { aliasOf: r.alias_of } : r.provider_id,
        );
      for (const absent of ["paged-customers.example", "a.paged-customers.exampl", "zz.example", ""])
        expect(index?.domains.get(absent)).toBeUndefined();
    }
  });

  it("refuses bad assignments with field paths, changing nothing", async () => {
    const before = await snapshot(db.driver);
    const unknown = await writeError(store.putDomain("c.org", { provider: "no-such-provider" }));
    expect(unknown.kind).toBe("invalid");
    expect(unknown.errors.map((e) => e.path)).toEqual([["provider"]]);
    const badName = await writeError(store.putDomain("not a domain", { provider: "hoster-b.net" }));
    expect(badName.errors.map((e) => e.path)).toEqual([["domain"]]);
    const wildAlias = await writeError(store.putDomain("*.c.org", { aliasOf: "hoster-b.net" }));
    expect(wildAlias.errors.map((e) => e.path)).toEqual([["domain"]]);
    const aliasOfNothing = await writeError(store.putDomain("c.org", { aliasOf: "nothing-here.org" }));
    expect(aliasOfNothing.errors[0]?.path).toEqual(["aliasOf"]);
    expect(await snapshot(db.driver)).toEqual(before);
  });

  it("a write that conflicts is rolled back whole", async () => {
    await store.putProviders([provider({ id: "hoster-c.net", domains: ["hoster-c.net", "c-customer.org"] })]);
    await store.putDomain("c-assigned.org", { provider: "hoster-c.net" });
    const before = await snapshot(db.driver);
    // The third domain is taken: the provider row, its first two domains and its MX hosts are not written.
    const taken = await writeError(
      store.putProviders([
        provider({
          id: "hoster-d.net",
          domains: ["hoster-d.net", "d-new.org", "c-customer.org"],
          mxHosts: ["*.mx.d.net"],
        }),
      ]),
    );
    expect(taken.kind).toBe("conflict");
    expect(taken.errors).toEqual([
      { path: ["domains", 2], message: "c-customer.org is already served by provider hoster-c.net" },
    ]);
    // Two providers of one request claiming one domain.
    const twice = await writeError(
      store.putProviders([
        provider({ id: "e1.net", domains: ["e-shared.org"] }),
        provider({ id: "e2.net", domains: ["e-shared.org"] }),
      ]),
    );
    expect(twice.errors.map((e) => e.path)).toEqual([[1, "domains", 0]]);
    // A provider's own domain cannot be repointed or deleted one by one; a provider with assigned domains stays.
    expect((await writeError(store.putDomain("c-customer.org", { provider: "googlemail.com" }))).kind).toBe(
      "conflict",
    );
    expect((await writeError(store.deleteDomain("c-customer.org"))).kind).toBe("conflict");
    const inUse = await writeError(store.deleteProvider("hoster-c.net"));
    expect(inUse.kind).toBe("conflict");
    expect(inUse.errors[0]?.message).toContain("c-assigned.org");
    // An alias may not take over a provider's domain (the guard fails the transaction).
    const alias = await writeError(
      store.putProviders([provider({ id: "f.net", domains: ["f.net"] })], { "c-customer.org": "f.net" }),
    );
    expect(alias.kind).toBe("conflict");
    expect(await snapshot(db.driver)).toEqual(before);
    expect((await store.resolve("d-new.org")) ?? null).toBeNull();
  });

  it("keeps everything across a restart", async () => {
    await store.putProviders([provider({ id: "persist.net", domains: ["persist.net", "*.persist.net"] })]);
    await store.putDomain("persist-alias.org", { aliasOf: "persist.net" });
    const before = await snapshot(db.driver);
    const driver = await db.reopen();
    const again = new SqlStore(driver, { fallback: builtins });
    expect(await snapshot(driver)).toEqual(before);
    expect(await again.resolve("persist-alias.org")).toMatchObject({
      via: "alias",
      provider: { id: "persist.net" },
    });
    expect(await again.resolve("x.persist.net")).toMatchObject({ via: "wildcard" });
    store = again;
  });

  it(`${backend.concurrent} concurrent writes to different domains: none lost`, async () => {
    await store.putProviders([provider({ id: "bulk.net" })]);
    const names = Array.from({ length: backend.concurrent }, (_, i) => `customer-${i}.bulk.org`);
    const results = await Promise.all(names.map((name) => store.putDomain(name, { provider: "bulk.net" })));
    expect(results.every((r) => r.created)).toBe(true);
    const listed = [];
    let after: string | undefined;
    do {
      const page = await store.listDomains({ provider: "bulk.net", limit: 16, after });
      listed.push(...page.items.map((d) => d.domain));
      after = page.next ?? undefined;
    } while (after);
    expect(listed.sort()).toEqual([...names, "bulk.net"].sort());
    for (const name of ["customer-0.bulk.org", `customer-${backend.concurrent - 1}.bulk.org`]) {
      expect((await store.resolve(name))?.provider.id).toBe("bulk.net");
    }
  });
}

describe("SQLite file shared by processes", () => {
  it("two processes and this one write 3 × 100 domains at once into one file; none is lost", async () => {
    const path = join(dir, "shared.db");
    const database = await openSqlite(path);
    const store = new SqlStore(database);
    await store.putProviders([provider({ id: "shared.net" })]);
    const script = join(REPO_ROOT, "test/helpers/write-domains.ts");
    const child = (prefix: string) =>
      run(process.execPath, ["--import", "tsx", script, path, prefix, "100", "shared.net"], {
        cwd: REPO_ROOT,
        timeout: 60_000,
      });
    const [a, b] = await Promise.all([
      child("proc-a"),
      child("proc-b"),
      Promise.all(
        Array.from({ length: 100 }, (_, i) => store.putDomain(`here-${i}.org`, { provider: "shared.net" })),
      ),
    ]);
    expect(a.stdout.trim()).toBe("done");
    expect(b.stdout.trim()).toBe("done");
    const page = await store.listDomains({ provider: "shared.net", limit: 10_000 });
    expect(page.items.length).toBe(301);
    for (const prefix of ["proc-a", "proc-b", "here"]) {
      expect(page.items.filter((d) => d.domain.startsWith(`${prefix}-`)).length).toBe(100);
    }
    database.close();
  });
});
