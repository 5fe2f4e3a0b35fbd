/**
 * The built-in providers match their Mozilla ISPDB files (../shared/corpus/ispdb, skipped when the
 * corpus is absent) field by field: servers (IMAP, POP3, SMTP and Exchange-family, in order, with
 * host, port, socketType, user name, authentication), display names, webMail and oAuth2. Their
 * domains are the file's, minus the entries named here that are resolved by MX instead.
 */
import { join } from "node:path";
import { expect, it } from "vitest";
import { checkAddress } from "../src/cli/check-report.ts";
import { loadIspdb } from "../src/node/config-files.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { describeShared } from "./helpers/external.ts";
import { ISPDB_DIR } from "./helpers/shared.ts";

/** ISPDB domain entries the built-ins leave out: MX host names and customer domains hosted there. */
const LEFT_OUT: Record<string, string[]> = {
  "googlemail.com": ["google.com", "jazztel.es", "nyu.edu"],
  "hotmail.com": ["olc.protection.outlook.com"],
  "me.com": [],
  "yahoo.com": ["mail.am0.yahoodns.net", "am0.yahoodns.net", "yahoodns.net"],
};

describeShared("built-in providers against their ISPDB files", () => {
  for (const id of Object.keys(LEFT_OUT)) {
    it(`${id} has the servers, names, webMail and oAuth2 of ${id}.xml`, async () => {
      const builtin = BUILTIN_PROVIDERS.find((p) => p.id === id);
      const folder = await loadIspdb(join(ISPDB_DIR, `${id}.xml`));
      const file = folder.entries[0]?.provider;
      if (!builtin || !file) throw new Error(`no built-in provider or ISPDB file for ${id}`);
      for (const field of [
        "displayName",
        "displayShortName",
        "incoming",
        "exchangeServers",
        "outgoing",
        "webMail",
        "oauth2",
        "listDomains",
      ] as const) {
        expect({ field, value: builtin[field] }).toEqual({ field, value: file[field] });
      }
      expect([...builtin.domains].sort()).toEqual(
        file.domains.filter((d) => !(LEFT_OUT[id] ?? []).includes(d)).sort(),
      );
    });
  }

  it("mailconf check lists office365.com's Exchange servers as autoconfig only", async () => {
    const folder = await loadIspdb(join(ISPDB_DIR, "office365.com.xml"));
    const { lines } = await checkAddress(new MemoryStore(folder.entries), "jane@office365.com");
    expect(lines.filter((l) => l.includes("autoconfig only"))).toEqual([
      "  incoming EWS  https://outlook.office365.com/ews/exchange.asmx  login %EMAILADDRESS  auth OAuth2  (autoconfig only: Autodiscover, the profile and the page skip it)",
      "  incoming OWA  https://outlook.office365.com/owa/  login %EMAILADDRESS  auth OAuth2  (autoconfig only: Autodiscover, the profile and the page skip it)",
      "  incoming GRAPH https://graph.microsoft.com/  login jane@office365.com  auth OAuth2  (autoconfig only: Autodiscover, the profile and the page skip it)",
      "  incoming EXCHANGE outlook.office365.com:443  login jane@office365.com  auth OAuth2  (autoconfig only: Autodiscover, the profile and the page skip it)",
    ]);
    expect(lines.join("\n")).toContain("no profile: Microsoft 365 accepts only OAuth2 sign-in");
  });

  it("Yahoo has the ISPDB's second IMAP server (export.imap.mail.yahoo.com)", () => {
    const yahoo = BUILTIN_PROVIDERS.find((p) => p.id === "yahoo.com");
    expect(yahoo?.incoming.map((s) => `${s.type} ${s.hostname}`)).toEqual([
      "imap imap.mail.yahoo.com",
      "imap export.imap.mail.yahoo.com",
      "pop3 pop.mail.yahoo.com",
    ]);
  });
});
