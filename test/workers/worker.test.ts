/**
 * src/worker/index.ts and src/worker/app.ts inside workerd: the bundled store (settings files first, then built-in), the
 * public URL from `[vars]`, profile signing from secrets, published settings in D1 (migrations,
 * failures, the admin API switch) and resolution by MX over DNS-over-HTTPS.
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
  workerMxResolver,
  workerSigner,
} from "../../src/worker/app.ts";

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
        settings: { providers: [{ ...provider, domains: ["gmail.com"] }], aliases: {}, assignedDomains: {} },
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
    const worker = (await import("../../src/worker/index.ts")).default;
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

describe("published settings in D1", () => {
  const auth = { Authorization: `Bearer ${env.MAILCONF_ADMIN_TOKENS}`, "Content-Type": "application/json" };
  const provider = {
    displayName: "Fresh Hoster",
    domains: ["fresh-customer.test"],
    incoming: [{ type: "imap", hostname: "imap.fresh.test", port: 993, socketType: "SSL" }],
    outgoing: [{ hostname: "smtp.fresh.test", port: 587, socketType: "STARTTLS" }],
  };

  it("an empty database is migrated by the Worker on its first request, once", async () => {
    const worker = createWorker();
    const fresh = { ...env, DB: env.FRESH_DB };
    const ctx = createExecutionContext();
    const put = await worker.fetch(
      new Request("http://127.0.0.1/api/v1/providers/fresh.test", {
        method: "PUT",
        headers: auth,
        body: JSON.stringify(provider),
      }),
      fresh,
      ctx,
    );
    expect(put.status).toBe(201);
    const served = await worker.fetch(
      new Request("http://127.0.0.1/mail/config-v1.1.xml?emailaddress=a%40fresh-customer.test"),
      fresh,
      ctx,
    );
    expect(await served.text()).toContain("<hostname>imap.fresh.test</hostname>");
    const { results } = await env.FRESH_DB.prepare("SELECT name FROM d1_migrations ORDER BY id").all();
    expect(results.map((r) => r.name)).toEqual(env.TEST_MIGRATIONS.map((m) => m.name));
  });

  it("D1 failing while migrating: 503 for that request, the next one tries again", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    let failures = 1;
    const flaky = {
      prepare(sql: string) {
        if (failures > 0) {
          failures--;
          throw new Error("D1_ERROR: network connection lost");
        }
        return env.DB.prepare(sql);
      },
      batch: (statements: D1PreparedStatement[]) => env.DB.batch(statements),
    };
    const worker = createWorker();
    const flakyEnv = { ...env, DB: flaky as unknown as D1Database };
    const url = "http://127.0.0.1/mail/config-v1.1.xml?emailaddress=a%40example.com";
    const first = await worker.fetch(new Request(url), flakyEnv, createExecutionContext());
    expect(first.status).toBe(503);
    expect(await first.text()).toBe("The settings database is unavailable; try again shortly.\n");
    expect(errors).toHaveBeenCalledWith("mailconf: D1 migrations failed: D1_ERROR: network connection lost");
    const second = await worker.fetch(new Request(url), flakyEnv, createExecutionContext());
    expect(second.status).toBe(200);
  });

  it("admin tokens without a D1 binding: the admin API stays off (404), and the log says why", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const { DB: _db, ...noDb } = env;
    const res = await createWorker().fetch(
      new Request("http://127.0.0.1/api/v1/providers", { headers: auth }),
      noDb,
      createExecutionContext(),
    );
    expect(res.status).toBe(404);
    expect(errors).toHaveBeenCalledWith(
      "mailconf: MAILCONF_ADMIN_TOKENS is set but there is no D1 binding DB: the admin API is off",
    );
  });

  it("MAILCONF_ADMIN_TOKENS may hold sha256: lines, as `mailconf hash-token` prints them", async () => {
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(env.MAILCONF_ADMIN_TOKENS)),
    );
    const line = `sha256:${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}\n`;
    const worker = createWorker();
    const hashed = { ...env, MAILCONF_ADMIN_TOKENS: line };
    const list = (headers: Record<string, string>) =>
      worker.fetch(
        new Request("http://127.0.0.1/api/v1/providers", { headers }),
        hashed,
        createExecutionContext(),
      );
    expect((await list(auth)).status).toBe(200);
    expect((await list({ Authorization: `Bearer ${line.trim()}` })).status).toBe(401);
  });

  it("a malformed admin token is named, and nothing is served until it is fixed", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await createWorker().fetch(
      new Request("http://127.0.0.1/healthz"),
      { ...env, MAILCONF_ADMIN_TOKENS: "short" },
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    expect(await res.text()).toBe(
      "mailconf is not configured: MAILCONF_ADMIN_TOKENS (entry 1): a token must have at least 16 characters\n",
    );
  });
});

describe("resolution by MX over DNS-over-HTTPS", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("MAILCONF_MX names the DoH endpoint; a domain hosted at Google gets Gmail's settings", async () => {
    const asked: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      asked.push(url.href);
      return Response.json({
        Status: 0,
        Answer: [{ name: "hosted-at-google.org.", type: 15, TTL: 300, data: "1 aspmx.l.google.com." }],
      });
    });
    const res = await createWorker().fetch(
      new Request("http://127.0.0.1/mail/config-v1.1.xml?emailaddress=jane%40hosted-at-google.org"),
      { ...env, MAILCONF_MX: "https://doh.example.net/dns-query" },
      createExecutionContext(),
    );
    expect(asked).toEqual(["https://doh.example.net/dns-query?name=hosted-at-google.org&type=MX"]);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<hostname>imap.gmail.com</hostname>");
  });

  it("defaults to Cloudflare's DoH; off asks nothing; anything else is named", async () => {
    expect(workerMxResolver({})).toBeTypeOf("function");
    expect(workerMxResolver({ MAILCONF_MX: "off" })).toBeUndefined();
    expect(() => workerMxResolver({ MAILCONF_MX: "8.8.8.8" })).toThrow(
      'MAILCONF_MX: expected "off" or a DNS-over-HTTPS URL such as https://cloudflare-dns.com/dns-query, got "8.8.8.8"',
    );
    const asked = vi.spyOn(globalThis, "fetch");
    const res = await exports.default.fetch(
      "http://127.0.0.1/mail/config-v1.1.xml?emailaddress=jane%40hosted-at-google.org",
    );
    expect(res.status).toBe(404);
    expect(asked).not.toHaveBeenCalled();
  });
});
