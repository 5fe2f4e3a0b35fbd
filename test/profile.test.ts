/**
 * Apple profiles with CalDAV/CardDAV and every profile option (test/fixtures/profile-options.yaml):
 * golden files, Apple's payload schemas and the plist DTD (the in-repo checker; with ../shared also
 * validate-mobileconfig.py and xmllint), and the values Apple's schema asks for (reference/mobileconfig.md §1, §3, §4, §7).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSettingsFile } from "../src/node/config-files.ts";
import { accountSettings } from "../src/providers/account.ts";
import { parseEmailAddress } from "../src/providers/domain.ts";
import { parseProvider, type SettingsFile } from "../src/providers/model.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { renderMobileconfig } from "../src/templates/mobileconfig.ts";
import { expectValidProfile } from "./helpers/checks/expect.ts";
import { describeShared } from "./helpers/external.ts";
import { expectGolden } from "./helpers/golden.ts";
import { REPO_ROOT, validateMobileconfig, validatePlistDtd } from "./helpers/shared.ts";

const FIXTURE = join(REPO_ROOT, "test/fixtures/profile-options.yaml");
let settings: SettingsFile | undefined;

async function render(input: string): Promise<string> {
  settings ??= await loadSettingsFile(FIXTURE);
  const store = new MemoryStore(settings.providers.map((provider) => ({ provider, source: FIXTURE })));
  const address = parseEmailAddress(input);
  if (!address) throw new Error(input);
  const resolution = await store.resolve(address.domain);
  if (!resolution) throw new Error(`no provider for ${input}`);
  return renderMobileconfig(accountSettings(resolution, address));
}

/** The `<key>K</key><value/>` pairs of one payload dict, as text, in order (enough for these flat dicts). */
function payloads(xml: string): string[] {
  return [...xml.matchAll(/\n\t\t<dict>\n([\s\S]*?)\n\t\t<\/dict>/g)].map((m) => m[1] ?? "");
}
const value = (dict: string, key: string) =>
  new RegExp(`<key>${key}</key>\\n\\t*(<[a-z]+/>|<[a-z]+>[^<]*</[a-z]+>)`).exec(dict)?.[1];

const OPTION_ADDRESSES = ["jane.doe@hosting.example.net", "max@pop.example.org"];

describe.each(OPTION_ADDRESSES)("%s", (input) => {
  it("golden, fits Apple's payload schemas and the plist DTD, without warnings", async () => {
    const out = await render(input);
    expectGolden(`mobileconfig/${input}.mobileconfig`, out);
    expectValidProfile(out, { strict: true });
    expect(await render(input)).toBe(out);
  });
});

describeShared("validate-mobileconfig.py and the plist DTD accept every profile option", () => {
  it.each(OPTION_ADDRESSES)("%s", async (input) => {
    const out = await render(input);
    const apple = validateMobileconfig(out);
    expect(apple.status, apple.output).toBe(0);
    expect(apple.output).not.toMatch(/warn/);
    expect(validatePlistDtd(out).status).toBe(0);
  });
});

