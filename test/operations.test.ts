/**
 * Operating the server (issue 13): the hostile-input battery's defects, rate limits, trusted
 * proxies, /readyz, the access log, metrics and the pipelining cap. In-process `app.request()` where
 * the app decides; the real Node server where node:http, sockets or a listener are what is tested.
 */
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { parseAutodiscoverRequest } from "../src/handlers/autodiscover-request.ts";
import type { Operations } from "../src/handlers/operations.ts";
import { formatAccessLine, rateLimitedLog } from "../src/node/observability.ts";
import { compileTrustProxy, readForwarded } from "../src/node/proxy.ts";
import { memoryRateLimiter } from "../src/node/rate-limit.ts";
import { type RunningServer, storeReadable } from "../src/node/server.ts";
import { openSqlite } from "../src/node/sqlite.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { parseEmailAddress } from "../src/providers/domain.ts";
import { parseProvider } from "../src/providers/model.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { fetchBounded, rawRequest, startTestServer } from "./helpers/server.ts";

const store = new MemoryStore(BUILTIN_PROVIDERS.map((provider) => ({ provider, source: "built-in" })));

/** An app whose every request comes from `client`, with `limiter` and a list of records. */
function appWith(ops: Partial<Operations>, client = "192.0.2.7") {
  const records: Parameters<NonNullable<Operations["record"]>>[0][] = [];
  const app = createApp({
    store,
    publicUrl: "https://autoconfig.test.example",
    ops: { clientAddress: () => client, record: (r) => records.push(r), ...ops },
  });
  return { app, records };
}

const autodiscoverBody = (address: string, attributes = "") => `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"${attributes}>
  <Request>
    <EMailAddress>${address}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`;

