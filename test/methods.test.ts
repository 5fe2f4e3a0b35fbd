/**
 * HTTP methods on the real Node server: read-only routes answer GET and HEAD, and every other
 * method with 405 and `Allow: GET, HEAD` (RFC 9110 §15.5.6), not a 404 that reads as "no such URL".
 * The Autodiscover POX path keeps Exchange's behaviour: any method but POST → HTTP 200 with error
 * 600, POST → the answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/node/server.ts";
import { fetchBounded, startTestServer } from "./helpers/server.ts";

const READ_ONLY = [
  "/",
  "/?email=jane.doe%40example.com",
  "/favicon.svg",
  "/favicon.ico",
  "/healthz",
  "/mobileconfig?email=jane.doe%40example.com",
  "/email.mobileconfig?email=jane.doe%40example.com",
  "/mail/config-v1.1.xml?emailaddress=jane.doe%40example.com",
  "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=jane.doe%40example.com",
  "/.well-known/mail-v1.xml?emailaddress=jane.doe%40example.com",
  "/v1.1/example.com",
  "/api/v1/settings?email=jane.doe%40example.com",
  "/api/v1/openapi.json",
  "/dns?domain=example.com",
  "/autodiscover/autodiscover.json?Email=jane.doe%40example.com&Protocol=AutodiscoverV1",
  "/Autodiscover/Autodiscover.json/v1.0/jane.doe%40example.com?Protocol=AutodiscoverV1",
];
const OTHER_METHODS = ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe("read-only routes", () => {
  for (const path of READ_ONLY) {
    it(`${path}: GET and HEAD answer alike; other methods 405 with Allow`, async () => {
      const get = await fetchBounded(server.url + path);
      expect(get.status).toBe(200);
      const body = await get.arrayBuffer();
      expect(body.byteLength).toBeGreaterThan(0);
      const head = await fetchBounded(server.url + path, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"));
      expect((await head.arrayBuffer()).byteLength).toBe(0);
      for (const method of OTHER_METHODS) {
        const res = await fetchBounded(server.url + path, {
          method,
          body: method === "POST" || method === "PUT" || method === "PATCH" ? "x=1" : undefined,
        });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get("allow"), `${method} ${path}`).toBe("GET, HEAD");
        expect(await res.text()).toBe("This URL answers only GET and HEAD.\n");
      }
    });
  }

  it("errors of read-only routes keep their status for GET and HEAD (400/404), and 405 for others", async () => {
    for (const [path, status] of [
      ["/mobileconfig", 400],
      ["/v1.1/unknown-domain.test", 404],
      ["/autodiscover/autodiscover.json?Protocol=AutodiscoverV1", 400],
    ] as const) {
      expect((await fetchBounded(server.url + path)).status).toBe(status);
      expect((await fetchBounded(server.url + path, { method: "HEAD" })).status).toBe(status);
      expect((await fetchBounded(server.url + path, { method: "DELETE" })).status).toBe(405);
    }
  });

  it("an unknown path stays a 404 for every method", async () => {
    for (const method of ["GET", "POST", "PUT"])
      expect((await fetchBounded(`${server.url}/no-such-page`, { method })).status).toBe(404);
  });
});

describe("the Autodiscover POX path", () => {
  it("any method but POST gets HTTP 200 with error 600; POST gets the answer", async () => {
    for (const method of ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const res = await fetchBounded(`${server.url}/Autodiscover/Autodiscover.xml`, { method });
      expect(res.status, method).toBe(200);
      expect(await res.text(), method).toContain("<ErrorCode>600</ErrorCode>");
    }
    const head = await fetchBounded(`${server.url}/autodiscover/autodiscover.xml`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("text/xml; charset=utf-8");
    const post = await fetchBounded(`${server.url}/autodiscover/autodiscover.xml`, {
      method: "POST",
      body: `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>jane.doe@example.com</EMailAddress></Request></Autodiscover>`,
    });
    expect(await post.text()).toContain(
      "<AutoDiscoverSMTPAddress>jane.doe@example.com</AutoDiscoverSMTPAddress>",
    );
  });
});
