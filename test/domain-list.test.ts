/**
 * No customer list in answers (issue 11): autoconfig names the domain asked for, and the provider's
 * other domains only when its list is public (`listDomains`: built-ins and ISPDB files). Never
 * assigned or wildcard domains. The same for `/v1.1/<domain>`.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { openSqlite } from "../src/node/sqlite.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { type ProviderInput, ProviderSchema } from "../src/providers/model.ts";
import { LayeredStore, MemoryStore } from "../src/providers/store.ts";
import { SqlStore } from "../src/store/sql-store.ts";

const parser = new XMLParser({ isArray: (n) => n === "domain" });
const domainsOf = (xml: string) =>
  ((parser.parse(xml) as { clientConfig: { emailProvider: { domain: string[] } } }).clientConfig.emailProvider
    .domain ?? []) as string[];

const customers = Array.from({ length: 1000 }, (_, i) => `customer${i}.example`);
const HOSTER: ProviderInput = {
  id: "shared-hosting-eu",
  displayName: "Shared Hosting EU",
  domains: ["hoster.example.net", "*.hosted.example.net", ...customers],
  incoming: [{ type: "imap", hostname: "imap.hoster.example.net", port: 993, socketType: "SSL" }],
  outgoing: [{ hostname: "smtp.hoster.example.net", port: 465, socketType: "SSL" }],
};
const builtins = new MemoryStore(BUILTIN_PROVIDERS.map((provider) => ({ provider, source: "built-in" })));

async function answer(app: ReturnType<typeof createApp>, path: string): Promise<string[]> {
  const res = await app.request(path);
  expect(res.status).toBe(200);
  return domainsOf(await res.text());
}

describe("autoconfig lists no customer domains", () => {
  it("a settings-file provider with 1,000 customer domains answers with exactly the one asked for", async () => {
    const provider = ProviderSchema.parse(HOSTER);
    expect(provider.listDomains).toBe(false);
    const app = createApp({
      store: new LayeredStore([new MemoryStore([{ provider, source: "hoster.yaml" }]), builtins]),
      publicUrl: "https://autoconfig.test.example",
    });
    expect(await answer(app, "/mail/config-v1.1.xml?emailaddress=jane%40customer517.example")).toEqual([
      "customer517.example",
    ]);
    expect(await answer(app, "/v1.1/customer3.example")).toEqual(["customer3.example"]);
    expect(await answer(app, "/v1.1/shop.hosted.example.net")).toEqual(["shop.hosted.example.net"]);
  });

  it("published providers and assigned domains: the one domain, even with listDomains on", async () => {
    const db = await openSqlite(join(mkdtempSync(join(tmpdir(), "mailconf-list-")), "store.db"));
    try {
      const sql = new SqlStore(db, { fallback: builtins });
      await sql.putProviders([
        ProviderSchema.parse({ ...HOSTER, domains: ["hoster.example.net"], listDomains: true }),
      ]);
      await sql.putDomain("assigned.example.org", { provider: "shared-hosting-eu" });
      await sql.putDomain("other.example.org", { provider: "shared-hosting-eu" });
      await sql.putDomain("*.wild.example.org", { provider: "shared-hosting-eu" });
      const app = createApp({
        store: new LayeredStore([sql, builtins]),
        publicUrl: "https://a.test.example",
      });
      expect(await answer(app, "/v1.1/assigned.example.org")).toEqual([
        "assigned.example.org",
        "hoster.example.net",
      ]);
      expect(await answer(app, "/v1.1/a.wild.example.org")).toEqual([
        "a.wild.example.org",
        "hoster.example.net",
      ]);
      // Published without listDomains (the default): only the domain asked for.
      await sql.putProviders([
        ProviderSchema.parse({ ...HOSTER, domains: ["hoster.example.net", "second.example.net"] }),
      ]);
      expect(await answer(app, "/v1.1/second.example.net")).toEqual(["second.example.net"]);
      expect(await answer(app, "/v1.1/assigned.example.org")).toEqual(["assigned.example.org"]);
    } finally {
      db.close();
    }
  });

  it("built-in providers keep their public lists (Thunderbird's ISPDB has them too)", async () => {
    const app = createApp({ store: builtins, publicUrl: "https://autoconfig.test.example" });
    const icloud = await answer(app, "/mail/config-v1.1.xml?emailaddress=jane%40me.com");
    expect(icloud).toEqual(["me.com", "icloud.com", "mac.com"]);
  });
});
