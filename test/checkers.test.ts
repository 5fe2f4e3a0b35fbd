/**
 * The in-repo checkers (test/helpers/checks) themselves: they accept the documents mailconf serves
 * (the golden files) and reject each kind of bad document for the reason a real client or Apple's
 * schema would. Where ../shared is present, the Python validators must reach the same verdict on
 * every one of these documents, so the TypeScript port cannot drift from them unnoticed.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkProfile, parsePlist } from "./helpers/checks/apple-profile.ts";
import { checkAutoconfigClients } from "./helpers/checks/autoconfig-clients.ts";
import { validateAutoconfigStructure } from "./helpers/checks/autoconfig-schema.ts";
import { describeShared } from "./helpers/external.ts";
import { makeChain } from "./helpers/pki.ts";
import {
  checkAutoconfigClients as pythonAutoconfigClients,
  validateMobileconfig as pythonMobileconfig,
  REPO_ROOT,
  validatePlistDtd as xmllintPlistDtd,
  validateAutoconfigSchema as xmllintRelaxNg,
} from "./helpers/shared.ts";

const golden = (dir: string) =>
  readdirSync(join(REPO_ROOT, "test/golden", dir)).map((f) => ({
    name: f,
    text: readFileSync(join(REPO_ROOT, "test/golden", dir, f), "utf8"),
  }));
const AUTOCONFIG_GOLDEN = golden("autoconfig");
const PROFILE_GOLDEN = golden("mobileconfig");
const GOOD_AUTOCONFIG = (AUTOCONFIG_GOLDEN.find((g) => g.name === "user@example.com.xml") ?? { text: "" })
  .text;
const GOOD_PROFILE = (PROFILE_GOLDEN.find((g) => g.name === "user@icloud.com.mobileconfig") ?? { text: "" })
  .text;

/** A minimal document both Thunderbirds accept, to break one rule at a time. */
function clientConfig(opts: { provider?: string; incoming?: string; outgoing?: string; root?: string } = {}) {
  const server = (kind: string, type: string, host: string, port: number, extra = "") =>
    `<${kind} type="${type}"><hostname>${host}</hostname><port>${port}</port><socketType>SSL</socketType>` +
    `<username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>${extra}</${kind}>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<${opts.root ?? 'clientConfig version="1.1"'}>` +
    `<emailProvider ${opts.provider ?? 'id="example.net"'}><domain>example.net</domain><displayName>Example</displayName>` +
    (opts.incoming ?? server("incomingServer", "imap", "imap.example.net", 993)) +
    (opts.outgoing ?? server("outgoingServer", "smtp", "smtp.example.net", 465)) +
    `</emailProvider></${(opts.root ?? "clientConfig").split(" ")[0]}>\n`
  );
}
const imap = (inner: string) => `<incomingServer type="imap">${inner}</incomingServer>`;
const IMAP_OK =
  "<hostname>imap.example.net</hostname><port>993</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username>";

