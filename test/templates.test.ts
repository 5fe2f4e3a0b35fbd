/**
 * Every template for the four reference accounts: golden files, and the in-repo checkers
 * (test/helpers/checks: Thunderbird + Thunderbird for Android acceptance, the autoconfig schema's
 * structure, Apple's payload schemas and the plist DTD). Where ../shared is present, its validators
 * (Python tools, the RELAX NG schema and the plist DTD through xmllint) check the same documents.
 */
import { XMLParser } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { renderAutoconfig } from "../src/templates/autoconfig.ts";
import { renderAutodiscoverError, renderOutlookSettings } from "../src/templates/autodiscover.ts";
import { profileProblem, renderMobileconfig } from "../src/templates/mobileconfig.ts";
import { accountFor } from "./helpers/accounts.ts";
import { expectAcceptedAutoconfig, expectValidProfile } from "./helpers/checks/expect.ts";
import { describeShared } from "./helpers/external.ts";
import { expectGolden } from "./helpers/golden.ts";
import {
  checkAutoconfigClients,
  validateAutoconfigSchema,
  validateMobileconfig,
  validatePlistDtd,
  wellFormed,
} from "./helpers/shared.ts";

const store = new MemoryStore(BUILTIN_PROVIDERS.map((provider) => ({ provider, source: "built-in" })));
const ADDRESSES = ["user@gmail.com", "user@outlook.com", "user@icloud.com", "user@example.com"];

const account = (input: string) => accountFor(store, input);

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  isArray: (n) => n === "Protocol",
});

describe.each(ADDRESSES)("%s", (input) => {
  it("autoconfig: golden, accepted by Thunderbird and Thunderbird for Android, fits the schema", async () => {
    const a = await account(input);
    const out = renderAutoconfig({ provider: a.provider, domain: a.domain });
    expectGolden(`autoconfig/${input}.xml`, out);
    expectAcceptedAutoconfig(out);
    expect(out.charCodeAt(0)).toBe("<".charCodeAt(0)); // no BOM
  });

  it("autodiscover: golden, well-formed, TLS mapping and LoginName per server", async () => {
    const a = await account(input);
    const out = renderOutlookSettings(a);
    expectGolden(`autodiscover/${input}.xml`, out);
    expect(wellFormed(out).status).toBe(0);
    const all = xml.parse(out).Autodiscover.Response.Account.Protocol as Record<string, string>[];
    // Mail servers first, then CalDAV/CardDAV for the providers that have them (eM Client reads these).
    const dav = [a.caldav && "CalDAV", a.carddav && "CardDAV"].filter(Boolean);
    expect(all.slice(all.length - dav.length).map((p) => p.Type)).toEqual(dav);
    const protocols = all.slice(0, all.length - dav.length);
    const servers = [...a.incoming, ...a.outgoing];
    expect(protocols).toHaveLength(servers.length);
    protocols.forEach((p, i) => {
      const s = servers[i];
      if (!s) throw new Error("server count");
      expect(p.Type).toBe({ imap: "IMAP", pop3: "POP3", smtp: "SMTP" }[s.type]);
      expect(p.Server).toBe(s.hostname);
      expect(p.Port).toBe(String(s.port));
      const expected = { SSL: ["on", "SSL"], STARTTLS: ["on", "TLS"], plain: ["off", "None"] }[s.socketType];
      expect([p.SSL, p.Encryption]).toEqual(expected);
      expect(p.SPA).toBe("off");
      expect(p.LoginName).not.toMatch(/%/);
    });
  });

  it("profile: golden, fits Apple's payload schemas and the plist DTD, identical twice", async () => {
    const problem = profileProblem(await account(input));
    if (input === "user@outlook.com") {
      // OAuth2 only: no profile can sign in, so none is served (the handler answers 409).
      expect(problem).toBe(
        "Outlook.com (Microsoft) accepts only OAuth2 sign-in, which a configuration profile cannot set up",
      );
      return;
    }
    expect(problem).toBeUndefined();
    const out = await renderMobileconfig(await account(input));
    expectGolden(`mobileconfig/${input}.mobileconfig`, out);
    expectValidProfile(out, { strict: true });
    expect(await renderMobileconfig(await account(input))).toBe(out);
  });
});

