/**
 * Answers compiled once (src/templates/compiled.ts, src/handlers/answer-cache.ts): byte for byte
 * the direct rendering for any address, through the app too, and made again when the provider
 * changes. Property tests with fast-check over local parts with every character class the address
 * grammar allows (quotes, `&`, `<` in quoted parts, non-ASCII, the sentinel itself).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { AnswerCache } from "../src/handlers/answer-cache.ts";
import { accountSettings } from "../src/providers/account.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { type EmailAddress, parseEmailAddress } from "../src/providers/domain.ts";
import { type Provider, parseProvider } from "../src/providers/model.ts";
import { MemoryStore, type Resolution, type SettingsStore } from "../src/providers/store.ts";
import { compileAutoconfig, renderAutoconfig } from "../src/templates/autoconfig.ts";
import { renderOutlookSettings } from "../src/templates/autodiscover.ts";
import { compileByDomain, compileByLocalPart, LOCAL_PART_SENTINEL } from "../src/templates/compiled.ts";
import { renderMobileconfig } from "../src/templates/mobileconfig.ts";
import { escapeXml } from "../src/templates/xml.ts";
import { provider } from "./helpers/providers.ts";

/** Local parts parseEmailAddress accepts: dot-atoms from a wide alphabet, and quoted strings. */
const atomChar = fc.constantFrom(..."aZ09!#$%&'*+/=?^_`{|}~-é中\uE000\uE001😀".split(""));
const localPart = fc.oneof(
  fc
    .array(fc.string({ unit: atomChar, minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 })
    .map((atoms) => atoms.join(".")),
  fc
    .string({ unit: fc.constantFrom(..." <>&'\"a\\"), maxLength: 10 })
    .map((s) => `"${s.replace(/[\\"]/g, "")}"`),
);

const addressAt = (domain: string) =>
  localPart.map((l) => parseEmailAddress(`${l}@${domain}`)).filter((a): a is EmailAddress => a !== undefined);

const hoster = provider({
  id: "hoster.example.net",
  domains: ["hoster.example.net"],
  incoming: [
    {
      type: "imap",
      hostname: "imap.%EMAILDOMAIN%",
      port: 993,
      socketType: "SSL",
      username: "%EMAILLOCALPART%",
    },
    { type: "pop3", hostname: "pop.hoster.example.net", port: 995, socketType: "SSL" },
  ],
  caldav: { hostname: "dav.hoster.example.net", port: 443, principalUrl: "/dav/%EMAILDOMAIN%/" },
});
/** The address inside a URL is percent-encoded, which the compiler's probe notices. */
const urlHoster = {
  ...hoster,
  caldav: { ...hoster.caldav, principalUrl: "/dav/%EMAILADDRESS%/" },
} as Provider;

const resolutionOf = (p: Provider, domain: string): Resolution => ({
  provider: p,
  domain,
  via: "exact",
  source: "test",
});

describe("compiled answers", () => {
  it("Outlook settings: the compiled form equals the direct rendering for any address", () => {
    for (const p of [hoster, ...BUILTIN_PROVIDERS]) {
      const domain = p.domains.find((d) => !d.startsWith("*.")) ?? "example.com";
      const r = resolutionOf(p, domain);
      const render = (a: EmailAddress) => renderOutlookSettings(accountSettings(r, a));
      const fill = compileByLocalPart(render, domain, escapeXml);
      expect(fill, p.id).toBeDefined();
      fc.assert(
        fc.property(addressAt(domain), (a) => {
          expect(fill?.(a.localPart)).toBe(render(a));
        }),
        { numRuns: 200 },
      );
    }
  });

  it("autoconfig, compiled per provider: equals the direct rendering for any domain, listed or not", () => {
    const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/);
    const someDomain = fc.array(label, { minLength: 2, maxLength: 4 }).map((l) => l.join("."));
    for (const p of [hoster, ...BUILTIN_PROVIDERS]) {
      const fill = compileAutoconfig(p);
      const listed = p.domains.filter((d) => !d.startsWith("*."));
      fc.assert(
        fc.property(fc.oneof(someDomain, fc.constantFrom(...listed, "hoster.example.net")), (domain) => {
          const direct = renderAutoconfig({ provider: p, domain });
          const answer = fill(domain);
          // Only a listed domain of a provider that lists its domains may need the direct rendering.
          if (answer === undefined)
            expect(p.listDomains && p.domains.includes(domain), `${p.id} ${domain}`).toBe(true);
          else expect(answer).toBe(direct);
        }),
        { numRuns: 100 },
      );
    }
    // %EMAILDOMAIN% in a host name is filled in per domain, not frozen at compile time.
    expect(compileAutoconfig(hoster)("customer.example.org")).toContain(
      "<hostname>imap.customer.example.org</hostname>",
    );
  });

  it("a template that changes the domain (here: upper case) is not compiled by domain", () => {
    expect(compileByDomain((d) => `<domain>${d}</domain>`, escapeXml)?.("a.example")).toBe(
      "<domain>a.example</domain>",
    );
    expect(compileByDomain((d) => `<domain>${d.toUpperCase()}</domain>`, escapeXml)).toBeUndefined();
  });

  it("a template that percent-encodes the address (so also the sentinel) is refused", async () => {
    const r = resolutionOf(urlHoster, "hoster.example.net");
    const render = (a: EmailAddress) => renderOutlookSettings(accountSettings(r, a));
    expect(render(parseEmailAddress("o'k&x@hoster.example.net") as EmailAddress)).toContain(
      "https://dav.hoster.example.net/dav/o&apos;k&amp;x@hoster.example.net/",
    );
    expect(compileByLocalPart(render, "hoster.example.net", escapeXml)).toBeUndefined();
  });

  it("a template that hashes the address is refused (the Apple profile: UUIDs of the address)", async () => {
    const r = resolutionOf(hoster, "hoster.example.net");
    // Pre-render the two the compiler asks for: it needs a synchronous template.
    const cache = new Map<string, string>();
    for (const l of [LOCAL_PART_SENTINEL, "o'k&x.y+z"]) {
      const a = { localPart: l, domain: "hoster.example.net", address: `${l}@hoster.example.net` };
      cache.set(l, await renderMobileconfig(accountSettings(r, a)));
    }
    expect(compileByLocalPart((a) => cache.get(a.localPart) ?? "", "hoster.example.net", escapeXml)).toBe(
      undefined,
    );
  });

  it("AnswerCache: a changed provider object is made again, the same one is not", () => {
    const cache = new AnswerCache<string>(10);
    let made = 0;
    const make = (p: Provider) => () => `${p.displayName} ${++made}`;
    expect(cache.get("k", hoster, make(hoster))).toBe("hoster.example.net mail 1");
    expect(cache.get("k", hoster, make(hoster))).toBe("hoster.example.net mail 1");
    const changed = { ...hoster, displayName: "Renamed" };
    expect(cache.get("k", changed, make(changed))).toBe("Renamed 2");
  });

  it("through the app: Autodiscover and autoconfig answers follow a provider change in the store", async () => {
    let current = hoster;
    const store: SettingsStore = {
      resolve: async (domain) =>
        domain === "hoster.example.net" ? resolutionOf(current, domain) : undefined,
      providers: async () => [{ provider: current, source: "test" }],
    };
    const app = createApp({ store, publicUrl: "https://autoconfig.example.net" });
    const pox = (address: string) =>
      Promise.resolve(
        app.request("/autodiscover/autodiscover.xml", {
          method: "POST",
          headers: { "Content-Type": "text/xml" },
          body: `<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${escapeXml(address)}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`,
        }),
      ).then((r) => r.text());
    const direct = (address: string) => {
      const a = parseEmailAddress(address) as EmailAddress;
      return renderOutlookSettings(accountSettings(resolutionOf(current, a.domain), a));
    };
    for (const address of ["jane@hoster.example.net", "o'k&x@hoster.example.net", "max@hoster.example.net"])
      expect(await pox(address)).toBe(direct(address));
    const config = () => Promise.resolve(app.request("/v1.1/hoster.example.net")).then((r) => r.text());
    expect(await config()).toContain("<hostname>imap.hoster.example.net</hostname>");
    current = {
      ...hoster,
      incoming: [{ ...hoster.incoming[1], hostname: "pop2.hoster.example.net" }],
    } as Provider;
    expect(await pox("jane@hoster.example.net")).toBe(direct("jane@hoster.example.net"));
    expect(await pox("jane@hoster.example.net")).toContain("<Server>pop2.hoster.example.net</Server>");
    expect(await config()).toContain("<hostname>pop2.hoster.example.net</hostname>");
  });

  it("MemoryStore hands out the same provider object, so its answers are compiled once", async () => {
    const store = new MemoryStore([{ provider: hoster, source: "test" }]);
    expect((await store.resolve("hoster.example.net"))?.provider).toBe(
      (await store.resolve("hoster.example.net"))?.provider,
    );
  });
});