describe("profile options and DAV payloads", () => {
  it("mail, CalDAV and CardDAV payloads with host name, port, SSL and user name; never a password", async () => {
    const out = await render("jane.doe@hosting.example.net");
    const [mail, caldav, carddav, extra] = payloads(out);
    expect(extra).toBeUndefined();
    expect(value(mail ?? "", "PayloadType")).toBe("<string>com.apple.mail.managed</string>");
    expect(value(mail ?? "", "IncomingMailServerPortNumber")).toBe("<integer>143</integer>");
    expect(value(mail ?? "", "IncomingMailServerUseSSL")).toBe("<true/>"); // STARTTLS, §3 mapping
    expect(value(mail ?? "", "IncomingMailServerAuthentication")).toBe("<string>EmailAuthCRAMMD5</string>");
    expect(value(caldav ?? "", "PayloadType")).toBe("<string>com.apple.caldav.account</string>");
    expect(value(caldav ?? "", "CalDAVHostName")).toBe("<string>dav.hosting.example.net</string>");
    expect(value(caldav ?? "", "CalDAVPort")).toBe("<integer>8443</integer>");
    expect(value(caldav ?? "", "CalDAVUseSSL")).toBe("<true/>");
    expect(value(caldav ?? "", "CalDAVUsername")).toBe("<string>jane.doe@hosting.example.net</string>");
    expect(value(caldav ?? "", "CalDAVPrincipalURL")).toBe(
      "<string>https://dav.hosting.example.net:8443/dav/principals/jane.doe@hosting.example.net/</string>",
    );
    expect(value(carddav ?? "", "PayloadType")).toBe("<string>com.apple.carddav.account</string>");
    expect(value(carddav ?? "", "CardDAVPort")).toBe("<integer>443</integer>");
    // No principal URL unless configured (mail-in-a-box#1402): clients use RFC 6764 discovery.
    expect(carddav).not.toContain("PrincipalURL");
    expect(out).not.toMatch(/Password<\/key>\s*<string>/);
  });

  it("POP3 account with CalDAV but no CardDAV, local-part logins", async () => {
    const out = await render("max@pop.example.org");
    const [mail, caldav, carddav] = payloads(out);
    expect(value(mail ?? "", "EmailAccountType")).toBe("<string>EmailTypePOP</string>");
    expect(value(mail ?? "", "IncomingMailServerUsername")).toBe("<string>max</string>");
    expect(value(caldav ?? "", "CalDAVUsername")).toBe("<string>max</string>");
    expect(carddav).toBeUndefined();
    expect(out).toContain(
      "<key>ConsentText</key>\n\t<dict>\n\t\t<key>default</key>\n\t\t<string>Calendars are shared with your team.</string>\n\t</dict>",
    );
  });

  it("top-level options: organization, description, ConsentText per language, TargetDeviceType", async () => {
    const out = await render("jane.doe@hosting.example.net");
    expect(out).toContain(
      "<key>PayloadOrganization</key>\n\t<string>Exämple Hosting GmbH &amp; Co. KG</string>",
    );
    expect(out).toContain(
      "<key>PayloadDescription</key>\n\t<string>Mail, calendars and contacts from Exämple Hosting.</string>",
    );
    expect(out).toMatch(
      /<key>ConsentText<\/key>\n\t<dict>\n\t\t<key>default<\/key>\n\t\t<string>By installing[^<]*<\/string>\n\t\t<key>de<\/key>\n\t\t<string>Mit der Installation[^<]*<\/string>\n\t<\/dict>/,
    );
    expect(out).toContain("<key>TargetDeviceType</key>\n\t<integer>1</integer>");
  });

  it("S/MIME: signing on by default, encryption off, both switchable, the person picks the certificate", async () => {
    const mail = payloads(await render("jane.doe@hosting.example.net"))[0] ?? "";
    const smime = Object.fromEntries(
      [...mail.matchAll(/<key>(SMIME\w+)<\/key>\n\t*<(true|false)\/>/g)].map((m) => [m[1], m[2] === "true"]),
    );
    expect(smime).toEqual({
      SMIMESigningEnabled: true,
      SMIMESigningUserOverrideable: true,
      SMIMESigningCertificateUUIDUserOverrideable: true,
      SMIMEEncryptByDefault: false,
      SMIMEEncryptByDefaultUserOverrideable: true,
      SMIMEEncryptionCertificateUUIDUserOverrideable: true,
      SMIMEEnableEncryptionPerMessageSwitch: true,
    });
    // The deprecated keys (ignored since iOS 10/12) are not written.
    expect(mail).not.toMatch(/<key>SMIME(Enabled|EncryptionEnabled|EnablePerMessageSwitch)<\/key>/);
  });

  it("identity: reverse-DNS identifiers from identifierPrefix; distinct, stable UUIDs per payload and account", async () => {
    const a = await render("jane.doe@hosting.example.net");
    const ids = (s: string) =>
      [...s.matchAll(/<key>PayloadIdentifier<\/key>\s*<string>([^<]+)/g)].map((m) => m[1] ?? "");
    const uuids = (s: string) =>
      [...s.matchAll(/<key>PayloadUUID<\/key>\s*<string>([^<]+)/g)].map((m) => m[1]);
    const [top, ...inner] = ids(a);
    expect(top).toMatch(/^net\.example\.hosting\.profiles\.jane-doe-hosting-example-net-[0-9a-f]{8}$/);
    expect(inner).toEqual([`${top}.mail`, `${top}.caldav`, `${top}.carddav`]);
    expect(new Set(uuids(a)).size).toBe(4);
    for (const u of uuids(a))
      expect(u).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    const b = await render("john@hosting.example.net");
    for (const u of uuids(a)) expect(uuids(b)).not.toContain(u);
    for (const id of ids(a)) expect(ids(b)).not.toContain(id);
  });

  it("principal URLs encode the address as a path segment", async () => {
    const out = await render("a/b?c@hosting.example.net");
    expect(out).toContain(
      "<string>https://dav.hosting.example.net:8443/dav/principals/a%2Fb%3Fc@hosting.example.net/</string>",
    );
  });
});

describe("profile option validation names the field and the rule", () => {
  const base = {
    id: "x.example",
    displayName: "X",
    domains: ["x.example"],
    incoming: [{ type: "imap", hostname: "imap.x.example", port: 993, socketType: "SSL" }],
    outgoing: [{ hostname: "smtp.x.example", port: 465, socketType: "SSL" }],
  };
  const errors = (extra: Record<string, unknown>) => {
    const r = parseProvider({ ...base, ...extra });
    return r.ok ? [] : r.errors.map((e) => `${e.path.join(".")}: ${e.message}`);
  };

  it("ConsentText keys are language tags or default, values non-empty", () => {
    expect(errors({ profile: { consentText: { "en us": "x" } } })).toEqual([
      'profile.consentText.en us: expected a language tag such as en or de-CH, or default, got "en us"',
    ]);
    expect(errors({ profile: { consentText: { en: "" } } })).toEqual([
      "profile.consentText.en: expected the agreement text, got an empty string",
    ]);
    expect(errors({ profile: { consentText: { default: "ok", "de-CH": "ok" } } })).toEqual([]);
  });

  it("TargetDeviceType is 0-6 with Apple's meanings", () => {
    expect(errors({ profile: { targetDeviceType: 7 } })).toEqual([
      "profile.targetDeviceType: expected 0 (any), 1 (iPhone/iPad), 2 (Watch), 3 (HomePod), 4 (TV), 5 (Mac) or 6 (Vision Pro), got 7",
    ]);
  });

  it("a principal URL is a path or an http(s) URL", () => {
    expect(errors({ caldav: { hostname: "dav.x.example", principalUrl: "dav/principals/" } })[0]).toMatch(
      /^caldav\.principalUrl: expected a path starting with \/ or an http\(s\) URL/,
    );
  });
});
