/**
 * Smaller client gaps of issue 11, in-process: Nine's autoconfig path and the Autodiscover v2 path
 * form whose segment is not an address.
 */
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { MemoryStore } from "../src/providers/store.ts";

const app = createApp({
  store: new MemoryStore(BUILTIN_PROVIDERS.map((provider) => ({ provider, source: "built-in" }))),
  publicUrl: "https://autoconfig.test.example",
});

describe("client gaps", () => {
  it("Nine: /v1.1/mail/config-v1.1.xml?emailaddress=… is the autoconfig of the address", async () => {
    const res = await app.request("/v1.1/mail/config-v1.1.xml?emailaddress=jane%40example.com");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/xml; charset=utf-8");
    const same = await app.request("/mail/config-v1.1.xml?emailaddress=jane%40example.com");
    expect(await res.text()).toBe(await same.text());
  });

  it("v2: a path segment that is not an address does not override a valid Email=", async () => {
    const ok = await app.request(
      "/autodiscover/autodiscover.json/v1.0/me?Email=jane%40example.com&Protocol=AutodiscoverV1",
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      Protocol: "AutodiscoverV1",
      Url: "https://autoconfig.test.example/autodiscover/autodiscover.xml",
    });
    const bad = await app.request("/autodiscover/autodiscover.json/v1.0/me?Protocol=AutodiscoverV1");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      ErrorCode: "InvalidEmailAddress",
      ErrorMessage: "the address after /v1.0/: expected an e-mail address such as jane@example.com",
    });
  });
});
