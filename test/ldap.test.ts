/**
 * Login names and display names from an LDAP directory (docs/ldap.md), against a real slapd
 * started here on 127.0.0.1 (test/helpers/slapd.ts) and the real Node server: every answer that
 * carries a user name or a person's name, unknown mailboxes answered in the same shape, directory
 * failures and timeouts answered as without a directory, and the RFC 4515 filter injection cases.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBundledSettings } from "../scripts/bundle-settings.ts";
import { createApp } from "../src/app.ts";
import { checkAddress } from "../src/cli/check-report.ts";
import { directoryFilter, ldapSearch } from "../src/node/ldap.ts";
import { loadAdminTokens, loadSettings, type RunningServer } from "../src/node/server.ts";
import { openSqlite } from "../src/node/sqlite.ts";
import { cachedDirectoryLookup, type DirectorySearch } from "../src/providers/directory.ts";
import { parseEmailAddress } from "../src/providers/domain.ts";
import { type Directory, DirectorySchema, parseProvider } from "../src/providers/model.ts";
import { SqlStore } from "../src/store/sql-store.ts";
import { outlookRequest } from "./e2e/cases.ts";
import { fetchBounded, startTestServer } from "./helpers/server.ts";
import {
  LDAP_BASE,
  LDAP_BIND_DN,
  LDAP_BIND_PASSWORD,
  slapdUnavailable,
  startSlapd,
  type TestSlapd,
} from "./helpers/slapd.ts";
import { freePort } from "./helpers/wrangler-dev.ts";

const scratch = mkdtempSync(join(tmpdir(), "mailconf-ldap-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const address = (text: string) => {
  const parsed = parseEmailAddress(text);
  if (!parsed) throw new Error(`not an address: ${text}`);
  return parsed;
};

describe("directoryFilter: RFC 4515 §3 escaping of the address values", () => {
  const raw = (localPart: string, domain = "example.org") => ({
    address: `${localPart}@${domain}`,
    localPart,
    domain,
  });
  it("escapes *, (, ), \\ and NUL as \\2a, \\28, \\29, \\5c, \\00 (RFC 4515 §4 examples)", () => {
    expect(
      directoryFilter("(o=%EMAILLOCALPART%)", raw("Parens R Us (for all your parenthetical needs)")),
    ).toBe("(o=Parens R Us \\28for all your parenthetical needs\\29)");
    expect(directoryFilter("(cn=%EMAILLOCALPART%)", raw("*"))).toBe("(cn=\\2a)");
    expect(directoryFilter("(filename=%EMAILLOCALPART%)", raw("C:\\MyFile"))).toBe("(filename=C:\\5cMyFile)");
    expect(directoryFilter("(bin=%EMAILLOCALPART%)", raw("a\u0000b"))).toBe("(bin=a\\00b)");
  });
  it("fills every placeholder and leaves the rest of the filter alone; UTF-8 stays as is", () => {
    expect(
      directoryFilter(
        "(&(objectClass=inetOrgPerson)(|(mail=%EMAILADDRESS%)(uid=%EMAILLOCALPART%))(o=%EMAILDOMAIN%))",
        raw("jürgen*"),
      ),
    ).toBe("(&(objectClass=inetOrgPerson)(|(mail=jürgen\\2a@example.org)(uid=jürgen\\2a))(o=example.org))");
  });
});

describe("the directory in the settings model", () => {
  const base = {
    id: "corp.example",
    displayName: "Corp",
    domains: ["corp.example"],
    incoming: [
      { type: "imap", hostname: "imap.corp.example", port: 993, socketType: "SSL", username: "%LOGINNAME%" },
    ],
    outgoing: [{ hostname: "smtp.corp.example", port: 465, socketType: "SSL" }],
  };
  it("refuses %LOGINNAME% without a directory, naming the field", () => {
    const r = parseProvider(base);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.errors).toEqual([
        {
          path: ["incoming", 0, "username"],
          message: "%LOGINNAME% needs a directory: add directory: { url, base, filter, … } to the provider",
        },
      ]);
  });
  it("applies the defaults and refuses unusable directories field by field", () => {
    const ok = parseProvider({ ...base, directory: { url: "ldaps://ldap.corp.example", base: LDAP_BASE } });
    expect(ok.ok && ok.value.directory).toEqual({
      url: "ldaps://ldap.corp.example",
      base: LDAP_BASE,
      filter: "(mail=%EMAILADDRESS%)",
      loginNameAttribute: "uid",
      fallbackLoginName: "%EMAILADDRESS%",
      timeoutMs: 1000,
      cacheSeconds: 300,
    });
    const bad = parseProvider({
      ...base,
      directory: {
        url: "http://ldap.corp.example",
        base: LDAP_BASE,
        filter: "(mail=jane)",
        loginNameAttribute: "uid;x",
        bindDn: "cn=x",
      },
    });
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.errors.map((e) => e.path.join("."))).toEqual([
        "directory.url",
        "directory.filter",
        "directory.loginNameAttribute",
        "directory.bindDn",
      ]);
    const unbalanced = DirectorySchema.safeParse({
      url: "ldap://h",
      base: LDAP_BASE,
      filter: "(mail=%EMAILADDRESS%))",
    });
    expect(unbalanced.success).toBe(false);
  });
  it("the admin API refuses a directory (it names files and servers of this machine), 400 naming the field", async () => {
    const database = await openSqlite(join(scratch, "admin.db"));
    const token = "ldap-admin-token-0123456789";
    const store = new SqlStore(database);
    const app = createApp({
      store,
      publicUrl: "https://autoconfig.test.example",
      admin: { store, tokenHashes: await loadAdminTokens(undefined, token) },
    });
    const put = await app.request("/api/v1/providers/corp.example", {
      method: "PUT",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        ...base,
        directory: {
          url: "ldap://attacker.example",
          base: LDAP_BASE,
          bindDn: "cn=x",
          passwordFile: "/etc/shadow",
        },
      }),
    });
    expect(put.status).toBe(400);
    expect(await put.json()).toEqual({
      errors: [
        {
          path: "directory",
          message:
            "a directory can only be configured in a settings file, not through the admin API (docs/ldap.md)",
        },
      ],
    });
    expect(await store.getProvider("corp.example")).toBeUndefined();
    database.close();
  });

  it("the Worker build refuses a settings file with a directory (Node-only), with file and line", async () => {
    const file = join(scratch, "worker.yaml");
    writeFileSync(
      file,
      `providers:\n  - id: corp.example\n    displayName: Corp\n    domains: [corp.example]\n    directory:\n      url: ldap://127.0.0.1:389\n      base: ${LDAP_BASE}\n    incoming:\n      - { type: imap, hostname: imap.corp.example, port: 993, socketType: SSL, username: "%LOGINNAME%" }\n    outgoing:\n      - { hostname: smtp.corp.example, port: 465, socketType: SSL }\n`,
    );
    await expect(readBundledSettings([file])).rejects.toMatchObject({
      problems: [
        expect.stringMatching(
          /worker\.yaml:6: providers\[0\]\.directory: directory lookups \(LDAP\) are Node-only/,
        ),
      ],
    });
  });
});

describe("the directory cache", () => {
  const directory = DirectorySchema.parse({
    url: "ldap://127.0.0.1:1",
    base: LDAP_BASE,
    cacheSeconds: 60,
    timeoutMs: 200,
  });
  it("keeps found and unknown alike for cacheSeconds, failures at most 30 s, and shares concurrent searches", async () => {
    let clock = 0;
    const calls: string[] = [];
    let fail = false;
    const search: DirectorySearch = async (_d, a) => {
      calls.push(a.address);
      if (fail) throw new Error("down");
      return a.localPart === "jane" ? { loginName: "jdoe" } : undefined;
    };
    const logs: string[] = [];
    const lookup = cachedDirectoryLookup(search, { now: () => clock, log: (m) => logs.push(m) });
    const [a, b] = await Promise.all([
      lookup(directory, address("jane@x.org")),
      lookup(directory, address("jane@x.org")),
    ]);
    expect([a, b]).toEqual([{ loginName: "jdoe" }, { loginName: "jdoe" }]);
    expect(await lookup(directory, address("nobody@x.org"))).toBeUndefined();
    expect(await lookup(directory, address("nobody@x.org"))).toBeUndefined();
    expect(calls).toEqual(["jane@x.org", "nobody@x.org"]);
    clock = 59_999;
    await lookup(directory, address("jane@x.org"));
    expect(calls.length).toBe(2);
    clock = 60_000;
    fail = true;
    expect(await lookup(directory, address("jane@x.org"))).toBeUndefined();
    expect(logs).toEqual([
      "directory ldap://127.0.0.1:1: lookup failed for j***@x.org: down; answering without a directory",
    ]);
    clock = 60_000 + 29_999;
    await lookup(directory, address("jane@x.org"));
    expect(calls.length).toBe(3);
    fail = false;
    clock = 60_000 + 30_000;
    expect(await lookup(directory, address("jane@x.org"))).toEqual({ loginName: "jdoe" });
  });
  it("a search that does not answer within timeoutMs gives undefined", async () => {
    const lookup = cachedDirectoryLookup(() => new Promise(() => {}));
    expect(await lookup(directory, address("jane@x.org"))).toBeUndefined();
  });
});

const PEOPLE = [
  { uid: "jdoe", cn: "Jane Doe", mail: "jane.doe@example.org" },
  { uid: "zsoltn", cn: "Nagy Zsolt Ádám", mail: "zsolt@example.org" },
  { uid: "solo", cn: "Only One", mail: "solo@solo.example.org" },
];

describe.skipIf(slapdUnavailable !== undefined)(
  `against slapd${slapdUnavailable ? ` (skipped: ${slapdUnavailable})` : ""}`,
  () => {
    let slapd: TestSlapd;
    let server: RunningServer;
    let silent: Server;
    const sockets: Socket[] = [];
    const searches: string[] = [];
    const logs: string[] = [];
    let directory: Directory;
    let settings: string;

    beforeAll(async () => {
      slapd = await startSlapd(PEOPLE);
      // A "directory" that accepts connections and never answers: the timeout case.
      silent = createServer((s) => sockets.push(s));
      await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
      const silentPort = (silent.address() as { port: number }).port;
      const closedPort = await freePort();
      const passwordFile = join(scratch, "ldap-password");
      writeFileSync(passwordFile, `${LDAP_BIND_PASSWORD}\n`);
      const dir = (url: string, extra = "") =>
        `    directory:\n      url: ${url}\n      bindDn: ${LDAP_BIND_DN}\n      passwordFile: ${passwordFile}\n      base: ou=people,${LDAP_BASE}\n      filter: "(&(objectClass=inetOrgPerson)(mail=%EMAILADDRESS%))"\n      loginNameAttribute: uid\n      displayNameAttribute: cn\n      timeoutMs: 400\n${extra}`;
      const servers = `    incoming:\n      - { type: imap, hostname: imap.example.org, port: 993, socketType: SSL, username: "%LOGINNAME%" }\n    outgoing:\n      - { hostname: smtp.example.org, port: 465, socketType: SSL, username: 'EXAMPLE\\%LOGINNAME%' }\n`;
      settings = join(scratch, "settings.yaml");
      writeFileSync(
        settings,
        `providers:\n  - id: example.org\n    displayName: Example Org Mail\n    domains: [example.org, solo.example.org]\n${dir(slapd.url)}${servers}` +
          `  - id: slow.example.net\n    displayName: Slow Directory\n    domains: [slow.example.net]\n${dir(`ldap://127.0.0.1:${silentPort}`)}${servers}` +
          `  - id: down.example.net\n    displayName: Directory Down\n    domains: [down.example.net]\n${dir(`ldap://127.0.0.1:${closedPort}`)}${servers}`,
      );
      const search = ldapSearch();
      server = await startTestServer({
        configFiles: [settings],
        builtin: false,
        log: (m) => logs.push(m),
        directory: cachedDirectoryLookup(
          (d, a) => {
            searches.push(a.address);
            return search(d, a);
          },
          { log: (m) => logs.push(m) },
        ),
      });
      directory = DirectorySchema.parse({
        url: slapd.url,
        bindDn: LDAP_BIND_DN,
        passwordFile,
        base: LDAP_BASE,
        filter: "(&(objectClass=inetOrgPerson)(mail=%EMAILADDRESS%))",
        displayNameAttribute: "cn",
      });
    }, 60_000);
    afterAll(async () => {
      await server?.close();
      for (const s of sockets) s.destroy();
      silent?.close();
      await slapd?.stop();
    });

    const get = (path: string) => fetchBounded(`${server.url}${path}`);
    const autoconfig = (a: string) => get(`/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(a)}`);
    const autodiscover = (a: string) =>
      fetchBounded(`${server.url}/autodiscover/autodiscover.xml`, {
        method: "POST",
        headers: { "Content-Type": "text/xml" },
        body: outlookRequest(a),
      });
    const profile = (a: string) => get(`/mobileconfig?email=${encodeURIComponent(a)}`);
    const settingsJson = async (a: string) =>
      (await (await get(`/api/v1/settings?email=${encodeURIComponent(a)}`)).json()) as {
        incoming: { username: string }[];
        outgoing: { username: string }[];
      };
    const plistString = (xml: string, key: string) =>
      new RegExp(`<key>${key}</key>\\s*<string>([^<]*)</string>`).exec(xml)?.[1];
    /** The document without its text and attribute values: what "shape" means here. */
    const skeleton = (xml: string) => xml.replace(/>[^<]*</g, "><").replace(/="[^"]*"/g, '=""');

    it("the login name and display name in autoconfig, Autodiscover, the profile and the guide", async () => {
      const xml = await (await autoconfig("jane.doe@example.org")).text();
      expect([...xml.matchAll(/<username>([^<]*)<\/username>/g)].map((m) => m[1])).toEqual([
        "jdoe",
        "EXAMPLE\\jdoe",
      ]);

      const pox = await (await autodiscover("jane.doe@example.org")).text();
      expect(pox).toContain("<DisplayName>Jane Doe</DisplayName>");
      expect([...pox.matchAll(/<LoginName>([^<]*)<\/LoginName>/g)].map((m) => m[1])).toEqual([
        "jdoe",
        "EXAMPLE\\jdoe",
      ]);

      const plist = await (await profile("zsolt@example.org")).text();
      expect(plistString(plist, "IncomingMailServerUsername")).toBe("zsoltn");
      expect(plistString(plist, "OutgoingMailServerUsername")).toBe("EXAMPLE\\zsoltn");
      expect(plistString(plist, "EmailAccountName")).toBe("Nagy Zsolt Ádám");
      expect(plist).toContain("<key>OutgoingPasswordSameAsIncomingPassword</key>");

      const page = await (await get(`/?email=${encodeURIComponent("jane.doe@example.org")}`)).text();
      expect([...page.matchAll(/data-field="username">([^<]*)</g)].map((m) => m[1])).toEqual([
        "jdoe",
        "EXAMPLE\\jdoe",
      ]);
      const json = await settingsJson("jane.doe@example.org");
      expect([json.incoming[0]?.username, json.outgoing[0]?.username]).toEqual(["jdoe", "EXAMPLE\\jdoe"]);

      // mailconf check asks the directory too.
      const loaded = await loadSettings({ configFiles: [settings], builtin: false });
      const report = await checkAddress(
        loaded.store,
        "jane.doe@example.org",
        cachedDirectoryLookup(ldapSearch()),
      );
      await loaded.close();
      expect(report.lines).toContain(`  directory ${slapd.url}: login name jdoe, display name Jane Doe`);
      expect(report.lines.filter((l) => /login jdoe|LoginName jdoe|user jdoe/.test(l)).length).toBe(3);
    });

    it("an unknown mailbox gets the answer without a directory, in the same shape and at the same cost", async () => {
      const known = "jane.doe@example.org";
      const unknown = "no.such.person@example.org";
      const before = searches.length;
      const [ka, ua] = await Promise.all([autoconfig(known), autoconfig(unknown)]);
      expect([ka.status, ua.status]).toEqual([200, 200]);
      expect(ka.headers.get("content-type")).toBe(ua.headers.get("content-type"));
      expect(ka.headers.get("cache-control")).toBe(ua.headers.get("cache-control"));
      const unknownXml = await ua.text();
      expect(skeleton(await ka.text())).toBe(skeleton(unknownXml));
      expect([...unknownXml.matchAll(/<username>([^<]*)<\/username>/g)].map((m) => m[1])).toEqual([
        unknown,
        `EXAMPLE\\${unknown}`,
      ]);

      const [kp, up] = await Promise.all([autodiscover(known), autodiscover(unknown)]);
      const unknownPox = await up.text();
      expect(skeleton(await kp.text())).toBe(skeleton(unknownPox));
      expect(unknownPox).toContain(`<DisplayName>${unknown}</DisplayName>`);

      const [kf, uf] = await Promise.all([profile(known), profile(unknown)]);
      const unknownPlist = await uf.text();
      expect(skeleton(await kf.text())).toBe(skeleton(unknownPlist));
      expect(plistString(unknownPlist, "EmailAccountName")).toBe(unknown);

      const shape = (v: unknown): unknown =>
        Array.isArray(v)
          ? v.map(shape)
          : v && typeof v === "object"
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]))
            : typeof v;
      expect(shape(await settingsJson(known))).toEqual(shape(await settingsJson(unknown)));

      // One search each (the known one may have been cached by the previous test), then none:
      // found and not found are cached alike, so a warm answer costs the same for both.
      expect(searches.slice(before).filter((a) => a === unknown)).toEqual([unknown]);
      const warm = searches.length;
      await Promise.all([autodiscover(known), autodiscover(unknown), profile(known), profile(unknown)]);
      expect(searches.length).toBe(warm);
    });

    it("a directory that times out or is down gives the answer without a directory", async () => {
      for (const domain of ["slow.example.net", "down.example.net"]) {
        const pox = await (await autodiscover(`jane.doe@${domain}`)).text();
        expect([...pox.matchAll(/<LoginName>([^<]*)<\/LoginName>/g)].map((m) => m[1])).toEqual([
          `jane.doe@${domain}`,
          `EXAMPLE\\jane.doe@${domain}`,
        ]);
        expect(pox).toContain(`<DisplayName>jane.doe@${domain}</DisplayName>`);
      }
      expect(logs.some((m) => m.includes("lookup failed for j***@slow.example.net"))).toBe(true);
      expect(logs.some((m) => m.includes("lookup failed for j***@down.example.net"))).toBe(true);
      // The address never reaches the log in full.
      expect(logs.some((m) => m.includes("jane.doe@"))).toBe(false);
    });

    it("filter injection (RFC 4515): *, (, ), \\ and NUL in an address match nobody", async () => {
      const search = ldapSearch();
      const raw = (localPart: string, domain = "example.org") => ({
        address: `${localPart}@${domain}`,
        localPart,
        domain,
      });
      // Unescaped, each of these would find a person: the wildcard finds solo@solo.example.org, the
      // parentheses add (uid=jdoe), \2e would be a ".". NUL is refused before any search: even
      // escaped (\00), slapd's matching stops at it and would find jane.doe@example.org.
      expect(await search(directory, raw("solo", "solo.example.org"))).toEqual({
        loginName: "solo",
        displayName: "Only One",
      });
      // The same filters written out unescaped do find them (so the cases below can fail):
      const literal = (filter: string) => search({ ...directory, filter }, raw("unused"));
      expect(await literal("(&(objectClass=inetOrgPerson)(mail=*@solo.example.org))")).toMatchObject({
        loginName: "solo",
      });
      expect(await literal("(|(mail=zz)(uid=jdoe)(cn=@example.org)(cn=nobody))")).toMatchObject({
        loginName: "jdoe",
      });
      expect(await literal("(&(objectClass=inetOrgPerson)(mail=jane\\2edoe@example.org))")).toMatchObject({
        loginName: "jdoe",
      });
      expect(await search(directory, raw("*", "solo.example.org"))).toBeUndefined();
      expect(await search(directory, raw("s*", "solo.example.org"))).toBeUndefined();
      const orFilter = { ...directory, filter: "(|(mail=%EMAILADDRESS%)(cn=nobody))" };
      expect(await search(orFilter, raw("zz)(uid=jdoe)(cn="))).toBeUndefined();
      expect(await search(orFilter, raw("jane.doe"))).toMatchObject({ loginName: "jdoe" });
      expect(await search(directory, raw("jane\\2edoe"))).toBeUndefined();
      expect(await search(directory, raw("jane.doe", "example.org\u0000"))).toBeUndefined();
      // Through HTTP: the wildcard address is a valid address and gets the fallback; NUL is refused.
      const pox = await (await autodiscover("*@solo.example.org")).text();
      expect(pox).toContain("<LoginName>*@solo.example.org</LoginName>");
      expect(pox).not.toContain(">solo<");
      expect((await autoconfig("jane.doe\u0000@example.org")).status).toBe(400);
      const quoted = await (await autodiscover('"*)(uid=jdoe"@example.org')).text();
      expect(quoted).not.toContain("jdoe<");
    });
  },
);
