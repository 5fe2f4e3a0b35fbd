/**
 * PACC (draft-ietf-mailmaint-pacc-04; docs/pacc.md): the JSON document of every built-in provider
 * and of a provider with every server type (golden), each checked against the draft's rules as
 * written down in docs/pacc.md ("What the document must be"); the DNS digest recomputed from the
 * served bytes; headers, methods, unknown domains and hostile input. In-process `app.request()`.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { createApp } from "../src/app.ts";
import { checkAddress } from "../src/cli/check-report.ts";
import { accountSettings } from "../src/providers/account.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { formatPath, parseProvider } from "../src/providers/model.ts";
import { MemoryStore, type SettingsStore } from "../src/providers/store.ts";
import { PACC_PATH, paccAnswer, paccDigestRecord, paccDnsInput, uaacDigest } from "../src/templates/pacc.ts";
import { parseZoneText } from "./helpers/dns-server.ts";
import { expectGolden } from "./helpers/golden.ts";
import { provider } from "./helpers/providers.ts";

const PUBLIC_URL = "https://autoconfig.example.org";

/** A provider with every server type PACC names, plus servers it cannot express. */
const FULL = provider({
  id: "full.example",
  displayName: "Full Example Mail",
  displayShortName: "FullEx",
  domains: ["full.example"],
  jmap: { url: "https://jmap.full.example/.well-known/jmap" },
  incoming: [
    { type: "imap", hostname: "imap.full.example", port: 993, socketType: "SSL" },
    { type: "imap", hostname: "imap.full.example", port: 143, socketType: "STARTTLS" },
    { type: "pop3", hostname: "pop.%EMAILDOMAIN%", port: 995, socketType: "SSL" },
  ],
  outgoing: [
    { hostname: "smtp.full.example", port: 587, socketType: "STARTTLS" },
    {
      hostname: "smtp.full.example",
      port: 465,
      socketType: "SSL",
      authentication: ["OAuth2", "password-cleartext"],
    },
  ],
  caldav: { hostname: "dav.full.example", principalUrl: "/dav/calendars/" },
  carddav: { hostname: "dav.full.example" },
  oauthPublic: { issuer: "https://auth.full.example/" },
  documentation: [{ url: "https://help.full.example/mail", descr: { en: "Set up mail" } }],
});
/** Nothing PACC can say: STARTTLS submission, IMAP with the local part as login. */
const NOTHING = provider({
  id: "nothing.example",
  incoming: [
    {
      type: "imap",
      hostname: "imap.nothing.example",
      port: 993,
      socketType: "SSL",
      username: "%EMAILLOCALPART%",
    },
  ],
});

const store = new MemoryStore(
  [FULL, NOTHING, ...BUILTIN_PROVIDERS].map((p) => ({ provider: p, source: "test" })),
);
const app = createApp({ store, publicUrl: PUBLIC_URL });

const get = (host: string, init: RequestInit = {}, path = PACC_PATH) =>
  app.request(path, { ...init, headers: { Host: host, ...(init.headers as Record<string, string>) } });
const sha256 = (bytes: ArrayBuffer | string) =>
  createHash("sha256")
    .update(typeof bytes === "string" ? bytes : new Uint8Array(bytes))
    .digest("base64");

/*
 * The draft's rules as docs/pacc.md ("What the document must be") transcribes them, each with its
 * source there: the draft's §4.1 example and the limits Stalwart and automx implement.
 * Strict objects: mailconf writes no member the draft does not define.
 */
