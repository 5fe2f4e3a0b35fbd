/**
 * The documented order of resolution (docs/settings.md "How a domain is resolved"): published settings (SQL)
 * → settings files → ISPDB folder → built-in providers, each answering exact → alias → wildcard;
 * then resolution by MX over all of them. Here through the Node entry (files on disk, SQLite, MX
 * over a DNS server on 127.0.0.1), and the composition root's own suite (test/helpers/precedence.ts)
 * with SQLite; test/workers/precedence.test.ts runs that suite inside workerd with D1.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeMxResolver } from "../src/node/mx-resolver.ts";
import { loadSettings } from "../src/node/server.ts";
import { openSqlite } from "../src/node/sqlite.ts";
import { startDnsServer, type TestDnsServer } from "./helpers/mx-dns-server.ts";
import { precedenceSuite } from "./helpers/precedence.ts";
import { provider } from "./helpers/providers.ts";

const dir = mkdtempSync(join(tmpdir(), "mailconf-precedence-"));
const db = join(dir, "published.db");
const settingsFile = join(dir, "settings.json");
const ispdb = join(dir, "ispdb");

let dns: TestDnsServer;
beforeAll(async () => {
  dns = await startDnsServer({
    mx: {
      "file-layer-too.org": [{ exchange: "mx1.mx.sql-layer.net", priority: 10, ttl: 300 }],
      "nobody-knows.org": [{ exchange: "mx1.mx.sql-layer.net", priority: 10, ttl: 300 }],
      "file-mx.org": [{ exchange: "in.file-mx-hosts.net", priority: 10, ttl: 300 }],
    },
  });
  writeFileSync(
    settingsFile,
    JSON.stringify({
      providers: [
        provider({ id: "file-layer.net", domains: ["gmail.com", "shop.layered.org", "file-layer-too.org"] }),
        provider({ id: "file-mx.net", domains: ["file-mx.net"], mxHosts: ["in.file-mx-hosts.net"] }),
      ],
      aliases: { "file-alias.org": "gmail.com" },
    }),
  );
  mkdirSync(ispdb);
  writeFileSync(
    join(ispdb, "gmail.com.xml"),
    `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="gmail.com">
    <domain>gmail.com</domain>
    <displayName>ISPDB layer</displayName>
    <incomingServer type="imap"><hostname>imap.ispdb-layer.net</hostname><port>993</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>
    <outgoingServer type="smtp"><hostname>smtp.ispdb-layer.net</hostname><port>465</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></outgoingServer>
  </emailProvider>
</clientConfig>`,
  );
  const first = await loadSettings({ db });
  await first.sql?.putProviders([
    provider({
      id: "sql-layer.net",
      domains: ["gmail.com", "*.layered.org"],
      mxHosts: ["*.mx.sql-layer.net"],
    }),
  ]);
  first.close();
});
afterAll(() => dns.close());

const everything = () =>
  loadSettings({
    db,
    configFiles: [settingsFile],
    ispdb,
    mxResolver: nodeMxResolver({ servers: [dns.address] }),
  });

describe("order of precedence", () => {
  it("published → settings file → ISPDB folder → built-in, for the same domain", async () => {
    const all = await everything();
    const hostOf = async (loaded: { store: { resolve(d: string): Promise<unknown> } }) => {
      const hit = (await loaded.store.resolve("gmail.com")) as {
        source: string;
        provider: { incoming: { hostname: string }[] };
      };
      return [hit.source, hit.provider.incoming[0]?.hostname];
    };
    expect(await hostOf(all)).toEqual(["database", "imap.sql-layer.net"]);
    await all.sql?.deleteProvider("sql-layer.net");
    expect(await hostOf(all)).toEqual([settingsFile, "imap.file-layer.net"]);
    all.close();
    const noFile = await loadSettings({ db, ispdb });
    expect(await hostOf(noFile)).toEqual(["ispdb:gmail.com.xml", "imap.ispdb-layer.net"]);
    noFile.close();
    const builtinOnly = await loadSettings({ db });
    expect(await hostOf(builtinOnly)).toEqual(["built-in", "imap.gmail.com"]);
    // Published again: first again.
    await builtinOnly.sql?.putProviders([
      provider({
        id: "sql-layer.net",
        domains: ["gmail.com", "*.layered.org"],
        mxHosts: ["*.mx.sql-layer.net"],
      }),
    ]);
    builtinOnly.close();
  });

  it("a source answers with its own exact, alias or wildcard entry before the next source is asked", async () => {
    const all = await everything();
    // The published wildcard *.layered.org wins over the settings file's exact shop.layered.org.
    expect(await all.store.resolve("shop.layered.org")).toMatchObject({
      via: "wildcard",
      source: "database",
      provider: { id: "sql-layer.net" },
    });
    // The settings file's alias of gmail.com follows its own file.
    expect(await all.store.resolve("file-alias.org")).toMatchObject({
      via: "alias",
      aliasOf: "gmail.com",
      provider: { id: "file-layer.net" },
    });
    all.close();
  });

  it("MX comes last: only for domains no source knows, over every source's mxHosts", async () => {
    const all = await everything();
    const asked = () => dns.queries.get("file-layer-too.org") ?? 0;
    const before = asked();
    expect(await all.store.resolve("file-layer-too.org")).toMatchObject({
      via: "exact",
      source: settingsFile,
    });
    expect(asked()).toBe(before);
    expect(await all.store.resolve("nobody-knows.org")).toMatchObject({
      via: "mx",
      mxHost: "mx1.mx.sql-layer.net",
      provider: { id: "sql-layer.net" },
      source: "database",
    });
    expect(await all.store.resolve("file-mx.org")).toMatchObject({
      via: "mx",
      provider: { id: "file-mx.net" },
      source: settingsFile,
    });
    all.close();
  });
});

let fresh = 0;
precedenceSuite({ name: "Node, SQLite", driver: () => openSqlite(join(dir, `composed-${++fresh}.db`)) });
