/**
 * The order of precedence of the composition root (composeStore in src/compose.ts), as one suite
 * that runs on both runtimes: test/precedence.test.ts on Node (SQLite through libsql) and
 * test/workers/precedence.test.ts inside workerd (D1). Published settings (SQL) → settings files →
 * ISPDB providers → built-in providers, each answering exact → alias → wildcard; then resolution by
 * MX over all of them. Runtime-neutral (it runs inside workerd): no node: imports.
 */
import { describe, expect, it } from "vitest";
import { type ComposedStore, composeStore } from "../../src/compose.ts";
import { BUILTIN_PROVIDERS } from "../../src/providers/builtin.ts";
import { parseIspdb } from "../../src/providers/ispdb.ts";
import type { MxAnswer, MxResolver } from "../../src/providers/mx.ts";
import type { SqlDriver } from "../../src/store/sql.ts";
import { provider } from "./providers.ts";

const ISPDB_GMAIL = `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="gmail.com">
    <domain>gmail.com</domain>
    <displayName>ISPDB layer</displayName>
    <incomingServer type="imap"><hostname>imap.ispdb-layer.net</hostname><port>993</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>
    <outgoingServer type="smtp"><hostname>smtp.ispdb-layer.net</hostname><port>465</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></outgoingServer>
  </emailProvider>
</clientConfig>`;

const SQL_PROVIDER = provider({
  id: "sql-layer.net",
  domains: ["gmail.com", "*.layered.org"],
  mxHosts: ["*.mx.sql-layer.net"],
});

const FILE = {
  source: "settings.yaml",
  settings: {
    providers: [
      provider({ id: "file-layer.net", domains: ["gmail.com", "shop.layered.org", "file-layer-too.org"] }),
      provider({ id: "file-mx.net", domains: ["file-mx.net"], mxHosts: ["in.file-mx-hosts.net"] }),
    ],
    aliases: { "file-alias.org": "gmail.com" },
  },
};

/** MX records of the test domains, and how often each was asked. */
function fakeMx(): { resolver: MxResolver; asked: Map<string, number> } {
  const records: Record<string, string> = {
    "file-layer-too.org": "mx1.mx.sql-layer.net",
    "nobody-knows.org": "mx1.mx.sql-layer.net",
    "file-mx.org": "in.file-mx-hosts.net",
  };
  const asked = new Map<string, number>();
  const resolver: MxResolver = async (domain): Promise<MxAnswer> => {
    asked.set(domain, (asked.get(domain) ?? 0) + 1);
    const exchange = records[domain];
    return exchange
      ? { kind: "records", records: [{ exchange, priority: 10, ttl: 300 }] }
      : { kind: "nxdomain" };
  };
  return { resolver, asked };
}

function ispdbEntries() {
  const parsed = parseIspdb(ISPDB_GMAIL, "gmail.com.xml");
  if (!parsed.ok) throw new Error(JSON.stringify(parsed));
  return [{ provider: parsed.provider, source: "ispdb:gmail.com.xml" }];
}

const hostOf = async (composed: ComposedStore, domain = "gmail.com") => {
  const hit = await composed.store.resolve(domain);
  return [hit?.source, hit?.provider.incoming[0]?.hostname];
};

/**
 * Defines the suite.
 * @param runtime its name in the test titles, and a SQL driver with the migrations applied and no
 *   rows (the same driver each time it is called within one run is fine: the suite writes its own rows)
 */
export function precedenceSuite(runtime: { name: string; driver: () => Promise<SqlDriver> }): void {
  describe(`order of precedence of composeStore (${runtime.name})`, () => {
    const all = async () => {
      const mx = fakeMx();
      const sql = await runtime.driver();
      const composed = composeStore({
        sql,
        files: [FILE],
        ispdb: { source: "ispdb", entries: ispdbEntries() },
        builtin: BUILTIN_PROVIDERS,
        mx: { resolver: mx.resolver },
      });
      await composed.sql?.putProviders([SQL_PROVIDER]);
      return { composed, mx, sql };
    };

    it("published → settings file → ISPDB → built-in, for the same domain", async () => {
      const { composed, sql } = await all();
      expect(await hostOf(composed)).toEqual(["database", "imap.sql-layer.net"]);
      await composed.sql?.deleteProvider("sql-layer.net");
      expect(await hostOf(composed)).toEqual(["settings.yaml", "imap.file-layer.net"]);
      const noFile = composeStore({
        sql,
        ispdb: { source: "ispdb", entries: ispdbEntries() },
        builtin: BUILTIN_PROVIDERS,
      });
      expect(await hostOf(noFile)).toEqual(["ispdb:gmail.com.xml", "imap.ispdb-layer.net"]);
      expect(await hostOf(composeStore({ sql, builtin: BUILTIN_PROVIDERS }))).toEqual([
        "built-in",
        "imap.gmail.com",
      ]);
      expect(await composeStore({ sql }).store.resolve("gmail.com")).toBeUndefined();
    });

    it("a layer answers with its own exact, alias or wildcard entry before the next layer is asked", async () => {
      const { composed } = await all();
      // The published wildcard *.layered.org wins over the settings file's exact shop.layered.org.
      expect(await composed.store.resolve("shop.layered.org")).toMatchObject({
        via: "wildcard",
        source: "database",
        provider: { id: "sql-layer.net" },
      });
      // The settings file's alias of gmail.com follows its own file, not the published gmail.com.
      expect(await composed.store.resolve("file-alias.org")).toMatchObject({
        via: "alias",
        aliasOf: "gmail.com",
        provider: { id: "file-layer.net" },
      });
    });

    it("MX comes last: only for domains no layer knows, over every layer's mxHosts", async () => {
      const { composed, mx } = await all();
      expect(await composed.store.resolve("file-layer-too.org")).toMatchObject({
        via: "exact",
        source: "settings.yaml",
      });
      expect(mx.asked.get("file-layer-too.org")).toBeUndefined();
      expect(await composed.store.resolve("nobody-knows.org")).toMatchObject({
        via: "mx",
        mxHost: "mx1.mx.sql-layer.net",
        provider: { id: "sql-layer.net" },
        source: "database",
      });
      expect(await composed.store.resolve("file-mx.org")).toMatchObject({
        via: "mx",
        provider: { id: "file-mx.net" },
        source: "settings.yaml",
      });
      expect(await composed.store.resolve("no-such-domain.org")).toBeUndefined();
      expect(mx.asked.get("no-such-domain.org")).toBe(1);
      // Without a resolver, DNS is never asked.
      expect(await composed.layers.resolve("nobody-knows.org")).toBeUndefined();
    });

    it("reports what each layer holds", async () => {
      const { composed } = await all();
      expect(composed.report).toEqual([
        "settings: settings.yaml: 2 provider(s)",
        "ispdb: ispdb: 1 provider(s) loaded, 0 skipped",
        `built-in: ${BUILTIN_PROVIDERS.length} provider(s)`,
        "resolution by MX: on (for domains no source knows, when a provider declares mxHosts)",
      ]);
    });
  });
}
