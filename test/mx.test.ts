/**
 * Resolution by MX against a real DNS server on 127.0.0.1 (dns2, UDP): the node:dns resolver,
 * the DNS-over-HTTPS JSON resolver (through a loopback DoH front end to the same server), the
 * cache with TTLs, NXDOMAIN, no data, timeouts, and the whole server answering by MX.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import dns2 from "dns2";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { program } from "../src/cli/main.ts";
import { dohMxResolver } from "../src/dns/doh.ts";
import { nodeMxResolver } from "../src/node/mx-resolver.ts";
import type { RunningServer } from "../src/node/server.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { type Provider, parseProvider } from "../src/providers/model.ts";
import { MxStore } from "../src/providers/mx.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { startDnsServer, type TestDnsServer } from "./helpers/mx-dns-server.ts";
import { fetchBounded, startTestServer } from "./helpers/server.ts";
import { tempFile } from "./helpers/shared.ts";

const HOSTER = (() => {
  const r = parseProvider({
    id: "hoster.net",
    displayName: "Hoster Mail",
    domains: ["hoster.net"],
    mxHosts: ["*.mx.hoster.net", "mail.hoster-legacy.net"],
    incoming: [{ type: "imap", hostname: "imap.hoster.net", port: 993, socketType: "SSL" }],
    outgoing: [{ hostname: "smtp.hoster.net", port: 465, socketType: "SSL" }],
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
})();

const entries = (providers: Provider[]) => providers.map((provider) => ({ provider, source: "test" }));

let dns: TestDnsServer;
beforeAll(async () => {
  dns = await startDnsServer({
    negativeTtl: 600,
    mx: {
      "customer-one.org": [
        { exchange: "backup.other-relay.net", priority: 20, ttl: 120 },
        { exchange: "mx1.mx.hoster.net", priority: 10, ttl: 120 },
      ],
      "customer-legacy.org": [{ exchange: "mail.hoster-legacy.net", priority: 5, ttl: 3600 }],
      "workspace-company.org": [{ exchange: "aspmx.l.google.com", priority: 1, ttl: 300 }],
      "elsewhere.org": [{ exchange: "mail.unrelated-host.net", priority: 10, ttl: 300 }],
      "nomx.org": [],
      "ttl-check.org": [{ exchange: "mx2.mx.hoster.net", priority: 10, ttl: 120 }],
      "burst.org": [{ exchange: "mx3.mx.hoster.net", priority: 10, ttl: 120 }],
      "served-by-server.org": [{ exchange: "mx9.mx.hoster.net", priority: 10, ttl: 120 }],
    },
    silent: ["slow.org", "slow-too.org", "slow-server.org"],
  });
});
afterAll(() => dns.close());

const resolver = () => nodeMxResolver({ servers: [dns.address] });
const signal = () => new AbortController().signal;

describe("node:dns resolver against the test server", () => {
  it("returns MX records with their preference", async () => {
    const answer = await resolver()("customer-one.org", signal());
    expect(answer.kind).toBe("records");
    if (answer.kind !== "records") return;
    expect(answer.records.map((r) => [r.priority, r.exchange]).sort()).toEqual([
      [10, "mx1.mx.hoster.net"],
      [20, "backup.other-relay.net"],
    ]);
    // node:dns gives no TTL for MX: the fixed cache time is reported (documented).
    expect(answer.records[0]?.ttl).toBe(300);
  });

  it("tells NXDOMAIN from no data", async () => {
    expect((await resolver()("gone.org", signal())).kind).toBe("nxdomain");
    expect(await resolver()("nomx.org", signal())).toMatchObject({ kind: "records", records: [] });
  });
});

describe("MxStore", () => {
  it("answers an unknown domain whose MX host a provider declares (lowest preference first)", async () => {
    const store = new MxStore(new MemoryStore(entries([HOSTER, ...BUILTIN_PROVIDERS])), resolver());
    const hit = await store.resolve("customer-one.org");
    expect(hit).toMatchObject({
      via: "mx",
      domain: "customer-one.org",
      mxHost: "mx1.mx.hoster.net",
      source: "test",
    });
    expect(hit?.provider.id).toBe("hoster.net");
    // An exact mxHosts entry matches too.
    expect((await store.resolve("customer-legacy.org"))?.provider.id).toBe("hoster.net");
    // Google Workspace: MX aspmx.l.google.com matches the built-in provider's *.google.com.
    const workspace = await store.resolve("workspace-company.org");
    expect(workspace?.provider.id).toBe("googlemail.com");
    expect(workspace?.mxHost).toBe("aspmx.l.google.com");
    // An MX nobody declares, NXDOMAIN and no MX: unknown.
    expect(await store.resolve("elsewhere.org")).toBeUndefined();
    expect(await store.resolve("gone.org")).toBeUndefined();
    expect(await store.resolve("nomx.org")).toBeUndefined();
  });

  it("asks DNS only for domains no store knows, and only when a provider declares mxHosts", async () => {
    const before = dns.queries.get("hoster.net") ?? 0;
    const store = new MxStore(new MemoryStore(entries([HOSTER])), resolver());
    expect((await store.resolve("hoster.net"))?.via).toBe("exact");
    expect(dns.queries.get("hoster.net") ?? 0).toBe(before);
    const noMx = new MxStore(new MemoryStore(entries([{ ...HOSTER, mxHosts: [] }])), resolver());
    const count = dns.queries.get("elsewhere.org") ?? 0;
    expect(await noMx.resolve("elsewhere.org")).toBeUndefined();
    expect(dns.queries.get("elsewhere.org") ?? 0).toBe(count);
    // Special-use names (RFC 6761) never leave the machine.
    const special = new MxStore(new MemoryStore(entries([HOSTER])), async () => {
      throw new Error("must not be asked");
    });
    expect(await special.resolve("shop.example.com")).toBeUndefined();
    expect(await special.resolve("mail.test")).toBeUndefined();
  });

  it("caches answers for their TTL (clamped), negative answers and failures too", async () => {
    let now = 1_000_000;
    const store = new MxStore(new MemoryStore(entries([HOSTER])), resolver(), { now: () => now });
    const count = (name: string) => dns.queries.get(name) ?? 0;
    expect((await store.resolve("ttl-check.org"))?.provider.id).toBe("hoster.net");
    const first = count("ttl-check.org");
    // The Node resolver reports 300 s (no TTL from node:dns).
    now += 299_000;
    await store.resolve("ttl-check.org");
    expect(count("ttl-check.org")).toBe(first);
    now += 2_000;
    await store.resolve("ttl-check.org");
    expect(count("ttl-check.org")).toBe(first + 1);
    // NXDOMAIN is cached (negative TTL 300 s for node:dns).
    await store.resolve("gone-cached.org");
    const nx = count("gone-cached.org");
    await store.resolve("gone-cached.org");
    expect(count("gone-cached.org")).toBe(nx);
  });

  it("shares one query among concurrent lookups of a domain", async () => {
    const store = new MxStore(new MemoryStore(entries([HOSTER])), resolver());
    const answers = await Promise.all(Array.from({ length: 20 }, () => store.resolve("burst.org")));
    expect(answers.every((a) => a?.provider.id === "hoster.net")).toBe(true);
    expect(dns.queries.get("burst.org")).toBe(1);
  });

  it("a server that never answers gives 'unknown' within the 1.5 s bound, and is not asked again at once", async () => {
    const store = new MxStore(new MemoryStore(entries([HOSTER])), resolver());
    const started = performance.now();
    expect(await store.resolve("slow.org")).toBeUndefined();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(2500);
    const asked = dns.queries.get("slow.org") ?? 0;
    expect(asked).toBeGreaterThan(0);
    const again = performance.now();
    expect(await store.resolve("slow.org")).toBeUndefined();
    expect(performance.now() - again).toBeLessThan(100);
    expect(dns.queries.get("slow.org")).toBe(asked);
  });
});

describe("DNS-over-HTTPS JSON resolver", () => {
  let doh: Server;
  let url: string;
  let hits = 0;
  beforeAll(async () => {
    // A DoH JSON front end (the Cloudflare/Google API) to the test DNS server, on loopback.
    const ask = dns2.UDPClient({ dns: "127.0.0.1", port: dns.port });
    doh = createServer(async (req, res) => {
      hits++;
      const query = new URL(req.url ?? "/", "http://x").searchParams;
      const name = query.get("name") ?? "";
      if (name === "broken.org") {
        res.writeHead(502).end();
        return;
      }
      if (name === "slow-too.org") return; // never answers
      const answer = await ask(name, query.get("type") ?? "MX");
      const body = {
        Status: answer.header.rcode,
        Question: [{ name, type: 15 }],
        Answer: answer.answers.map((a) => ({
          name: a.name,
          type: a.type,
          TTL: a.ttl,
          data: `${a.priority} ${a.exchange}.`,
        })),
        Authority: answer.authorities.map((a) => ({ name: a.name, type: a.type, TTL: a.ttl, data: "…" })),
      };
      res.writeHead(200, { "Content-Type": "application/dns-json" }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => doh.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(doh.address() as AddressInfo).port}/dns-query`;
  });
  afterAll(() => {
    doh.closeAllConnections();
    return new Promise<void>((resolve) => doh.close(() => resolve()));
  });

  it("reads records with their TTLs, NXDOMAIN with the SOA TTL, and HTTP errors as failures", async () => {
    const doQuery = dohMxResolver({ url });
    const answer = await doQuery("customer-one.org", signal());
    expect(answer).toEqual({
      kind: "records",
      negativeTtl: undefined,
      records: [
        { exchange: "backup.other-relay.net", priority: 20, ttl: 120 },
        { exchange: "mx1.mx.hoster.net", priority: 10, ttl: 120 },
      ],
    });
    expect(await doQuery("gone.org", signal())).toEqual({ kind: "nxdomain", negativeTtl: 600 });
    expect(await doQuery("broken.org", signal())).toMatchObject({ kind: "failure" });
  });

  it("MxStore caches DoH answers for the record TTL and bounds a hung DoH server", async () => {
    let now = 5_000_000;
    const store = new MxStore(new MemoryStore(entries([HOSTER])), dohMxResolver({ url }), {
      now: () => now,
      timeoutMs: 300,
    });
    const start = hits;
    expect((await store.resolve("customer-one.org"))?.mxHost).toBe("mx1.mx.hoster.net");
    now += 119_000;
    await store.resolve("customer-one.org");
    expect(hits).toBe(start + 1);
    now += 2_000; // past the 120 s TTL
    await store.resolve("customer-one.org");
    expect(hits).toBe(start + 2);
    const t = performance.now();
    expect(await store.resolve("slow-too.org")).toBeUndefined();
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

describe("the server answers by MX", () => {
  let server: RunningServer;
  beforeAll(async () => {
    const settings = tempFile(
      "hoster.json",
      JSON.stringify({ providers: [{ ...HOSTER, domains: ["hoster.net"] }] }),
    );
    server = await startTestServer({
      configFiles: [settings],
      mxResolver: nodeMxResolver({ servers: [dns.address] }),
    });
  });
  afterAll(() => server.close());

  it("autoconfig for a customer domain that points its MX at the hoster", async () => {
    const res = await fetchBounded(
      `${server.url}/mail/config-v1.1.xml?emailaddress=${encodeURIComponent("jane@served-by-server.org")}`,
    );
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toContain("<hostname>imap.hoster.net</hostname>");
    expect(xml).toContain("<domain>served-by-server.org</domain>");
  });

  it("NXDOMAIN and a DNS timeout give the normal 404", async () => {
    const gone = await fetchBounded(`${server.url}/v1.1/gone-too.org`);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toBe("No settings for gone-too.org.\n");
    const t = performance.now();
    const slow = await fetchBounded(`${server.url}/v1.1/slow-server.org`);
    expect(slow.status).toBe(404);
    expect(performance.now() - t).toBeLessThan(2500);
  });
});

describe("mailconf check", () => {
  it("says which MX host matched, asking the DNS server given with --dns-server", async () => {
    const settings = tempFile("hoster-check.json", JSON.stringify({ providers: [HOSTER] }));
    const lines: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...a) => void lines.push(a.join(" ")));
    try {
      await program().parseAsync([
        "node",
        "mailconf",
        "check",
        "jane@customer-legacy.org",
        "--config",
        settings,
        "--dns-server",
        dns.address,
        "--db",
        tempFile("check.db", ""),
      ]);
    } finally {
      log.mockRestore();
      process.exitCode = undefined;
    }
    expect(lines.slice(0, 2)).toEqual([
      "jane@customer-legacy.org: Hoster Mail (provider hoster.net)",
      `  settings from ${settings}, matched by MX host mail.hoster-legacy.net`,
    ]);
  });
});
