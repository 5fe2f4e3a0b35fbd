/**
 * Round trip over ISPDB files: every file of a folder loads, and the autoconfig served for its
 * first domain carries the same IMAP/POP3/SMTP servers, ports, socketTypes, user names and
 * authentication methods, in the same order, as the file itself (read independently here with a
 * DOM-style parser, not with mailconf's reader).
 *
 * Two folders: test/fixtures/ispdb, the project's own files with one feature of the real ISPDB each
 * (many domains, POP3, OAuth2, %EMAILLOCALPART%, %EMAILDOMAIN% host names, entities and CDATA,
 * ISO-8859-1, webMail, Exchange-family servers, a domain two files claim); and, where present,
 * Mozilla's ISPDB itself in ../shared/corpus/ispdb.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadIspdb } from "../src/node/config-files.ts";
import type { RunningServer } from "../src/node/server.ts";
import { describeShared, SHARED_AVAILABLE } from "./helpers/external.ts";
import { fetchBounded, startTestServer } from "./helpers/server.ts";
import { FIXTURE_ISPDB_DIR, ISPDB_DIR } from "./helpers/shared.ts";

const xmlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".xml"))
    .sort();

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  isArray: (n) =>
    ["emailProvider", "domain", "incomingServer", "outgoingServer", "authentication", "socketType"].includes(
      n,
    ),
});

type Rec = Record<string, unknown>;
interface ServerFacts {
  type: string;
  hostname: string;
  port: string;
  socketType: string;
  username: string;
  authentication: string[];
}

const SYNONYMS: Record<string, string> = { plain: "password-cleartext", secure: "password-encrypted" };

/** Reads a file as text: Latin-1 when it declares so, else UTF-8. */
function readXml(path: string): string {
  const bytes = readFileSync(path);
  const latin1 = /^<\?xml[^>]*encoding="ISO-8859-1"/i.test(bytes.subarray(0, 100).toString("latin1"));
  return bytes.toString(latin1 ? "latin1" : "utf8");
}

/** The facts of an autoconfig document that clients act on, for IMAP, POP3 and SMTP servers. */
function facts(xml: string, domain?: string): { domains: string[]; servers: ServerFacts[] } {
  const ep = ((parser.parse(xml) as Rec).clientConfig as Rec).emailProvider as Rec[];
  const first = ep[0] as Rec;
  const servers: ServerFacts[] = [];
  for (const s of [...((first.incomingServer as Rec[]) ?? []), ...((first.outgoingServer as Rec[]) ?? [])]) {
    const type = String(s["@type"]);
    if (!["imap", "pop3", "smtp"].includes(type)) continue;
    const hostname = String(s.hostname).trim();
    servers.push({
      type,
      // mailconf expands %EMAILDOMAIN% in host names server-side (reference/autoconfig.md §6 item 8).
      hostname: domain ? hostname.replace(/%EMAILDOMAIN%/g, domain) : hostname,
      port: String(s.port).trim(),
      socketType: String((s.socketType as string[])[0]),
      // A server without a user name is served with %EMAILADDRESS%, the documented default.
      username: s.username === undefined ? "%EMAILADDRESS%" : String(s.username),
      // Deprecated names are served as Thunderbird reads them.
      authentication: ((s.authentication as string[]) ?? []).map((a) => SYNONYMS[a] ?? a),
    });
  }
  return { domains: ((first.domain as unknown[]) ?? []).map((d) => String(d).trim().toLowerCase()), servers };
}

