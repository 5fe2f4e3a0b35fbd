/**
 * PACC (draft-ietf-mailmaint-pacc-02, the newest revision that could be read; docs/pacc.md): the
 * JSON document of every built-in provider and of a provider with every server type (golden), each
 * checked against the shape of the draft's §4.1 example and against every MUST that could be read
 * (each assertion names its source); the DNS digest recomputed from the served bytes; headers,
 * methods, unknown domains and hostile input. In-process `app.request()`.
 *
 * Sources cited below: "-02 §4.1" is the example of draft-ietf-mailmaint-pacc-02 §4.1 (structure in
 * test/fixtures/pacc/, read through Stalwart's copy); "-00/-01 §n" is the text of the predecessor
 * draft-ietf-mailmaint-pacc-00/-01 (B. Bucksch, github.com/benbucksch/pacc
 * draft-ietf-mailmaint-pacc.md at 1c0777eb), whose rules -02's co-author carried over where -02's
 * example and implementations show the same member; "RFC 8414 §2" through draft-ietf-mailmaint-oauth-public.
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
import {
  PACC_DRAFT,
  PACC_PATH,
  PACC_PROTOCOLS,
  PACC_SUBMISSION,
  paccAnswer,
  paccDigestRecord,
  paccDnsInput,
  uaacDigest,
} from "../src/templates/pacc.ts";
import SECTION_4_1 from "./fixtures/pacc/section-4.1-example-shape.json" with { type: "json" };
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
 * The document's rules, each with its source (see the header). Strict objects: mailconf writes no
 * member the §4.1 example does not have.
 */
/**
 * An HTTP protocol (jmap, caldav, carddav) is `{ url }` (-02 §4.1): the URL scheme is `https`, and a
 * port equal to the default 443 "SHOULD NOT be specified" (-00/-01 §2.2.1 table, §2.2.2.3); mailconf
 * writes no port at all, since -02 has no member to say otherwise.
 */
const httpServer = z.strictObject({
  url: z.url().refine((u) => {
    const url = new URL(u);
    return url.protocol === "https:" && url.port === "" && url.username === "";
  }, "https on port 443, no user info"),
});
/**
 * A text protocol (imap, pop3, smtp) is `{ host }` (-02 §4.1), implicit TLS on its default port
 * (imaps 993, pop3s 995, submissions 465: -00/-01 §2.2.1); the host name "MUST be the fully
 * qualified domain name of the server" (-00/-01 §2.2.2.2).
 */
const textServer = z.strictObject({
  host: z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/),
});
const PaccSchema = z.strictObject({
  // `protocols`: one member per protocol offered (-02 §4.1); "SHOULD contain all protocols that the
  // provider offers" (-00/-01 §2.2.5) — mailconf publishes nothing when it can name none.
  protocols: z
    .strictObject({
      jmap: httpServer.optional(),
      imap: textServer.optional(),
      pop3: textServer.optional(),
      [PACC_SUBMISSION]: textServer.optional(),
      caldav: httpServer.optional(),
      carddav: httpServer.optional(),
    })
    .refine((p) => Object.keys(p).length > 0, "at least one protocol"),
  // `authentication` { "oauth-public"?: { issuer }, password: boolean } (-02 §4.1); the issuer is an
  // RFC 8414 §2 issuer identifier: https, no query, no fragment.
  authentication: z.strictObject({
    "oauth-public": z
      .strictObject({
        issuer: z.url().refine((u) => /^https:\/\/[^?#]+$/.test(u), "https, no query/fragment"),
      })
      .optional(),
    password: z.boolean(),
  }),
  // `info.provider.name` "MUST be no longer than 60 characters", `shortName` "MUST NOT be longer
  // than 20 characters" (-00/-01 §2.3.1; the same limits in Stalwart's -02 types); `help.documentation`
  // a URL (-00/-01 §2.4.1; -02 §4.1).
  info: z.strictObject({
    provider: z.strictObject({
      name: z.string().min(1).max(60),
      shortName: z.string().min(1).max(20).optional(),
    }),
    help: z.strictObject({ documentation: z.url({ protocol: /^https$/ }) }).optional(),
  }),
});

/** Member paths of a JSON value with the JSON type at each (`protocols.imap.host: string`), in document order. */
function memberPaths(value: unknown, prefix = ""): string[] {
  if (Array.isArray(value)) return [`${prefix}: array`, ...memberPaths(value[0], `${prefix}[]`)];
  if (value === null || typeof value !== "object") return [`${prefix}: ${typeof value}`];
  return Object.entries(value).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return typeof v === "object" && v !== null ? memberPaths(v, path) : [`${path}: ${typeof v}`];
  });
}

/**
 * Asserts the document has only members of the -02 §4.1 example, with the example's JSON types and
 * in the example's order (test/fixtures/pacc/).
 */
function expectExampleShape(json: string): void {
  const example = memberPaths(SECTION_4_1);
  const ours = memberPaths(JSON.parse(json));
  for (const path of ours) expect(example, `${path} is not in the -02 §4.1 example`).toContain(path);
  expect(ours).toEqual(example.filter((p) => ours.includes(p)));
}

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
      expectExampleShape(body);
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
        smtp: { host: "smtp.full.example" }, // the 465 SSL server, not the preferred 587 STARTTLS one
        caldav: { url: "https://dav.full.example/dav/calendars/" },
        carddav: { url: "https://dav.full.example/.well-known/carddav" }, // RFC 6764 §5
      },
      authentication: { "oauth-public": { issuer: "https://auth.full.example/" }, password: true },
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