describeShared("the validators of ../shared accept every template's output", () => {
  describe.each(ADDRESSES)("%s", (input) => {
    it("check-autoconfig-clients.py and the autoconfig RELAX NG schema", async () => {
      const a = await account(input);
      const out = renderAutoconfig({ provider: a.provider, domain: a.domain });
      const clients = checkAutoconfigClients(out);
      expect(clients.output).not.toMatch(/REJECT/i);
      expect(clients.status, clients.output).toBe(0);
      const rng = validateAutoconfigSchema(out);
      expect(rng.status, rng.output).toBe(0);
    });
    it("validate-mobileconfig.py and the plist DTD", async () => {
      const out = await renderMobileconfig(await account(input));
      const apple = validateMobileconfig(out);
      expect(apple.status, apple.output).toBe(0);
      expect(validatePlistDtd(out).status).toBe(0);
    });
  });
});

describe("reference values", () => {
  it("iCloud logs in to IMAP with the local part and to SMTP with the full address (ISPDB me.com.xml)", async () => {
    const out = renderOutlookSettings(await account("jane@icloud.com"));
    const [imap, smtp] = xml.parse(out).Autodiscover.Response.Account.Protocol;
    expect(imap).toMatchObject({
      Type: "IMAP",
      Server: "imap.mail.me.com",
      Port: "993",
      LoginName: "jane",
      SSL: "on",
      Encryption: "SSL",
    });
    expect(smtp).toMatchObject({
      Type: "SMTP",
      Server: "smtp.mail.me.com",
      Port: "587",
      LoginName: "jane@icloud.com",
      Encryption: "TLS",
    });
  });

  it("example.com is the self-hosted company: IMAP 993 SSL, POP3 995 SSL, SMTP 465 SSL and 587 STARTTLS", async () => {
    const a = await account("user@example.com");
    expect(a.incoming.map((s) => [s.type, s.port, s.socketType, s.username])).toEqual([
      ["imap", 993, "SSL", "user@example.com"],
      ["pop3", 995, "SSL", "user@example.com"],
    ]);
    expect(a.outgoing.map((s) => [s.port, s.socketType])).toEqual([
      [465, "SSL"],
      [587, "STARTTLS"],
    ]);
  });

  it("profiles of different addresses differ in PayloadIdentifier and every PayloadUUID", async () => {
    const a = await renderMobileconfig(await account("alice@example.com"));
    const b = await renderMobileconfig(await account("bob@example.com"));
    const ids = (s: string) =>
      [...s.matchAll(/<key>Payload(?:Identifier|UUID)<\/key>\s*<string>([^<]+)/g)].map((m) => m[1]);
    expect(ids(a)).toHaveLength(4);
    for (const id of ids(a)) expect(ids(b)).not.toContain(id);
  });

  it("escapes every inserted value", async () => {
    const a = await account('"<x>&\'"@example.com');
    const out = renderOutlookSettings(a);
    expect(wellFormed(out).status).toBe(0);
    expect(out).toContain("<LoginName>&quot;&lt;x&gt;&amp;&apos;&quot;@example.com</LoginName>");
    expectValidProfile(await renderMobileconfig(a));
  });

  it("the error 600 document has Exchange's shape (corpus response-error-600.xml)", () => {
    const out = renderAutodiscoverError(600, { now: new Date("2026-01-01T21:25:04.889Z") });
    expect(out).toContain('<Error Time="21:25:04.889" Id="2477272013">');
    expect(out).toContain("<ErrorCode>600</ErrorCode>");
    expect(out).toContain("<Message>Invalid Request</Message>");
    expect(out).toMatch(/<Response>\n/);
  });
});
