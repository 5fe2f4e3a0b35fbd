/**
 * Property: no request to any public endpoint, with any method, Host, query value or body, gets a
 * 5xx or a stack trace, and every answer that names the request's values names them escaped.
 * Bounded runs (fast-check, in-process `app.request()`), with rate limits and records on, as served.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { memoryRateLimiter } from "../src/node/rate-limit.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { MemoryStore } from "../src/providers/store.ts";

const logs: string[] = [];
const app = createApp({
  store: new MemoryStore(BUILTIN_PROVIDERS.map((provider) => ({ provider, source: "built-in" }))),
  publicUrl: "https://autoconfig.test.example",
  log: (m) => logs.push(m),
  ops: {
    clientAddress: () => "192.0.2.99",
    rateLimiter: memoryRateLimiter(1_000_000),
    record: () => {},
    ready: async () => {},
  },
});

/** Every public route, with the query parameter (if any) the property fills in. */
const ROUTES: { path: string; param?: string }[] = [
  { path: "/mail/config-v1.1.xml", param: "emailaddress" },
  { path: "/.well-known/autoconfig/mail/config-v1.1.xml", param: "emailaddress" },
  { path: "/.well-known/mail-v1.xml" },
  { path: "/.well-known/user-agent-configuration.json" }, // PACC: the domain comes from Host
  { path: "/v1.1/" },
  { path: "/autodiscover/autodiscover.xml" },
  { path: "/Autodiscover/Autodiscover.xml" },
  { path: "/autodiscover/autodiscover.json", param: "Email" },
  { path: "/autodiscover/autodiscover.json/v1.0/" },
  { path: "/mobileconfig", param: "email" },
  { path: "/email.mobileconfig", param: "email" },
  { path: "/", param: "email" },
  { path: "/api/v1/settings", param: "email" },
  { path: "/dns", param: "domain" },
  { path: "/api/v1/openapi.json" },
  { path: "/api/v1/providers/" },
  { path: "/api/v1/domains/" },
  { path: "/healthz" },
  { path: "/readyz" },
  { path: "/favicon.svg" },
];

const text = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "jane@example.com",
    "ja\uFFFEne@example.com",
    "<script>@example.com",
    "a@b@example.com",
    "x".repeat(400),
    "%00@example.com",
    "jane@[::1]",
    "jane@xn--a.com",
  ),
);
const method = fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND");
const host = fc.oneof(
  fc.constantFrom(
    "example.com",
    "autoconfig.gmail.com",
    "ua-auto-config.gmail.com",
    "ua-auto-config.gmail.com:",
    "ua-auto-config.<script>.com",
    "[::1]",
    "example.com:",
    "",
    "a".repeat(300),
  ),
  fc.domain(),
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    '<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>jane@gmail.com</EMailAddress></Request></Autodiscover>',
    '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
    `<a ${Array.from({ length: 300 }, (_, i) => `a${i}="1"`).join(" ")}/>`,
    `${"[".repeat(3000)}${"]".repeat(3000)}`,
    `{"displayName":${'{"a":'.repeat(2000)}1${"}".repeat(2000)}}`,
  ),
);

describe("every public endpoint", () => {
  it("property: any method, Host, value and body gets an answer below 500, never a stack trace", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        method,
        host,
        text,
        body,
        async (route, m, h, value, b) => {
          const suffix = route.path.endsWith("/") && route.path !== "/" ? encodeURIComponent(value) : "";
          const query = route.param ? `?${route.param}=${encodeURIComponent(value)}` : "";
          const headers: Record<string, string> = { host: h };
          if (b !== undefined) headers["content-type"] = m === "PUT" ? "application/json" : "text/xml";
          const response = await app.request(`${route.path}${suffix}${query}`, {
            method: m,
            headers,
            body: b !== undefined && m !== "GET" && m !== "HEAD" ? b : undefined,
          });
          expect(response.status).toBeLessThan(500);
          const answer = await response.text();
          expect(answer).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/);
          expect(answer).not.toContain("<script>@");
        },
      ),
      { numRuns: 400, seed: 13 },
    );
    expect(logs.filter((l) => l.startsWith("internal error"))).toEqual([]);
  });

  it("the PACC route in the list reaches its handler: a known ua-auto-config host gets the document", async () => {
    const response = await app.request("/.well-known/user-agent-configuration.json", {
      headers: { host: "ua-auto-config.gmail.com" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(JSON.stringify(await response.json())).toContain("imap.gmail.com");
    expect(ROUTES.map((r) => r.path)).toContain("/.well-known/user-agent-configuration.json");
  });
});