/** Documents and the verdicts the two clients give (desktop, Android); "OK" or a part of the reason. */
const CLIENT_CASES: { name: string; xml: string; desktop: string; android: string }[] = [
  { name: "a minimal valid document", xml: clientConfig(), desktop: "OK", android: "OK" },
  {
    name: "UTF-8 BOM",
    xml: `\uFEFF${clientConfig()}`,
    desktop: "OK",
    android: "UTF-8 BOM",
  },
  {
    name: "wrong root element",
    xml: clientConfig({ root: 'config version="1.1"' }),
    desktop: "root element",
    android: "Root element",
  },
  {
    name: "no emailProvider id",
    xml: clientConfig({ provider: "" }),
    desktop: "OK",
    android: "Missing 'emailProvider.id'",
  },
  {
    name: "plain socketType on IMAP (Android knows only SSL and STARTTLS)",
    xml: clientConfig({
      incoming: imap(`${IMAP_OK.replace("SSL", "plain")}<authentication>password-cleartext</authentication>`),
    }),
    desktop: "OK",
    android: "Unknown socketType",
  },
  {
    name: "IMAP without username (Android requires it)",
    xml: clientConfig({
      incoming: imap(
        IMAP_OK.replace("<username>%EMAILADDRESS%</username>", "") +
          "<authentication>password-cleartext</authentication>",
      ),
    }),
    desktop: "OK",
    android: "Missing 'username'",
  },
  {
    name: "port out of range",
    xml: clientConfig({
      incoming: imap(`${IMAP_OK.replace("993", "99300")}<authentication>password-cleartext</authentication>`),
    }),
    desktop: "bad port",
    android: "invalid port",
  },
  {
    name: "host name with surrounding white space",
    xml: clientConfig({
      incoming: imap(
        IMAP_OK.replace("imap.example.net", " imap.example.net ") +
          "<authentication>password-cleartext</authentication>",
      ),
    }),
    desktop: "OK",
    android: "surrounding whitespace",
  },
  {
    name: "no usable authentication (GSSAPI only)",
    xml: clientConfig({ incoming: imap(`${IMAP_OK}<authentication>GSSAPI</authentication>`) }),
    desktop: "OK",
    android: "No usable authentication",
  },
  {
    name: "OAuth2 only, for a host Thunderbird has no OAuth2 details for",
    xml: clientConfig({ incoming: imap(`${IMAP_OK}<authentication>OAuth2</authentication>`) }),
    desktop: "Need proper <incomingServer>",
    android: "OK",
  },
  {
    name: "a child element inside <hostname>",
    xml: clientConfig({
      incoming: imap(
        IMAP_OK.replace("imap.example.net", "<b>imap.example.net</b>") +
          "<authentication>password-cleartext</authentication>",
      ),
    }),
    desktop: "child element in <hostname>",
    android: "Expected text in 'hostname'",
  },
  {
    name: "POP3 only (Android needs IMAP)",
    xml: clientConfig({
      incoming:
        '<incomingServer type="pop3"><hostname>pop.example.net</hostname><port>995</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication></incomingServer>',
    }),
    desktop: "OK",
    android: "No supported 'incomingServer'",
  },
  {
    name: "no outgoing server",
    xml: clientConfig({ outgoing: "" }),
    desktop: "Need proper <outgoingServer>",
    android: "No supported 'outgoingServer'",
  },
];

describe("autoconfig client checker (Thunderbird desktop, Thunderbird for Android)", () => {
  it.each(AUTOCONFIG_GOLDEN)("accepts the golden $name", ({ text }) => {
    expect(checkAutoconfigClients(text)).toEqual({ thunderbirdDesktop: "OK", thunderbirdAndroid: "OK" });
  });
  it.each(CLIENT_CASES)("$name → desktop $desktop, Android $android", ({ xml, desktop, android }) => {
    const verdict = checkAutoconfigClients(xml);
    if (desktop === "OK") expect(verdict.thunderbirdDesktop).toBe("OK");
    else expect(verdict.thunderbirdDesktop).toContain(desktop);
    if (android === "OK") expect(verdict.thunderbirdAndroid).toBe("OK");
    else expect(verdict.thunderbirdAndroid).toContain(android);
  });
  it("refuses a document that is not well-formed", () => {
    expect(() => checkAutoconfigClients(clientConfig().replace("</domain>", ""))).toThrow(/not well-formed/);
  });
});

/** Documents that break the autoconfig schema, and the problem expected. */
const SCHEMA_CASES: { name: string; xml: string; problem: string }[] = [
  {
    name: "no version on clientConfig",
    xml: clientConfig({ root: "clientConfig" }),
    problem: "missing attribute version",
  },
  { name: "no id on emailProvider", xml: clientConfig({ provider: "" }), problem: "missing attribute id" },
  {
    name: "a server section without type",
    xml: clientConfig({ incoming: `<incomingServer>${IMAP_OK}</incomingServer>` }),
    problem: "incomingServer: missing attribute type",
  },
  {
    name: "port not a positive integer",
    xml: clientConfig({ incoming: imap(IMAP_OK.replace("993", "0")) }),
    problem: "not a positive integer",
  },
  {
    name: "hostname directly inside emailProvider",
    xml: clientConfig({ incoming: `<hostname>x.example.net</hostname>${imap(IMAP_OK)}` }),
    problem: "<hostname> is not allowed inside <emailProvider>",
  },
  {
    name: "an element inside a text-only element",
    xml: clientConfig().replace("<domain>example.net</domain>", "<domain><x/>example.net</domain>"),
    problem: "text only",
  },
  {
    name: "text in element-only content",
    xml: clientConfig().replace("<domain>", "stray text<domain>"),
    problem: "text not allowed here",
  },
  {
    name: "documentation without url",
    xml: clientConfig({ outgoing: "<documentation><descr>help</descr></documentation>" }),
    problem: "missing attribute url",
  },
  {
    name: "a namespaced root",
    xml: clientConfig({ root: 'clientConfig version="1.1" xmlns="urn:example"' }),
    problem: "in no namespace",
  },
];

