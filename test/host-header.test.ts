/**
 * No Host header value may produce a 5xx, on any route family. The Host part of the request URL is
 * whatever the client sent; names that RFC 3986 allows but WHATWG URL refuses (`xn--a.com`,
 * `999.1.1.1`, `example.com.1`) used to make `new URL(c.req.url)` throw in a middleware that runs
 * for every request (HTTP 500 everywhere), and the request body unreadable (a valid Outlook POST
 * answered with error 600). Real Node server, raw node:http requests (fetch cannot set Host).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestTarget } from "../src/handlers/context.ts";
import type { RunningServer } from "../src/node/server.ts";
import { rawRequest, startTestServer } from "./helpers/server.ts";

const TOKEN = "host-test-token-0123456789abcdef";
const OUTLOOK_REQUEST = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>jane.doe@example.com</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`;

/** Host values a client or scanner may send; the first group parses as RFC 3986 but not as WHATWG URL. */
const HOSTILE_HOSTS = [
  "xn--a.com",
  "autodiscover.xn--a.com",
  "autoconfig.xn--a.com",
  "XN--A.COM",
  "example.com.1",
  "999.1.1.1",
  "a.xn--",
  "256.256.256.256",
  "1.2.3.4.5",
  "0x7f.1",
  "example.com:99999",
  "xn--a.com:8080",
  "a..b",
  "-",
  ".",
  "..",
  "_",
  `${"a".repeat(70)}.com`,
  `${"a.".repeat(150)}com`,
  "[::1]",
  "[::1]:8080",
  "[zz]",
  "[::1",
  "a b",
  "exa%mple.com",
  "exa%41mple.com",
  "ümlaut.de",
  "example.com/x",
  "example.com?x",
  "example.com#x",
  "user@example.com",
  "",
];

interface Route {
  name: string;
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
  /** What a request with an ordinary Host gets; hostile hosts must get the same (or a 4xx from the HTTP layer). */
  expect: (res: { status: number; body: string }) => void;
}

const ROUTES: Route[] = [
  { name: "health", method: "GET", path: "/healthz", expect: (r) => expect(r.body).toBe("ok\n") },
  {
    name: "autoconfig by address",
    method: "GET",
    path: "/mail/config-v1.1.xml?emailaddress=jane.doe%40example.com",
    expect: (r) => expect(r.body).toContain("<hostname>mail.example.com</hostname>"),
  },
  {
    name: "autoconfig by Host",
    method: "GET",
    path: "/.well-known/autoconfig/mail/config-v1.1.xml",
    expect: (r) => expect([200, 404]).toContain(r.status),
  },
  {
    name: "autoconfig ISPDB path",
    method: "GET",
    path: "/v1.1/gmail.com",
    expect: (r) => expect(r.body).toContain("imap.gmail.com"),
  },
  {
    name: "Autodiscover POX POST",
    method: "POST",
    path: "/Autodiscover/Autodiscover.xml",
    headers: { "Content-Type": "text/xml; charset=utf-8" },
    body: OUTLOOK_REQUEST,
    expect: (r) =>
      expect(r.body).toContain("<AutoDiscoverSMTPAddress>jane.doe@example.com</AutoDiscoverSMTPAddress>"),
  },
  {
    name: "Autodiscover POX GET",
    method: "GET",
    path: "/autodiscover/autodiscover.xml",
    expect: (r) => expect(r.body).toContain("<ErrorCode>600</ErrorCode>"),
  },
  {
    name: "Autodiscover v2 query form",
    method: "GET",
    path: "/autodiscover/autodiscover.json?Email=jane.doe%40example.com&Protocol=AutodiscoverV1",
    expect: (r) =>
      expect(JSON.parse(r.body)).toEqual({
        Protocol: "AutodiscoverV1",
        Url: "https://autoconfig.test.example/autodiscover/autodiscover.xml",
      }),
  },
  {
    name: "Autodiscover v2 path form",
    method: "GET",
    path: "/autodiscover/autodiscover.json/v1.0/jane.doe%40example.com?Protocol=AutodiscoverV1",
    expect: (r) => expect(JSON.parse(r.body).Protocol).toBe("AutodiscoverV1"),
  },
  {
    name: "PACC by Host",
    method: "GET",
    path: "/.well-known/user-agent-configuration.json",
    expect: (r) => expect([200, 404]).toContain(r.status),
  },
  {
    name: "Apple profile",
    method: "GET",
    path: "/mobileconfig?email=jane.doe%40example.com",
    expect: (r) => expect(r.body).toContain("<string>mail.example.com</string>"),
  },
  {
    name: "settings guide",
    method: "GET",
    path: "/?email=jane.doe%40example.com",
    expect: (r) => expect(r.body).toContain("mail.example.com"),
  },
  {
    name: "settings JSON",
    method: "GET",
    path: "/api/v1/settings?email=jane.doe%40example.com",
    expect: (r) => expect(r.body).toContain('"mail.example.com"'),
  },
  {
    name: "DNS records",
    method: "GET",
    path: "/dns?domain=example.com&format=zone",
    expect: (r) => expect(r.body).toContain("autoconfig.example.com."),
  },
  {
    name: "OpenAPI document",
    method: "GET",
    path: "/api/v1/openapi.json",
    expect: (r) => expect(JSON.parse(r.body).openapi).toMatch(/^3\.1/),
  },
  {
    name: "admin API read",
    method: "GET",
    path: "/api/v1/providers",
    headers: { Authorization: `Bearer ${TOKEN}` },
    expect: (r) => expect(JSON.parse(r.body)).toHaveProperty("providers"),
  },
  {
    name: "admin API write (body)",
    method: "PUT",
    path: "/api/v1/domains/host-test.example.org",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: '{"provider":"googlemail.com"}',
    expect: (r) => expect([200, 201]).toContain(r.status),
  },
  { name: "unknown path", method: "GET", path: "/nope", expect: (r) => expect(r.status).toBe(404) },
];

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    db: join(mkdtempSync(join(tmpdir(), "mailconf-host-")), "published.db"),
    adminTokens: TOKEN,
  });
});
afterAll(() => server.close());

