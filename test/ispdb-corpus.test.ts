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
) {
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
}

describe("ISPDB-style fixtures (test/fixtures/ispdb)", () => {
  const files = xmlFiles(FIXTURE_ISPDB_DIR);
  roundTrip(FIXTURE_ISPDB_DIR, files, (folder) => {
    expect(files).toHaveLength(7);
    // Exchange-family servers are reported, not silently dropped.
    expect(folder.warnings).toEqual(
      ["exchange", "ews", "owa", "graph"].map((type) => ({
        file: "exchange.example.xml",
        message: `incomingServer type="${type}" skipped (not IMAP or POP3)`,
      })),
    );
  });
});

describeShared("Mozilla's ISPDB (../shared/corpus/ispdb)", () => {
  const files = SHARED_AVAILABLE ? xmlFiles(ISPDB_DIR) : [];
  roundTrip(ISPDB_DIR, files, (folder) => {
    expect(files.length).toBeGreaterThanOrEqual(133);
    // office365.com has ews, owa, graph and exchange servers.
    expect(folder.warnings.filter((w) => w.file === "office365.com.xml").map((w) => w.message)).toHaveLength(
      4,
    );
  });
});