describe("autoconfig schema checker (RELAX NG structure, must-ignore rule)", () => {
  it.each(AUTOCONFIG_GOLDEN)("accepts the golden $name", ({ text }) => {
    expect(validateAutoconfigStructure(text)).toEqual([]);
  });
  it("accepts unknown elements at extension points, with any content (must-ignore)", () => {
    const xml = clientConfig({
      outgoing:
        '<outgoingServer type="smtp"><hostname>smtp.example.net</hostname><futureThing a="1"><hostname><deep/></hostname></futureThing></outgoingServer><webMail><loginPage url="https://x.example"/></webMail>',
    });
    expect(validateAutoconfigStructure(xml)).toEqual([]);
  });
  it.each(SCHEMA_CASES)("rejects $name", ({ xml, problem }) => {
    const problems = validateAutoconfigStructure(xml);
    expect(problems.join("\n")).toContain(problem);
  });
});

/** Breaks one rule of Apple's schemas or the plist DTD in a valid profile. */
const PROFILE_CASES: { name: string; edit: (p: string) => string; error: string }[] = [
  {
    name: "a port as a string",
    edit: (p) =>
      p.replace(
        "<key>IncomingMailServerPortNumber</key>\n\t\t\t<integer>993</integer>",
        "<key>IncomingMailServerPortNumber</key>\n\t\t\t<string>993</string>",
      ),
    error: "IncomingMailServerPortNumber: expected integer, got string",
  },
  {
    name: "UseSSL as a string",
    edit: (p) =>
      p.replace(
        "<key>IncomingMailServerUseSSL</key>\n\t\t\t<true/>",
        "<key>IncomingMailServerUseSSL</key>\n\t\t\t<string>true</string>",
      ),
    error: "IncomingMailServerUseSSL: expected boolean",
  },
  {
    name: "an unknown EmailAccountType",
    edit: (p) => p.replace("EmailTypeIMAP", "EmailTypeExchange"),
    error: '"EmailTypeExchange" not in',
  },
  {
    name: "an unknown authentication value",
    edit: (p) => p.replace("EmailAuthPassword", "EmailAuthOAuth"),
    error: '"EmailAuthOAuth" not in',
  },
  {
    name: "a missing required key (IncomingMailServerHostName)",
    edit: (p) => p.replace(/\t*<key>IncomingMailServerHostName<\/key>\n\t*<string>[^<]*<\/string>\n/, ""),
    error: "missing required key IncomingMailServerHostName",
  },
  {
    name: "PayloadVersion 2",
    edit: (p) =>
      p.replace(
        "<key>PayloadVersion</key>\n\t<integer>1</integer>",
        "<key>PayloadVersion</key>\n\t<integer>2</integer>",
      ),
    error: "top.PayloadVersion: 2 not in",
  },
  {
    name: "a PayloadUUID used twice",
    edit: (p) => {
      const uuids = [...p.matchAll(/<key>PayloadUUID<\/key>\n\t*<string>([^<]+)/g)].map(
        (m) => m[1] as string,
      );
      return p.replace(uuids[2] as string, uuids[1] as string);
    },
    error: "PayloadUUID not unique",
  },
  {
    name: "a key without a value (dict content model)",
    edit: (p) =>
      p.replace("<key>PayloadRemovalDisallowed</key>\n\t<false/>", "<key>PayloadRemovalDisallowed</key>"),
    error: "expected <key>",
  },
  {
    name: "an element the DTD does not know",
    edit: (p) => p.replace("<false/>", "<bool>false</bool>"),
    error: "<bool> is not a property-list element",
  },
  {
    name: "an integer that is not one",
    edit: (p) => p.replace("<integer>993</integer>", "<integer>99x</integer>"),
    error: "is not an integer",
  },
  {
    name: "a CalDAV port as a real",
    edit: (p) => p.replace(/(<key>CalDAVPort<\/key>\n\t*)<integer>(\d+)<\/integer>/, "$1<real>$2.0</real>"),
    error: "CalDAVPort: expected integer, got real",
  },
];

