/**
 * What mailconf makes of each feature of the real ISPDB files, on the project's own fixtures
 * (test/fixtures/ispdb): decoded text (ISO-8859-1, character references, CDATA), many domains,
 * POP3 options, OAuth2, %EMAILLOCALPART% and %EMAILDOMAIN%, deprecated authentication names, and
 * what every client receives for an address of each (autoconfig, Autodiscover, profile), checked
 * with the in-repo checkers.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type IspdbFolder, loadIspdb } from "../src/node/config-files.ts";
import type { Provider } from "../src/providers/model.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { renderAutoconfig } from "../src/templates/autoconfig.ts";
import { renderOutlookSettings } from "../src/templates/autodiscover.ts";
import { renderMobileconfig } from "../src/templates/mobileconfig.ts";
import { accountFor } from "./helpers/accounts.ts";
import { checkAutoconfigClients } from "./helpers/checks/autoconfig-clients.ts";
import { validateAutoconfigStructure } from "./helpers/checks/autoconfig-schema.ts";
import { expectValidProfile } from "./helpers/checks/expect.ts";
import { FIXTURE_ISPDB_DIR } from "./helpers/shared.ts";

let folder: IspdbFolder;
let store: MemoryStore;
beforeAll(async () => {
  folder = await loadIspdb(FIXTURE_ISPDB_DIR);
  store = new MemoryStore(folder.entries);
});

const provider = (id: string): Provider => {
  const entry = folder.entries.find((e) => e.provider.id === id);
  if (!entry) throw new Error(`no fixture provider ${id}`);
  return entry.provider;
};

const account = (input: string) => accountFor(store, input);

describe("ISPDB features, as read", () => {
  it("ISO-8859-1 files are decoded as Latin-1 (displayName, descr)", () => {
    const p = provider("latin1.example");
    expect(p.displayName).toBe("Société Générale de Messagerie");
    expect(p.displayShortName).toBe("Mél");
    expect(p.documentation).toEqual([
      { url: "https://latin1.example/aide", descr: { fr: "Paramètres de messagerie (« IMAP »)" } },
    ]);
  });

  it("character references and the five entities are decoded; CDATA is kept as written", () => {
    const p = provider("entities.example");
    expect(p.displayName).toBe("Café & Co 😀 <Mail>");
    expect(p.displayShortName).toBe("Caf&eacute; <Co>");
    expect(p.documentation[0]).toEqual({
      url: "https://entities.example/help?topic=imap&lang=en",
      descr: { en: "\"IMAP\" 'help' – step by step" },
    });
  });

  it("many domains, lower-cased, in the file's order; a domain two files claim goes to the first file", async () => {
    const p = provider("bigmail.example");
    expect(p.domains).toHaveLength(12);
    expect(p.domains).toContain("bigmail-legacy.example");
    expect((await store.resolve("bigmail.example.at"))?.provider.id).toBe("bigmail.example");
    expect((await store.resolve("minimal.example"))?.provider.id).toBe("minimal.example");
  });

  it("POP3 with leaveMessagesOnServer; IMAP and POP3 servers in the file's order", () => {
    const p = provider("bigmail.example");
    expect(p.incoming.map((s) => [s.type, s.port, s.socketType])).toEqual([
      ["imap", 993, "SSL"],
      ["imap", 143, "STARTTLS"],
      ["pop3", 995, "SSL"],
      ["pop3", 110, "STARTTLS"],
    ]);
    expect(p.incoming[2]?.leaveMessagesOnServer).toBe(true);
    expect(provider("localpart.example").incoming[0]?.leaveMessagesOnServer).toBe(false);
  });

  it("OAuth2 methods in order, and the oAuth2 section", () => {
    const p = provider("oauthmail.example");
    expect(p.incoming[0]?.authentication).toEqual(["OAuth2", "password-cleartext"]);
    expect(p.oauth2).toEqual({
      issuer: "login.oauthmail.example",
      scope: "mail.read mail.send offline_access",
      authURL: "https://login.oauthmail.example/oauth2/authorize",
      tokenURL: "https://login.oauthmail.example/oauth2/token",
    });
  });

  it("deprecated authentication names are mapped as Thunderbird maps them; whitespace around values is trimmed", () => {
    const lp = provider("localpart.example");
    expect(lp.outgoing.map((s) => s.authentication)).toEqual([
      ["password-cleartext"],
      ["password-encrypted"],
    ]);
    const minimal = provider("minimal.example");
    expect([minimal.incoming[0]?.hostname, minimal.incoming[0]?.port]).toEqual(["imap.minimal.example", 993]);
    // No <username>: the documented default.
    expect(minimal.incoming[0]?.username).toBe("%EMAILADDRESS%");
  });
});

describe("what clients receive for an address of each fixture", () => {
  it("%EMAILLOCALPART% and %EMAILDOMAIN% are expanded for Outlook and Apple, kept for autoconfig clients", async () => {
    const a = await account("max.muster@lp.example");
    const autodiscover = renderOutlookSettings(a);
    expect(autodiscover).toContain("<Server>pop3.lp.example</Server>");
    expect(autodiscover).toContain("<LoginName>max.muster</LoginName>");
    expect(autodiscover).toContain("<LoginName>max.muster@lp.example</LoginName>");
    const autoconfig = renderAutoconfig({ provider: a.provider, domain: a.domain });
    expect(autoconfig).toContain("<hostname>pop3.lp.example</hostname>");
    expect(autoconfig).toContain("<username>%EMAILLOCALPART%</username>");
  });

  it.each([
    "jane@bigmail.example",
    "jane@oauthmail.example",
    "jane@latin1.example",
    "jane@entities.example",
    "jane@minimal.example",
    "jane@lp.example",
  ])(
    "%s: autoconfig fits the schema and Thunderbird desktop accepts it; the profile fits Apple's schemas",
    async (input) => {
      const a = await account(input);
      const autoconfig = renderAutoconfig({ provider: a.provider, domain: a.domain });
      expect(validateAutoconfigStructure(autoconfig)).toEqual([]);
      expect(checkAutoconfigClients(autoconfig).thunderbirdDesktop).toBe("OK");
      expectValidProfile(await renderMobileconfig(a), { strict: true });
    },
  );

  it("a provider offering only OAuth2 on a host Thunderbird has no OAuth2 details for: Android accepts, desktop refuses", async () => {
    // As Thunderbird desktop does with such ISPDB entries (OAuth2Providers.sys.mjs); the profile is still valid.
    const ex = await account("jane@exchange.example");
    const verdict = checkAutoconfigClients(renderAutoconfig({ provider: ex.provider, domain: ex.domain }));
    expect(verdict).toEqual({ thunderbirdDesktop: "Need proper <incomingServer>", thunderbirdAndroid: "OK" });
    expectValidProfile(await renderMobileconfig(ex), { strict: true });
  });

  it("a plain-text SMTP server makes Thunderbird for Android refuse the whole document, as with the real ISPDB", async () => {
    const lp = await account("jane@lp.example");
    const verdict = checkAutoconfigClients(renderAutoconfig({ provider: lp.provider, domain: lp.domain }));
    expect(verdict.thunderbirdAndroid).toBe('outgoingServer: Unknown socketType "plain"');
  });
});