describe(`against ${PACC_DRAFT}`, () => {
  it("every protocol name mailconf writes is a member of the §4.1 example, in the example's order", () => {
    expect(Object.keys(SECTION_4_1.protocols)).toEqual([...PACC_PROTOCOLS]);
    expect(PACC_SUBMISSION).toBe("smtp"); // -02 §4.1; docs/pacc.md says why not automx's "submit"
  });

  it("the fixture itself passes the rules, so the rules do not reject the draft's own example", () => {
    const { info, ...rest } = SECTION_4_1;
    // logo, developer and contact are in the example but mailconf's model has no value for them.
    const trimmed = {
      ...rest,
      info: {
        provider: { name: info.provider.name, shortName: info.provider.shortName },
        help: { documentation: info.help.documentation },
      },
    };
    expect(() => expectValidPacc(JSON.stringify(trimmed))).not.toThrow();
    expectExampleShape(JSON.stringify(trimmed));
  });

  it("the rules reject what the draft forbids: a name over 60, a shortName over 20, a port, http (-00/-01 §2.3.1, §2.2.1)", async () => {
    const base = JSON.parse(await (await get("ua-auto-config.full.example")).text());
    const broken = [
      { ...base, info: { provider: { name: "N".repeat(61) } } },
      { ...base, info: { provider: { name: "N", shortName: "S".repeat(21) } } },
      { ...base, protocols: { imap: { host: "imap.full.example", port: 143 } } },
      { ...base, protocols: { caldav: { url: "http://dav.full.example/" } } },
      { ...base, protocols: { caldav: { url: "https://dav.full.example:8443/" } } },
      { ...base, authentication: { password: "yes" } },
    ];
    for (const doc of broken)
      expect(() => expectValidPacc(JSON.stringify(doc)), JSON.stringify(doc)).toThrow();
  });

  it("members are written in the §4.1 example's order, also inside authentication", async () => {
    const body = await (await get("ua-auto-config.full.example")).text();
    expect(body.indexOf('"oauth-public"')).toBeLessThan(body.indexOf('"password"'));
    expect(body.indexOf('"protocols"')).toBeLessThan(body.indexOf('"authentication"'));
    expect(body.indexOf('"authentication"')).toBeLessThan(body.indexOf('"info"'));
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
    expect(sha256(body)).toBe("M1UFDC7PyXkv2RUrCKkDeD1I/0UNOxzrEEnSRhyT6Mk=");
    // An empty body would give SHA-256("") = 47DEQpj8…: the value is computed from the bytes.
    expect(sha256("")).toBe("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  });

  it("reads digest records as a -02 client does (io-discovery): case, spacing, order, unknown tags", () => {
    const d = "M1UFDC7PyXkv2RUrCKkDeD1I/0UNOxzrEEnSRhyT6Mk=";
    for (const good of [
      `v=UAAC1; a=sha256; d=${d}`, // as mailconf writes it
      `d=${d};a=sha256 ;  v=UAAC1; x=future;`, // any order and spacing, an unknown tag, a final ";"
      `V=uaac1; A=SHA256; D=${d}`, // names and the v and a values in any letter case
      `v=UAAC1; a=sha256; d=AAAA; d=${d}`, // a repeated tag replaces the earlier one
      `v=UAAC1; garbage; a=sha256; d=${d}`, // a part without "=" is skipped
    ])
      expect(uaacDigest(good), good).toBe(d);
    for (const bad of [
      `v=UAAC2; a=sha256; d=${d}`, // another version
      `v=UAAC1; a=sha512; d=${d}`, // another algorithm
      `v=UAAC1; a=sha256; d=${d.slice(4)}`, // not 32 bytes
      `v=UAAC1; a=sha256; d=${d.slice(0, -2)}r=`, // non-canonical: trailing bits set
      `v=UAAC1; a=sha256; d=${d.slice(0, -1)}`, // unpadded
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
    expect(section).toContain("<li>SMTP: <code>smtp.full.example</code></li>");
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
      "smtp",
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
      "PACC clients (IETF draft-ietf-mailmaint-pacc-02, https://ua-auto-config.full.example/.well-known/user-agent-configuration.json):",
    );
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1)).toEqual([
      "  JMAP    https://jmap.full.example/.well-known/jmap",
      "  IMAP    imap.full.example:993  SSL/TLS  login = the e-mail address",
      "  POP3    pop.full.example:995  SSL/TLS  login = the e-mail address",
      "  SMTP    smtp.full.example:465  SSL/TLS  login = the e-mail address",
      "  CALDAV  https://dav.full.example/dav/calendars/",
      "  CARDDAV https://dav.full.example/.well-known/carddav",
      "  sign-in: password yes, OAuth (open public clients) issuer https://auth.full.example/",
      "  not in PACC: IMAP imap.full.example:143 STARTTLS: PACC servers use implicit TLS on port 993 (no port or STARTTLS field)",
      "  not in PACC: SMTP smtp.full.example:587 STARTTLS: PACC servers use implicit TLS on port 465 (no port or STARTTLS field)",
    ]);
  });
});
