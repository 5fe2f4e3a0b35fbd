/**
 * End to end on the real Node server (127.0.0.1, free port): what real clients send.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/node.ts";
import { fetchBounded, rawRequest, startTestServer } from "./helpers/server.ts";
import { AUTODISCOVER_DIR, checkAutoconfigClients, validateMobileconfig } from "./helpers/shared.ts";

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const fixture = (name: string) => readFileSync(join(AUTODISCOVER_DIR, name));

describe("Thunderbird autoconfig", () => {
  it("answers Thunderbird's URL with a percent-encoded address", async () => {
    // Thunderbird desktop: https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=<encoded>
    const res = await fetchBounded(
      `${server.url}/mail/config-v1.1.xml?emailaddress=first.last%2Btag%40example.com`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/xml; charset=utf-8");
    const body = await res.text();
    expect(body).toContain('<emailProvider id="example.com">');
    expect(body).toContain("<hostname>mail.example.com</hostname>");
    expect(checkAutoconfigClients(body).status).toBe(0);
  });

  it("without emailaddress, takes the domain from the Host name (Thunderbird for Android)", async () => {
    const res = await rawRequest(`${server.url}/.well-known/autoconfig/mail/config-v1.1.xml`, {
      headers: { Host: "icloud.com" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toContain("<hostname>imap.mail.me.com</hostname>");
    const viaAutoconfigHost = await rawRequest(`${server.url}/mail/config-v1.1.xml`, {
      headers: { Host: "autoconfig.gmail.com:443" },
    });
    expect(viaAutoconfigHost.body).toMatch(/^<\?xml[\s\S]*<domain>gmail.com<\/domain>/);
    const unknownHost = await rawRequest(`${server.url}/mail/config-v1.1.xml`, {
      headers: { Host: "127.0.0.1" },
    });
    expect(unknownHost.status).toBe(404);
  });

  it("serves the ISPDB-style path /v1.1/<domain>, and HEAD", async () => {
    const res = await fetchBounded(`${server.url}/v1.1/hotmail.de`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<hostname>outlook.office365.com</hostname>");
    const head = await fetchBounded(`${server.url}/v1.1/gmail.com`, { method: "HEAD" });
    expect(head.status).toBe(200);
  });

  it("404 with short plain text for an unknown domain, 400 for a broken address", async () => {
    const res = await fetchBounded(`${server.url}/mail/config-v1.1.xml?emailaddress=a%40unknown-domain.test`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const bad = await fetchBounded(`${server.url}/mail/config-v1.1.xml?emailaddress=%3Cscript%3E`);
    expect(bad.status).toBe(400);
  });
});

describe("Outlook Autodiscover", () => {
  for (const path of [
    "/autodiscover/autodiscover.xml",
    "/Autodiscover/Autodiscover.xml",
    "/AutoDiscover/AutoDiscover.xml",
  ]) {
    it(`POST ${path} with Outlook's request body`, async () => {
      const res = await fetchBounded(server.url + path, {
        method: "POST",
        headers: { "Content-Type": "text/xml" },
        body: fixture("request-outlook.xml"),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/xml; charset=utf-8");
      const body = await res.text();
      expect(body).toContain("<AutoDiscoverSMTPAddress>jane.doe@example.com</AutoDiscoverSMTPAddress>");
      expect(body).toMatch(
        /<Type>IMAP<\/Type>[\s\S]*?<Port>993<\/Port>[\s\S]*?<SSL>on<\/SSL>\s*<Encryption>SSL<\/Encryption>/,
      );
      expect(body).toMatch(/<Port>587<\/Port>[\s\S]*?<SSL>on<\/SSL>\s*<Encryption>TLS<\/Encryption>/);
      expect(body).toContain("<LoginName>jane.doe@example.com</LoginName>");
    });
  }

  it("GET answers HTTP 200 with error 600", async () => {
    const res = await fetchBounded(`${server.url}/autodiscover/autodiscover.xml`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<ErrorCode>600</ErrorCode>");
  });

  it("refuses DOCTYPE bodies (XXE, billion laughs) with error 600", async () => {
    for (const name of [
      "attack-xxe-file.xml",
      "attack-billion-laughs.xml",
      "attack-xxe-parameter-entity.xml",
    ]) {
      const res = await fetchBounded(`${server.url}/autodiscover/autodiscover.xml`, {
        method: "POST",
        body: fixture(name),
      });
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(body).toContain("<ErrorCode>600</ErrorCode>");
      expect(body).not.toContain("root:");
    }
  });

  it("answers error 500 for an unknown domain", async () => {
    const body = fixture("request-outlook.xml")
      .toString("utf8")
      .replace("example.com", "unknown-domain.test");
    const res = await fetchBounded(`${server.url}/autodiscover/autodiscover.xml`, { method: "POST", body });
    expect(await res.text()).toContain("<ErrorCode>500</ErrorCode>");
  });
});

describe("Apple profile", () => {
  it("a plain GET downloads a valid, stable profile", async () => {
    const url = `${server.url}/mobileconfig?email=jane.doe%40example.com`;
    const res = await fetchBounded(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-apple-aspen-config");
    expect(res.headers.get("content-disposition")).toBe(
      'attachment; filename="jane.doe-at-example.com.mobileconfig"',
    );
    expect(res.headers.get("cache-control")).toBe("no-store");
    const first = await res.text();
    expect(validateMobileconfig(first).status).toBe(0);
    const second = await (
      await fetchBounded(`${server.url}/email.mobileconfig?email=jane.doe@example.com`)
    ).text();
    expect(second).toBe(first);
    const other = await (await fetchBounded(`${server.url}/mobileconfig?email=john@example.com`)).text();
    const id = (s: string) => /<key>PayloadIdentifier<\/key>\s*<string>([^<]+)/.exec(s)?.[1];
    expect(id(other)).not.toBe(id(first));
  });

  it("400 for a missing or malformed address", async () => {
    expect((await fetchBounded(`${server.url}/mobileconfig`)).status).toBe(400);
    expect((await fetchBounded(`${server.url}/mobileconfig?email=nope`)).status).toBe(400);
  });
});