describe("Apple profile checker (plist DTD, Apple's payload schemas)", () => {
  it.each(PROFILE_GOLDEN)("accepts the golden $name without errors or warnings", ({ text }) => {
    expect(checkProfile(text)).toEqual({ errors: [], warnings: [] });
  });
  it.each(PROFILE_CASES)("rejects $name", ({ edit, error }) => {
    const bad = edit(GOOD_PROFILE);
    expect(bad).not.toBe(GOOD_PROFILE);
    expect(checkProfile(bad).errors.join("\n")).toContain(error);
  });
  it("warns about a key outside the schema, without failing", () => {
    const p = GOOD_PROFILE.replace("<key>EmailAddress</key>", "<key>EmailAdress</key>");
    const report = checkProfile(p);
    expect(report.errors).toEqual([]);
    expect(report.warnings.join("\n")).toContain("key EmailAdress not in schema");
  });
  it("reads values as their plist types", () => {
    const { value, errors } = parsePlist(
      '<plist version="1.0"><dict><key>a</key><integer>-3</integer><key>b</key><real>1.5</real>' +
        "<key>c</key><date>2026-01-02T03:04:05Z</date><key>d</key><data>AAEC</data><key>e</key><array><true/></array></dict></plist>",
    );
    expect(errors).toEqual([]);
    expect(value?.type).toBe("dictionary");
    const map = value?.type === "dictionary" ? value.value : new Map();
    expect(map.get("a")).toEqual({ type: "integer", value: -3 });
    expect(map.get("b")).toEqual({ type: "real", value: 1.5 });
    expect(map.get("c")).toEqual({ type: "date", value: new Date("2026-01-02T03:04:05Z") });
    expect(map.get("d")).toEqual({ type: "data", value: new Uint8Array([0, 1, 2]) });
    expect(map.get("e")).toEqual({ type: "array", value: [{ type: "boolean", value: true }] });
  });
  it("refuses a plist with two values, and one that is not well-formed", () => {
    expect(parsePlist('<plist version="1.0"><true/><false/></plist>').errors.join()).toContain(
      "exactly one value",
    );
    expect(checkProfile("<plist><dict></plist>").errors.join()).toContain("not well-formed");
  });
  it("checks a CMS-signed profile by its embedded content, and refuses other DER", async () => {
    const { createProfileSigner } = await import("../src/signing/signer.ts");
    const chain = makeChain("ec-p256");
    const signer = await createProfileSigner({
      certificatePem: chain.leaf,
      privateKeyPem: chain.leafKey,
      chainPem: chain.intermediate,
    });
    const signedGood = await signer.sign(new TextEncoder().encode(GOOD_PROFILE));
    expect(checkProfile(signedGood)).toEqual({ errors: [], warnings: [] });
    const signedBad = await signer.sign(
      new TextEncoder().encode(GOOD_PROFILE.replace("EmailTypeIMAP", "EmailTypeX")),
    );
    expect(checkProfile(signedBad).errors.join()).toContain("EmailTypeX");
    expect(checkProfile(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])).errors.join()).toContain(
      "not CMS SignedData",
    );
  });
});

describeShared("the Python validators and xmllint agree with the TypeScript checkers", () => {
  it.each(CLIENT_CASES)("check-autoconfig-clients.py: $name", ({ xml, desktop, android }) => {
    const py = pythonAutoconfigClients(xml);
    const lines = py.output.trim().split("\n");
    const verdict = (client: string) => lines.find((l) => l.includes(`\t${client}\t`))?.split("\t")[2] ?? "";
    // The Python tool says "OK?" for a document with a BOM: Thunderbird desktop's parser skips it.
    if (desktop === "OK") expect(verdict("thunderbird_desktop"), py.output).toMatch(/^OK\??$/);
    else expect(verdict("thunderbird_desktop"), py.output).not.toBe("OK");
    if (android === "OK") expect(verdict("thunderbird_android"), py.output).toBe("OK");
    else expect(verdict("thunderbird_android"), py.output).not.toBe("OK");
  });
  it.each(SCHEMA_CASES)("xmllint with autoconfig.rng rejects $name", ({ xml }) => {
    expect(xmllintRelaxNg(xml).status).not.toBe(0);
  });
  it("xmllint with autoconfig.rng accepts what the TypeScript checker accepts", () => {
    expect(xmllintRelaxNg(clientConfig()).status).toBe(0);
    expect(xmllintRelaxNg(GOOD_AUTOCONFIG).status).toBe(0);
  });
  it.each(PROFILE_CASES)("validate-mobileconfig.py or the plist DTD rejects $name", ({ edit }) => {
    const bad = edit(GOOD_PROFILE);
    expect(pythonMobileconfig(bad).status !== 0 || xmllintPlistDtd(bad).status !== 0).toBe(true);
  });
});