/** The round-trip tests for one folder; `files` is its file list (empty while it is not there). */
function roundTrip(
  dir: string,
  files: string[],
  expectLoad: (folder: Awaited<ReturnType<typeof loadIspdb>>) => void,
): () => RunningServer {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ ispdb: dir, builtin: false });
  });
  afterAll(() => server.close());

  it("loads every file with no file skipped", async () => {
    const folder = await loadIspdb(dir);
    expect(folder.skipped).toEqual([]);
    expect(folder.entries).toHaveLength(files.length);
    expectLoad(folder);
  });

  it.each(files)("%s round-trips through /v1.1/<first domain>", async (file) => {
    const source = facts(readXml(join(dir, file)));
    const domain = source.domains[0];
    if (!domain) throw new Error(`${file} has no domain`);
    const res = await fetchBounded(`${server.url}/v1.1/${encodeURIComponent(domain)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/xml; charset=utf-8");
    const served = facts(await res.text());
    expect(served.domains[0]).toBe(domain);
    const expected = facts(readXml(join(dir, file)), domain).servers;
    // Files sharing a domain (zoho.com, zoho.eu …): the first file in name order serves it.
    const owner = files.find((f) => facts(readXml(join(dir, f))).domains.includes(domain));
    if (owner !== file) return;
    expect(served.servers).toEqual(expected);
  });
  return () => server;
}

describe("ISPDB-style fixtures (test/fixtures/ispdb)", () => {
  const files = xmlFiles(FIXTURE_ISPDB_DIR);
  roundTrip(FIXTURE_ISPDB_DIR, files, (folder) => {
    expect(files).toHaveLength(7);
    // Exchange-family servers are kept (exchangeServers), so nothing is skipped with a warning.
    expect(folder.warnings.filter((w) => w.file === "exchange.example.xml")).toEqual([]);
  });
});

describeShared("Mozilla's ISPDB (../shared/corpus/ispdb)", () => {
  const files = SHARED_AVAILABLE ? xmlFiles(ISPDB_DIR) : [];
  const running = roundTrip(ISPDB_DIR, files, (folder) => {
    expect(files.length).toBeGreaterThanOrEqual(133);
    // Exchange-family servers are kept (office365.com has ews, owa, graph, exchange): no warning.
    expect(folder.warnings.filter((w) => w.file === "office365.com.xml")).toEqual([]);
  });

  it("serves office365.com's Exchange-family servers with their URLs, after IMAP and POP3", async () => {
    const res = await fetchBounded(`${running().url}/v1.1/office365.com`);
    expect(res.status).toBe(200);
    const ep = ((parser.parse(await res.text()) as Rec).clientConfig as Rec).emailProvider as Rec[];
    const incoming = ((ep[0] as Rec).incomingServer as Rec[]).map((s) => ({
      type: s["@type"],
      where: s.url ?? `${s.hostname}:${s.port}`,
      username: s.username,
    }));
    expect(incoming).toEqual([
      { type: "imap", where: "outlook.office365.com:993", username: "%EMAILADDRESS%" },
      { type: "pop3", where: "outlook.office365.com:995", username: "%EMAILADDRESS%" },
      { type: "ews", where: "https://outlook.office365.com/ews/exchange.asmx", username: "%EMAILADDRESS" },
      { type: "owa", where: "https://outlook.office365.com/owa/", username: "%EMAILADDRESS" },
      { type: "graph", where: "https://graph.microsoft.com/", username: "%EMAILADDRESS%" },
      { type: "exchange", where: "outlook.office365.com:443", username: "%EMAILADDRESS%" },
    ]);
    const exchange = ((ep[0] as Rec).incomingServer as Rec[])[5] as Rec;
    expect(exchange.owaURL).toBe("https://outlook.office365.com/owa/");
    expect(exchange.ewsURL).toBe("https://outlook.office365.com/ews/exchange.asmx");
    expect(exchange.useGlobalPreferredServer).toBe("true");
  });

  it("serves webMail and restriction as the files have them (googlemail.com, o2.pl)", async () => {
    const google = await (await fetchBounded(`${running().url}/v1.1/gmail.com`)).text();
    expect(google).toContain(
      '  <webMail>\n    <loginPage url="https://accounts.google.com/ServiceLogin?service=mail&amp;continue=http://mail.google.com/mail/"/>',
    );
    expect(google).toContain('      <usernameField id="Email"/>');
    const o2 = await (await fetchBounded(`${running().url}/v1.1/o2.pl`)).text();
    expect(o2).toContain("<restriction>client-IP-address</restriction>");
  });
});