describe("providers with a directory bypass the compiled and cached answers", () => {
  const parsed = parseProvider({
    id: "corp.example",
    displayName: "Corp",
    domains: ["corp.example"],
    incoming: [
      { type: "imap", hostname: "imap.corp.example", port: 993, socketType: "SSL", username: "%LOGINNAME%" },
    ],
    outgoing: [{ hostname: "smtp.corp.example", port: 465, socketType: "SSL", username: "%LOGINNAME%" }],
    directory: { url: "ldaps://ldap.corp.example", base: "dc=corp,dc=example" },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const corp = parsed.value;
  // The directory's answers, changed by the test between requests (as the LDAP server's data may be).
  const logins = new Map([
    ["jane@corp.example", "jdoe"],
    ["max@corp.example", "mmuster"],
  ]);
  const app = createApp({
    store: new MemoryStore([{ provider: corp, source: "test" }]),
    publicUrl: "https://autoconfig.corp.example",
    directory: async (_directory, address) => {
      const loginName = logins.get(address.address);
      return loginName ? { loginName } : undefined;
    },
  });
  const text = (path: string, init?: RequestInit) =>
    Promise.resolve(app.request(path, init)).then(async (r) => {
      expect(r.status).toBe(200);
      return r.text();
    });
  const endpoints = ["autoconfig", "autodiscover", "mobileconfig", "guide", "settingsApi"] as const;
  type Endpoint = (typeof endpoints)[number];
  const get: Record<Endpoint, (address: string) => Promise<string>> = {
    autoconfig: (a) => text(`/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(a)}`),
    autodiscover: (a) =>
      text("/autodiscover/autodiscover.xml", {
        method: "POST",
        headers: { "Content-Type": "text/xml" },
        body: `<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${a}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`,
      }),
    mobileconfig: (a) => text(`/mobileconfig?email=${encodeURIComponent(a)}`),
    guide: (a) => text(`/?email=${encodeURIComponent(a)}`),
    settingsApi: (a) => text(`/api/v1/settings?email=${encodeURIComponent(a)}`),
  };
  const loginOf: Record<Endpoint, (body: string) => string | undefined> = {
    autoconfig: (b) => b.match(/<incomingServer type="imap">[\s\S]*?<username>([^<]*)<\/username>/)?.[1],
    autodiscover: (b) => b.match(/<Type>IMAP<\/Type>[\s\S]*?<LoginName>([^<]*)<\/LoginName>/)?.[1],
    mobileconfig: (b) => b.match(/<key>IncomingMailServerUsername<\/key>\s*<string>([^<]*)<\/string>/)?.[1],
    guide: (b) => (b.includes(">jdoe<") ? "jdoe" : b.includes(">mmuster<") ? "mmuster" : undefined),
    settingsApi: (b) => (JSON.parse(b) as { incoming: { username: string }[] }).incoming[0]?.username,
  };
  for (const endpoint of endpoints) {
    it(`${endpoint}: each address gets its own login name, and a directory change is served at once`, async () => {
      logins.set("jane@corp.example", "jdoe");
      // Jane first, so a compiled or cached form would hand her login name to Max.
      expect(loginOf[endpoint](await get[endpoint]("jane@corp.example"))).toBe("jdoe");
      expect(loginOf[endpoint](await get[endpoint]("max@corp.example"))).toBe("mmuster");
      expect(loginOf[endpoint](await get[endpoint]("jane@corp.example"))).toBe("jdoe");
      // Not in the directory: the fallback login name (the address), not a cached one.
      logins.delete("jane@corp.example");
      const fallback = await get[endpoint]("jane@corp.example");
      expect(fallback).not.toContain("jdoe");
      if (endpoint !== "guide") expect(loginOf[endpoint](fallback)).toBe("jane@corp.example");
      logins.set("jane@corp.example", "jdoe");
    });
  }
});