describe("hostile-input defects", () => {
  it("an address with U+FFFE is refused by every format alike (the profile used to drop it, the JSON to keep it)", async () => {
    const address = "ja\uFFFEne@example.com";
    expect(parseEmailAddress(address)).toBeUndefined();
    expect(parseEmailAddress("jane\u{1F600}@example.com")?.localPart).toBe("jane\u{1F600}");
    const { app } = appWith({});
    const q = encodeURIComponent(address);
    expect((await app.request(`/api/v1/settings?email=${q}`)).status).toBe(400);
    expect((await app.request(`/mobileconfig?email=${q}`)).status).toBe(400);
    expect((await app.request(`/mail/config-v1.1.xml?emailaddress=${q}`)).status).toBe(400);
    const pox = await app.request("/autodiscover/autodiscover.xml", {
      method: "POST",
      body: autodiscoverBody(address),
    });
    expect(await pox.text()).toContain("<ErrorCode>600</ErrorCode>");
  });

  it("a settings body nested 1,806 levels deep is a field error, not a stack overflow", () => {
    let body: unknown = "x";
    for (let i = 0; i < 1806; i++) body = { a: body };
    const result = parseProvider({ id: "deep.example", notes: [body] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.message).toBe("nests deeper than 32 levels");
    expect(result.errors[0]?.path.slice(0, 3)).toEqual(["notes", 0, "a"]);
  });

  it("an Autodiscover body with 1,900 attributes is refused as error 600 before any quadratic work", () => {
    const many = Array.from({ length: 1900 }, (_, i) => ` a${i}="1"`).join("");
    const parsed = parseAutodiscoverRequest(
      new TextEncoder().encode(autodiscoverBody("jane@example.com", many)),
    );
    expect(parsed).toEqual({ ok: false, reason: "malformed" });
    const declarations = Array.from({ length: 500 }, (_, i) => ` xmlns:p${i}="urn:x:${i}"`).join("");
    expect(
      parseAutodiscoverRequest(new TextEncoder().encode(autodiscoverBody("j@example.com", declarations))).ok,
    ).toBe(false);
    const siblings = autodiscoverBody("jane@example.com").replace(
      "<Request>",
      `${"<x/>".repeat(200)}<Request>`,
    );
    expect(parseAutodiscoverRequest(new TextEncoder().encode(siblings)).ok).toBe(false);
    // A real request with a few attributes is still read.
    const real = parseAutodiscoverRequest(
      new TextEncoder().encode(
        autodiscoverBody("jane@example.com", ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'),
      ),
    );
    expect(real.ok).toBe(true);
  });
});

describe("rate limits (in-process)", () => {
  it("over the per-client limit: 429 with Retry-After; another client and /healthz still pass", async () => {
    const limiter = memoryRateLimiter(10);
    const a = appWith({ rateLimiter: limiter }, "192.0.2.1");
    const b = appWith({ rateLimiter: limiter }, "192.0.2.2");
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await a.app.request("/v1.1/gmail.com")).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
    const refused = await a.app.request("/v1.1/gmail.com");
    expect(refused.status).toBe(429);
    const retry = Number(refused.headers.get("retry-after"));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect((await a.app.request("/healthz")).status).toBe(200);
    expect((await b.app.request("/v1.1/gmail.com")).status).toBe(200);
    expect(a.records.at(-2)).toMatchObject({ status: 429, limited: "request", route: "(rate-limited)" });
  });

  it("expensive routes get a fifth of the limit: the third profile of a limit of 10 is refused", async () => {
    const { app } = appWith({ rateLimiter: memoryRateLimiter(10) });
    const profile = () => app.request("/mobileconfig?email=jane@gmail.com");
    expect((await profile()).status).toBe(200);
    expect((await profile()).status).toBe(200);
    expect((await profile()).status).toBe(429);
    // Cheap routes are still within their own limit.
    expect((await app.request("/v1.1/gmail.com")).status).toBe(200);
  });

  it("unknown-domain lookups count as failures: over a tenth of the limit, the client is refused", async () => {
    const { app } = appWith({ rateLimiter: memoryRateLimiter(20) });
    expect((await app.request("/v1.1/unknown-1.example")).status).toBe(404);
    expect((await app.request("/v1.1/unknown-2.example")).status).toBe(404);
    expect((await app.request("/v1.1/unknown-3.example")).status).toBe(429);
    expect((await app.request("/v1.1/gmail.com")).status).toBe(429);
  });

  it("known lookups are not failures", async () => {
    const { app } = appWith({ rateLimiter: memoryRateLimiter(20) });
    for (let i = 0; i < 5; i++) expect((await app.request("/v1.1/gmail.com")).status).toBe(200);
  });
});

describe("access log and records", () => {
  it("one record per request: method, route pattern, status, client, mail domain only", async () => {
    const { app, records } = appWith({});
    await app.request("/mail/config-v1.1.xml?emailaddress=jane.secret@gmail.com");
    await app.request("/autodiscover/autodiscover.xml", {
      method: "POST",
      body: autodiscoverBody("jane.secret@unknown.example"),
    });
    await app.request("/no/such/path");
    expect(records.map(({ durationMs: _, ...r }) => r)).toEqual([
      {
        method: "GET",
        route: "/mail/config-v1.1.xml",
        status: 200,
        client: "192.0.2.7",
        domain: "gmail.com",
        known: true,
        limited: undefined,
      },
      {
        method: "POST",
        route: "/autodiscover/autodiscover.xml",
        status: 200,
        client: "192.0.2.7",
        domain: "unknown.example",
        known: false,
        limited: undefined,
      },
      {
        method: "GET",
        route: "(none)",
        status: 404,
        client: "192.0.2.7",
        domain: undefined,
        known: undefined,
        limited: undefined,
      },
    ]);
    const line = formatAccessLine(records[0] as never, "text", new Date("2026-12-01T10:00:00Z"));
    expect(line).toMatch(
      /^2026-12-01T10:00:00\.000Z 192\.0\.2\.7 GET \/mail\/config-v1\.1\.xml 200 [\d.]+ms gmail\.com$/,
    );
    expect(line).not.toContain("jane");
    const json = JSON.parse(formatAccessLine(records[1] as never, "json", new Date("2026-12-01T10:00:00Z")));
    expect(json).toMatchObject({
      time: "2026-12-01T10:00:00.000Z",
      client: "192.0.2.7",
      method: "POST",
      route: "/autodiscover/autodiscover.xml",
      status: 200,
      domain: "unknown.example",
    });
  });

  it("repeated warnings of one kind are rate-limited, with a count of what was suppressed", () => {
    const lines: string[] = [];
    let now = 0;
    const log = rateLimitedLog(
      (m) => lines.push(m),
      3,
      () => now,
    );
    for (let i = 0; i < 50; i++) log(`autodiscover: unknown domain for j***@random-${i}.example`);
    log("mx: lookup failed for other.example: ETIMEOUT");
    expect(lines).toHaveLength(4);
    now = 61_000;
    log("autodiscover: unknown domain for j***@again.example");
    expect(lines.slice(4)).toEqual([
      "(47 more like the next line in the last minute)",
      "autodiscover: unknown domain for j***@again.example",
    ]);
  });
});

describe("trusted proxies", () => {
  const fake = (remoteAddress: string, headers: Record<string, string>) =>
    ({ socket: { remoteAddress }, headers, connection: { remoteAddress } }) as never;

  it("honours X-Forwarded-* and Forwarded from trusted peers only, walking hops from the nearest", () => {
    const trust = compileTrustProxy(["10.0.0.0/8,127.0.0.1"]);
    expect(
      readForwarded(
        fake("10.1.2.3", {
          "x-forwarded-for": "198.51.100.9, 10.9.9.9",
          "x-forwarded-host": "autoconfig.example.com",
          "x-forwarded-proto": "https",
        }),
        trust,
      ),
    ).toEqual({ client: "198.51.100.9", host: "autoconfig.example.com", proto: "https" });
    // A forged first entry behind an untrusted hop is not believed.
    expect(
      readForwarded(fake("10.1.2.3", { "x-forwarded-for": "1.1.1.1, 203.0.113.5" }), trust)?.client,
    ).toBe("203.0.113.5");
    expect(
      readForwarded(
        fake("127.0.0.1", {
          forwarded: 'for=192.0.2.60, for="[2001:db8::1]:4711";proto=HTTPS;host=autoconfig.example.org',
        }),
        trust,
      ),
    ).toEqual({ client: "2001:db8::1", host: "autoconfig.example.org", proto: "https" });
    expect(
      readForwarded(fake("127.0.0.1", { forwarded: "for=192.0.2.60;host=autoconfig.example.net" }), trust),
    ).toEqual({ client: "192.0.2.60", host: "autoconfig.example.net", proto: undefined });
    expect(readForwarded(fake("203.0.113.1", { "x-forwarded-for": "1.1.1.1" }), trust)).toBeUndefined();
    expect(() => compileTrustProxy(["not-an-address"])).toThrow(/not-an-address/);
  });
});

describe("the real Node server", () => {
  const dir = mkdtempSync(join(tmpdir(), "mailconf-ops-"));
  let server: RunningServer;
  let proxied: RunningServer;
  const logs: string[] = [];
  const access: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      db: join(dir, "ops.db"),
      log: (m) => logs.push(m),
      accessLog: { write: (l) => access.push(l), flush: () => {} },
      metrics: { host: "127.0.0.1", port: 0 },
      maxPipelined: 16,
      adminTokens: "ops-test-token-0123456789abcdef",
    });
    proxied = await startTestServer({ trustProxy: ["127.0.0.1"] });
  });
  afterAll(async () => {
    await server?.close(1000);
    await proxied?.close(1000);
  });

  it("valid Host values such as [::ffff:127.0.0.1] and example.com: are served, /healthz included", async () => {
    for (const host of ["[::ffff:127.0.0.1]", "example.com:", "[::1]:8080", "EXAMPLE.com"]) {
      const health = await rawRequest(`${server.url}/healthz`, { headers: { host } });
      expect(health.status, host).toBe(200);
      const byHost = await rawRequest(`${server.url}/.well-known/autoconfig/mail/config-v1.1.xml`, {
        headers: { host },
      });
      expect(byHost.status, host).toBe(host.startsWith("[") ? 404 : 200);
    }
  });

  it("behind a trusted proxy, X-Forwarded-Host decides the mail domain (nginx rewrites Host)", async () => {
    const headers = { host: "127.0.0.1:8080", "x-forwarded-host": "autoconfig.gmail.com" };
    const answer = await rawRequest(`${proxied.url}/.well-known/autoconfig/mail/config-v1.1.xml`, {
      headers,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toContain("imap.gmail.com");
    // The same headers to a server that trusts no proxy: the Host as sent, an IP address, no domain.
    const direct = await rawRequest(`${server.url}/.well-known/autoconfig/mail/config-v1.1.xml`, { headers });
    expect(direct.status).toBe(404);
  });

  it("the access log has one line per request with the client address and no local part", async () => {
    access.length = 0;
    await fetchBounded(
      `${server.url}/mail/config-v1.1.xml?emailaddress=${encodeURIComponent("jane.secret@gmail.com")}`,
    );
    await fetchBounded(`${server.url}/api/v1/providers`, {
      headers: { Authorization: "Bearer ops-test-token-0123456789abcdef" },
    });
    expect(access).toHaveLength(2);
    expect(access[0]).toMatch(/ 127\.0\.0\.1 GET \/mail\/config-v1\.1\.xml 200 [\d.]+ms gmail\.com$/);
    expect(access[1]).toMatch(/ 127\.0\.0\.1 GET \/api\/v1\/providers 200 [\d.]+ms -$/);
    expect(access.join("\n")).not.toMatch(/jane|secret|Bearer|ops-test-token/);
  });

  it("a client breaking off an admin upload is not an internal error", async () => {
    logs.length = 0;
    await new Promise<void>((resolve) => {
      const socket = connect(Number(new URL(server.url).port), "127.0.0.1", () => {
        socket.write(
          "PUT /api/v1/providers/aborted.example HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ops-test-token-0123456789abcdef\r\n" +
            'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"displayName":',
        );
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 200);
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(logs.filter((l) => l.includes("internal error"))).toEqual([]);
  });

  it("metrics are served on their own listener, not on the public port", async () => {
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await fetchBounded(`${server.url}/v1.1/gmail.com`);
    await fetchBounded(`${server.url}/v1.1/unknown-domain.example`);
    const text = await (await fetchBounded(server.metricsUrl as string)).text();
    expect(text).toMatch(/mailconf_http_requests_total\{route="\/v1\.1\/:domain",status="200"\} [1-9]/);
    expect(text).toMatch(/mailconf_http_requests_total\{route="\/v1\.1\/:domain",status="404"\} [1-9]/);
    expect(text).toMatch(/mailconf_domain_lookups_total\{result="unknown"\} [1-9]/);
    expect(text).toContain('mailconf_reloads_total{result="ok"} 0');
    expect(text).toContain("mailconf_http_request_duration_seconds_bucket");
    expect((await fetchBounded(`${server.url}/metrics`)).status).toBe(404);
  });

  it("a connection pipelining requests it never reads is closed; other clients are answered", async () => {
    const port = Number(new URL(server.url).port);
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.pause(); // read nothing while the server works through the requests
        socket.write("GET /v1.1/gmail.com HTTP/1.1\r\nHost: x\r\n\r\n".repeat(5000));
        // Then read, to see the end of the connection (a paused socket never sees it).
        setTimeout(() => socket.resume(), 1000);
      });
      socket.on("close", () => resolve(true));
      socket.on("error", () => {});
      setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 4000);
    });
    expect(closed).toBe(true);
    expect((await fetchBounded(`${server.url}/v1.1/gmail.com`)).status).toBe(200);
    // A client that reads its answers may pipeline: 10 requests in one write, 10 answers.
    const answers = await new Promise<number>((resolve) => {
      let text = "";
      const socket = connect(port, "127.0.0.1", () =>
        socket.write(
          "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(9) +
            "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ),
      );
      socket.on("data", (d) => {
        text += d;
      });
      socket.on("close", () => resolve(text.split("HTTP/1.1 200").length - 1));
    });
    expect(answers).toBe(10);
  });

  it("/readyz is 200 while the database reads, 503 when it cannot (logged); /healthz stays 200", async () => {
    expect((await fetchBounded(`${server.url}/readyz`)).status).toBe(200);
    const database = await openSqlite(join(mkdtempSync(join(tmpdir(), "mailconf-ready-")), "r.db"));
    await expect(storeReadable(database)).resolves.toBeUndefined();
    database.close();
    const failure = await storeReadable(database).catch((e: Error) => e);
    expect(failure).toBeInstanceOf(Error);
    const log: string[] = [];
    const app = createApp({
      store,
      publicUrl: "https://autoconfig.test.example",
      log: (m) => log.push(m),
      ops: { clientAddress: () => "192.0.2.1", ready: () => storeReadable(database) },
    });
    const r = await app.request("/readyz");
    expect(r.status).toBe(503);
    expect(await r.text()).toBe("not ready: the settings store cannot be read\n");
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(/^readyz: not ready: /);
    expect((await app.request("/healthz")).status).toBe(200);
  });
});
