/**
 * src/worker.ts inside workerd: the bundled store (settings files first, then built-in), the
 * public URL from `[vars]`, and profile signing from secrets.
 */
import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { BUNDLED_SETTINGS } from "../../src/generated/bundled-settings.ts";
import {
  bundledStore,
  createWorker,
  resolvePublicUrl,
  WorkerConfigError,
  type WorkerEnv,
  workerSigner,
} from "../../src/worker.ts";

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

describe("profile signing from secrets", () => {
  const signing = inject("e2eSigning");
  const profile = "http://127.0.0.1/mobileconfig?email=jane.doe%40example.com";
  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function get(worker: ReturnType<typeof createWorker>, workerEnv: WorkerEnv, url: string) {
    const res = await worker.fetch(new Request(url), workerEnv, createExecutionContext());
    return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
  }

  it("no signing secret: unsigned profiles", async () => {
    expect(workerSigner({})).toBeUndefined();
    const res = await exports.default.fetch(profile);
    expect(new TextDecoder().decode(await res.arrayBuffer())).toMatch(/^<\?xml/);
  });

  it("a certificate without its key: profiles unsigned, the reason logged, other answers unaffected", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const worker = createWorker();
    const broken = { ...env, MAILCONF_SIGN_CERT: signing.certificatePem };
    const unsigned = await get(createWorker(), env, profile);
    const res = await get(worker, broken, profile);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(unsigned.body);
    expect(errors).toHaveBeenCalledWith(
      "mailconf: cannot sign Apple profiles, serving them unsigned: MAILCONF_SIGN_CERT needs its private key: set the secret MAILCONF_SIGN_KEY",
    );
    expect(errors).toHaveBeenCalledWith(
      "profile signing failed, served unsigned: MAILCONF_SIGN_CERT needs its private key: set the secret MAILCONF_SIGN_KEY",
    );
    const autoconfig = await get(
      worker,
      broken,
      "http://127.0.0.1/mail/config-v1.1.xml?emailaddress=a%40example.com",
    );
    expect(autoconfig.status).toBe(200);
  });

  it("an expired certificate (clock past notAfter): named in the log, profiles unsigned", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const later = new Date(Date.parse(signing.time) + 400 * 24 * 3600 * 1000);
    const worker = createWorker({ now: () => later });
    const secrets = {
      ...env,
      MAILCONF_SIGN_CERT: signing.certificatePem,
      MAILCONF_SIGN_KEY: signing.privateKeyPem,
      MAILCONF_SIGN_CHAIN: signing.chainPem,
    };
    const res = await get(worker, secrets, profile);
    expect(new TextDecoder().decode(res.body)).toMatch(/^<\?xml/);
    expect(errors).toHaveBeenCalledWith(
      expect.stringMatching(
        /^mailconf: cannot sign Apple profiles, serving them unsigned: MAILCONF_SIGN_CERT \(CN=autoconfig.test.example\) expired on /,
      ),
    );
  });

  it("valid secrets: a DER CMS profile, the same bytes again at a fixed clock", async () => {
    const worker = createWorker({ now: () => new Date(signing.time) });
    const secrets = {
      ...env,
      MAILCONF_SIGN_CERT: signing.certificatePem,
      MAILCONF_SIGN_KEY: signing.privateKeyPem,
      MAILCONF_SIGN_CHAIN: signing.chainPem,
    };
    const first = await get(worker, secrets, profile);
    expect(first.body[0]).toBe(0x30);
    expect((await get(worker, secrets, profile)).body).toEqual(first.body);
  });
});