const send = (route: Route, host: string) =>
  rawRequest(server.url + route.path, {
    method: route.method,
    headers: { ...route.headers, Host: host },
    body: route.body,
  });

describe("hostile Host headers", () => {
  it("every route answers as usual with an ordinary Host", async () => {
    for (const route of ROUTES) route.expect(await send(route, "autoconfig.example.com"));
  });

  for (const host of HOSTILE_HOSTS) {
    it(`Host: ${JSON.stringify(host.length > 40 ? `${host.slice(0, 37)}...` : host)} — no 5xx on any route`, async () => {
      for (const route of ROUTES) {
        const res = await send(route, host);
        const label = `${route.name} with Host ${JSON.stringify(host)}: ${res.status} ${res.body.slice(0, 80)}`;
        expect(res.status, label).toBeLessThan(500);
        // A Host the HTTP layer refuses outright is a 400 for every route; any other gets the normal answer.
        if (res.status !== 400) route.expect(res);
      }
    });
  }

  it("names WHATWG URL refuses but RFC 3986 allows are served, bodies included", async () => {
    const pox = ROUTES.find((r) => r.name === "Autodiscover POX POST") as Route;
    for (const host of [
      "autodiscover.xn--a.com",
      "example.com.1",
      "999.1.1.1",
      "a.xn--",
      "256.256.256.256",
    ]) {
      const res = await send(pox, host);
      expect(res.status).toBe(200);
      pox.expect(res);
    }
    const health = await send(ROUTES[0] as Route, "xn--a.com");
    expect(health).toMatchObject({ status: 200, body: "ok\n" });
  });

  it("property: random host-like names never give a 5xx", async () => {
    const label = fc.oneof(
      fc.stringMatching(/^[a-z0-9_-]{1,12}$/),
      fc.constantFrom("xn--", "xn--a", "xn--zz-", "999", "0x10", "1", "autoconfig", "autodiscover"),
    );
    const host = fc
      .tuple(fc.array(label, { minLength: 1, maxLength: 5 }), fc.option(fc.integer({ min: 0, max: 99999 })))
      .map(([labels, port]) => `${labels.join(".")}${port === null ? "" : `:${port}`}`);
    await fc.assert(
      fc.asyncProperty(host, fc.constantFrom(...ROUTES), async (h, route) => {
        const res = await send(route, h);
        expect(res.status, `${route.name} Host ${h}`).toBeLessThan(500);
        if (res.status !== 400) route.expect(res);
      }),
      { numRuns: 150 },
    );
  });
});

describe("requestTarget", () => {
  it("reads path and query without parsing the host", () => {
    const url = requestTarget("http://xn--a.com//autodiscover/autodiscover.json?Email=a%40b.c&x=1");
    expect(url.pathname).toBe("//autodiscover/autodiscover.json");
    expect(url.searchParams.get("Email")).toBe("a@b.c");
    expect(requestTarget("http://999.1.1.1:8080?q=1").pathname).toBe("/");
    expect(requestTarget("http://999.1.1.1:8080?q=1").searchParams.get("q")).toBe("1");
    expect(requestTarget("http://host/a%2Fb").pathname).toBe("/a%2Fb");
  });
});