/** An HTTP protocol (jmap, caldav, carddav) is `{ url }`, an `https` URL on the default port 443. */
const httpServer = z.strictObject({
  url: z.url().refine((u) => {
    const url = new URL(u);
    return url.protocol === "https:" && url.port === "" && url.username === "";
  }, "https on port 443, no user info"),
});
/** A text protocol (imap, pop3, submit) is `{ host }`: implicit TLS on its default port (no port member). */
const textServer = z.strictObject({
  host: z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/),
});
const PaccSchema = z.strictObject({
  // `protocols` is required (§4.1 example); its members are the protocols the provider offers.
  protocols: z
    .strictObject({
      jmap: httpServer.optional(),
      imap: textServer.optional(),
      pop3: textServer.optional(),
      submit: textServer.optional(),
      caldav: httpServer.optional(),
      carddav: httpServer.optional(),
    })
    .refine((p) => Object.keys(p).length > 0, "at least one protocol"),
  // `authentication.password` is a required boolean; `oauth-public.issuer` is an RFC 8414
  // issuer: https, no query, no fragment.
  authentication: z.strictObject({
    password: z.boolean(),
    "oauth-public": z
      .strictObject({
        issuer: z.url().refine((u) => /^https:\/\/[^?#]+$/.test(u), "https, no query/fragment"),
      })
      .optional(),
  }),
  // `info.provider.name` is required, at most 60 characters; `shortName` at most 20.
  info: z.strictObject({
    provider: z.strictObject({
      name: z.string().min(1).max(60),
      shortName: z.string().min(1).max(20).optional(),
    }),
    help: z.strictObject({ documentation: z.url({ protocol: /^https$/ }) }).optional(),
  }),
});

/** Asserts every rule above; names the failing member. */
function expectValidPacc(json: string): z.output<typeof PaccSchema> {
  const parsed = PaccSchema.safeParse(JSON.parse(json));
  if (!parsed.success)
    throw new Error(parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join("\n"));
  return parsed.data;
}

const BUILTIN_DOMAINS = ["gmail.com", "outlook.com", "icloud.com", "yahoo.com", "example.com"];

describe("the PACC document", () => {
  for (const domain of [...BUILTIN_DOMAINS, "full.example"]) {
    it(`${domain}: golden, valid by the draft's rules, served on ua-auto-config.${domain}`, async () => {
      const res = await get(`ua-auto-config.${domain}`);
      expect(res.status).toBe(200);
      const body = await res.text();
      expectGolden(`pacc/${domain}.json`, body);
      expectValidPacc(body);
    });
  }

  it("full.example: every server type maps to the draft's names; what it cannot say is listed", () => {
    const answer = paccAnswer(
      accountSettings({ provider: FULL, domain: "full.example", source: "test", via: "exact" }),
    );
    expect(answer.document).toEqual({
      protocols: {
        jmap: { url: "https://jmap.full.example/.well-known/jmap" },
        imap: { host: "imap.full.example" },
        pop3: { host: "pop.full.example" }, // %EMAILDOMAIN% is known: the document is per domain
        submit: { host: "smtp.full.example" }, // the 465 SSL server, not the preferred 587 STARTTLS one
        caldav: { url: "https://dav.full.example/dav/calendars/" },
        carddav: { url: "https://dav.full.example/.well-known/carddav" }, // RFC 6764 §5
      },
      authentication: { password: true, "oauth-public": { issuer: "https://auth.full.example/" } },
      info: {
        provider: { name: "Full Example Mail", shortName: "FullEx" },
        help: { documentation: "https://help.full.example/mail" },
      },
    });
    expect(answer.omitted).toEqual([
      "IMAP imap.full.example:143 STARTTLS: PACC servers use implicit TLS on port 993 (no port or STARTTLS field)",
      "SMTP smtp.full.example:587 STARTTLS: PACC servers use implicit TLS on port 465 (no port or STARTTLS field)",
    ]);
  });

  it("built-in providers: OAuth2 without an open-public-client issuer and local-part logins are reported", () => {
    const omitted = (domain: string) => {
      const p = BUILTIN_PROVIDERS.find((b) => b.domains.includes(domain));
      if (!p) throw new Error(domain);
      return paccAnswer(accountSettings({ provider: p, domain, source: "built-in", via: "exact" })).omitted;
    };
    expect(omitted("gmail.com")).toContain(
      "OAuth2 sign-in: PACC announces only OAuth for open public clients, and the settings name no oauthPublic.issuer",
    );
    expect(omitted("icloud.com")).toContain(
      "IMAP imap.mail.me.com:993 SSL: login name %EMAILLOCALPART%; PACC has no login name field, clients sign in with the e-mail address",
    );
  });

  it("the same bytes for every request: Host forms, letter case, port, query string", async () => {
    const reference = await (await get("ua-auto-config.full.example")).text();
    for (const host of ["full.example", "UA-AUTO-CONFIG.Full.Example", "ua-auto-config.full.example:443"]) {
      expect(await (await get(host)).text()).toBe(reference);
    }
    expect(
      await (await get("ua-auto-config.full.example", {}, `${PACC_PATH}?emailaddress=x%40y.z`)).text(),
    ).toBe(reference);
  });
});

describe("its DNS records", () => {
  for (const domain of [...BUILTIN_DOMAINS, "full.example"]) {
    it(`${domain}: the _ua-auto-config TXT value is the SHA-256 of the served bytes`, async () => {
      const body = await (await get(`ua-auto-config.${domain}`)).arrayBuffer();
      const expected = `v=UAAC1; a=sha256; d=${sha256(body)}`;
      // /dns?format=zone, as `mailconf dns` prints it (same code, compared in test/dns.test.ts).
      const zone = await (await app.request(`/dns?domain=${domain}&format=zone`)).text();
      const records = parseZoneText(zone);
      expect(records.find((r) => r.name === `_ua-auto-config.${domain}.`)).toEqual({
        name: `_ua-auto-config.${domain}.`,
        ttl: 3600,
        type: "TXT",
        text: expected,
      });
      expect(records.find((r) => r.name === `ua-auto-config.${domain}.`)).toMatchObject({
        type: "CNAME",
        target: "autoconfig.example.org.",
      });
      expect(await paccDigestRecord(new TextDecoder().decode(body))).toBe(expected);
    });
  }

  it("the built-in example.com digest is a fixed value (the one test/dns.test.ts expects)", async () => {
    const body = await (await get("ua-auto-config.example.com")).arrayBuffer();
    expect(sha256(body)).toBe("wwaeAcq4emhwyOw2gFXZtsudjzm/iTM6cobgFLUSyq8=");
    // An empty body would give SHA-256("") = 47DEQpj8…: the value is computed from the bytes.
    expect(sha256("")).toBe("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  });

  it("reads digest records as a client does: tags in any order and spacing, unknown tags ignored", () => {
    const d = "wwaeAcq4emhwyOw2gFXZtsudjzm/iTM6cobgFLUSyq8=";
    expect(uaacDigest(`v=UAAC1; a=sha256; d=${d}`)).toBe(d);
    expect(uaacDigest(`d=${d};a=sha256 ;  v=UAAC1; x=future;`)).toBe(d);
    for (const bad of [
      `v=UAAC2; a=sha256; d=${d}`, // another version
      `v=UAAC1; a=sha512; d=${d}`, // another algorithm
      `v=UAAC1; a=sha256; d=${d.slice(4)}`, // not 32 bytes
      `v=UAAC1; a=sha256; d=${d}; d=${d}`, // a tag twice
      "v=UAAC1; a=sha256", // no digest
      "v=spf1 -all",
    ])
      expect(uaacDigest(bad), bad).toBeUndefined();
  });

  it("a domain with nothing PACC can say gets no PACC records, and a remark why", async () => {
    const account = accountSettings({
      provider: NOTHING,
      domain: "nothing.example",
      source: "test",
      via: "exact",
    });
    expect(await paccDnsInput(account)).toEqual({
      paccOmitted: "no server can be expressed, so no PACC document is published for this domain",
    });
    const zone = await (await app.request("/dns?domain=nothing.example&format=zone")).text();
    expect(zone).not.toContain("ua-auto-config");
    expect(zone).toContain("; Note: no PACC records: no server can be expressed");
  });
});

describe("HTTP", () => {
  it("200 application/json, readable from any origin (CORS), cacheable", async () => {
    const res = await get("ua-auto-config.example.com");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("HEAD has the GET headers and no body; other methods get 405 with Allow", async () => {
    const head = await get("ua-auto-config.example.com", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("application/json");
    expect(await head.text()).toBe("");
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const res = await get("ua-auto-config.example.com", { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
    }
  });

  it("unknown domain, an IP address, a domain with nothing to say: 404 plain text, never cached", async () => {
    for (const [host, text] of [
      ["ua-auto-config.unknown.example", "No settings for unknown.example.\n"],
      ["127.0.0.1:8080", `No mail domain: ask https://ua-auto-config.<domain>${PACC_PATH}\n`],
      ["ua-auto-config.nothing.example", "No PACC document for nothing.example.\n"],
    ] as const) {
      const res = await get(host);
      expect(res.status, host).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(await res.text()).toBe(text);
    }
  });

  it("hostile Host values and a failing store are 404s, never a 5xx", async () => {
    for (const host of [
      "ua-auto-config.<script>.example",
      `ua-auto-config.${"a".repeat(300)}.example`,
      "ua-auto-config..example.com",
      "ua-auto-config.[::1]",
      "ua-auto-config.example.com.attacker.example",
      "",
    ]) {
      const res = await get(host);
      expect(res.status, JSON.stringify(host)).toBe(404);
      expect(await res.text()).not.toContain("<script>");
    }
    const failing: SettingsStore = {
      resolve: async () => {
        throw new Error("database is locked");
      },
    } as unknown as SettingsStore;
    const broken = createApp({ store: failing, publicUrl: PUBLIC_URL });
    const res = await broken.request(PACC_PATH, { headers: { Host: "ua-auto-config.example.com" } });
    expect(res.status).toBe(404);
  });
});

describe("settings model", () => {
  it("jmap.url and oauthPublic.issuer are validated and named", () => {
    const bad = parseProvider({
      id: "bad.example",
      displayName: "Bad",
      domains: ["bad.example"],
      incoming: [{ type: "imap", hostname: "imap.bad.example", port: 993, socketType: "SSL" }],
      outgoing: [{ hostname: "smtp.bad.example", port: 465, socketType: "SSL" }],
      jmap: { url: "http://jmap.bad.example/session" },
      oauthPublic: { issuer: "https://auth.bad.example/?tenant=1" },
    });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.map((e) => `${formatPath(e.path)}: ${e.message}`)).toEqual([
      'jmap.url: expected an https URL such as https://jmap.example.com/.well-known/jmap, got "http://jmap.bad.example/session"',
      "oauthPublic.issuer: expected an issuer URL without query or fragment (RFC 8414 §2)",
    ]);
  });
});

describe("the settings guide", () => {
  it("the page and its JSON show the PACC answer and what it leaves out", async () => {
    const page = await (await app.request("/?email=jane%40full.example")).text();
    const section = page.slice(page.indexOf('<section class="card" id="pacc">'));
    expect(section).toContain(
      "read <code>https://ua-auto-config.full.example/.well-known/user-agent-configuration.json</code>",
    );
    expect(section).toContain("<li>SUBMIT: <code>smtp.full.example</code></li>");
    expect(section).toContain("<li>CARDDAV: <code>https://dav.full.example/.well-known/carddav</code></li>");
    expect(section).toContain("<p>Sign-in: password, OAuth (https://auth.full.example/).");
    expect(section).toContain(
      "<li>IMAP imap.full.example:143 STARTTLS: PACC servers use implicit TLS on port 993 (no port or STARTTLS field)</li>",
    );
    const json = await (await app.request("/api/v1/settings?email=jane%40full.example")).json();
    expect(json.pacc).toMatchObject({
      url: "https://ua-auto-config.full.example/.well-known/user-agent-configuration.json",
      published: true,
      password: true,
      oauthIssuer: "https://auth.full.example/",
    });
    expect(json.pacc.servers.map((s: { protocol: string }) => s.protocol)).toEqual([
      "jmap",
      "imap",
      "pop3",
      "submit",
      "caldav",
      "carddav",
    ]);
    const nothing = await (await app.request("/?email=jane%40nothing.example")).text();
    expect(nothing).toContain("<p>No PACC document is published for this domain.</p>");
  });
});

describe("mailconf check", () => {
  it("shows the PACC answer beside the others, and what it leaves out", async () => {
    const { ok, lines } = await checkAddress(store, "jane@full.example");
    expect(ok).toBe(true);
    const at = lines.indexOf(
      "PACC clients (IETF draft-ietf-mailmaint-pacc-04, https://ua-auto-config.full.example/.well-known/user-agent-configuration.json):",
    );
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1)).toEqual([
      "  JMAP    https://jmap.full.example/.well-known/jmap",
      "  IMAP    imap.full.example:993  SSL/TLS  login = the e-mail address",
      "  POP3    pop.full.example:995  SSL/TLS  login = the e-mail address",
      "  SUBMIT  smtp.full.example:465  SSL/TLS  login = the e-mail address",
      "  CALDAV  https://dav.full.example/dav/calendars/",
      "  CARDDAV https://dav.full.example/.well-known/carddav",
      "  sign-in: password yes, OAuth (open public clients) issuer https://auth.full.example/",
      "  not in PACC: IMAP imap.full.example:143 STARTTLS: PACC servers use implicit TLS on port 993 (no port or STARTTLS field)",
      "  not in PACC: SMTP smtp.full.example:587 STARTTLS: PACC servers use implicit TLS on port 465 (no port or STARTTLS field)",
    ]);
  });
});
