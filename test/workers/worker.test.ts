/**
 * src/worker.ts inside workerd: the bundled store (settings files first, then built-in) and the
 * public URL from `[vars]`.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BUNDLED_SETTINGS } from "../../src/generated/bundled-settings.ts";
import { bundledStore, resolvePublicUrl, WorkerConfigError } from "../../src/worker.ts";

describe("bundled settings", () => {
  it("serves the settings files first, then the built-in providers", async () => {
    const store = bundledStore();
    expect(await store.resolve("example.org")).toMatchObject({
      via: "exact",
      source: "examples/settings.yaml",
    });
    expect(await store.resolve("example-old.org")).toMatchObject({ via: "alias", aliasOf: "example.org" });
    expect(await store.resolve("gmail.com")).toMatchObject({ source: "built-in" });
    expect(await store.resolve("unknown-domain.test")).toBeUndefined();
  });

  it("a settings file wins over a built-in provider for the same domain", async () => {
    const [file] = BUNDLED_SETTINGS;
    const provider = file?.settings.providers[0];
    if (!provider) throw new Error("examples/settings.yaml has no provider");
    const store = bundledStore([
      {
        source: "override.yaml",
        settings: { providers: [{ ...provider, domains: ["gmail.com"] }], aliases: {} },
      },
    ]);
    expect(await store.resolve("gmail.com")).toMatchObject({ source: "override.yaml" });
  });
});

describe("public URL", () => {
  it("comes from MAILCONF_PUBLIC_URL, else from the first settings file, trailing slash removed", () => {
    expect(env.MAILCONF_PUBLIC_URL).toBe("https://autoconfig.test.example");
    expect(resolvePublicUrl({ MAILCONF_PUBLIC_URL: "https://mail.example.net/" })).toBe(
      "https://mail.example.net",
    );
    expect(resolvePublicUrl({})).toBe("https://autoconfig.example.org");
    expect(resolvePublicUrl({ MAILCONF_PUBLIC_URL: " " })).toBe("https://autoconfig.example.org");
  });

  it("names the variable when it is missing or not an absolute http(s) URL", () => {
    expect(() => resolvePublicUrl({}, [])).toThrow(WorkerConfigError);
    expect(() => resolvePublicUrl({}, [])).toThrow(/MAILCONF_PUBLIC_URL is not set/);
    expect(() => resolvePublicUrl({ MAILCONF_PUBLIC_URL: "autoconfig.example.org" })).toThrow(
      'MAILCONF_PUBLIC_URL: expected an absolute http(s) URL such as https://autoconfig.example.org, got "autoconfig.example.org"',
    );
    expect(() => resolvePublicUrl({ MAILCONF_PUBLIC_URL: "ftp://example.org" })).toThrow(/got "ftp:/);
  });

  it("a Worker with a broken MAILCONF_PUBLIC_URL answers 500 naming it, without a stack trace", async () => {
    const worker = (await import("../../src/worker.ts")).default;
    const res = await worker.fetch(
      new Request("http://127.0.0.1/healthz"),
      { MAILCONF_PUBLIC_URL: "not a url" },
      { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext,
    );
    expect(res.status).toBe(500);
    expect(await res.text()).toBe(
      'mailconf is not configured: MAILCONF_PUBLIC_URL: expected an absolute http(s) URL such as https://autoconfig.example.org, got "not a url"\n',
    );
    // The configured Worker is unaffected.
    expect((await exports.default.fetch("http://127.0.0.1/healthz")).status).toBe(200);
  });
});
