/**
 * DNS records: `mailconf dns <domain>` prints zone-file lines that BIND's named-checkzone loads and a
 * strict RFC 1035 reader accepts; `--check` compares them with a DNS server on 127.0.0.1 (dns2);
 * `/dns` serves the same records. No query leaves the machine.
 */
import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkDnsRecords, formatDnsCheck, parseDnsServer } from "../src/node/dns-check.ts";
import type { RunningServer } from "../src/node/server.ts";
import { accountSettings } from "../src/providers/account.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { parseProvider } from "../src/providers/model.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { dnsRecords, renderZoneLines } from "../src/templates/dns-records.ts";
import { paccDnsInput } from "../src/templates/pacc.ts";
import { parseZoneText, startDnsServer, type ZoneRecord } from "./helpers/dns-server.ts";
import { expectGolden } from "./helpers/golden.ts";
import { fetchBounded, startTestServer } from "./helpers/server.ts";
import { REPO_ROOT, tempFile } from "./helpers/shared.ts";

const run = promisify(execFile);
/** base64 SHA-256 of the built-in example.com PACC document (test/golden/pacc/example.com.json). */
const EXAMPLE_PACC_DIGEST = "M1UFDC7PyXkv2RUrCKkDeD1I/0UNOxzrEEnSRhyT6Mk=";
const PUBLIC = "https://autoconfig.example.org";

/** `mailconf dns example.com --check` against one DNS server (`ip:port`), with a lookup timeout in ms. */
function checkExampleCom(server: string, timeoutMs = 2000) {
  return cli([
    "dns",
    "example.com",
    "--public-url",
    PUBLIC,
    "--check",
    "--dns-server",
    server,
    "--timeout",
    String(timeoutMs),
  ]);
}

/** Runs the CLI without blocking the event loop (the test DNS server lives in this process). */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: REPO_ROOT,
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === "number" ? err.code : -1,
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
    };
  }
}

/** named-checkzone (BIND 9) on the lines inside a minimal zone for `domain`: exit code and output. */
function namedCheckzone(domain: string, lines: string): { status: number; output: string } {
  const zone = [
    "$TTL 3600",
    `${domain}. IN SOA ns1.${domain}. hostmaster.${domain}. 1 7200 3600 1209600 3600`,
    `${domain}. IN NS ns1.${domain}.`,
    `ns1.${domain}. IN A 192.0.2.1`,
    lines,
  ].join("\n");
  const r = spawnSync(
    "named-checkzone",
    ["-k", "fail", "-n", "fail", "-i", "local", domain, tempFile("zone", zone)],
    {
      encoding: "utf8",
      timeout: 20_000,
    },
  );
  if (r.error)
    throw new Error(
      `named-checkzone is missing (Debian package bind9-utils; .ci/run installs it): ${r.error.message}`,
    );
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

const builtin = new MemoryStore(BUILTIN_PROVIDERS.map((provider) => ({ provider, source: "built-in" })));
async function zoneFor(domain: string, publicUrl = PUBLIC, store = builtin) {
  const resolution = await store.resolve(domain);
  if (!resolution) throw new Error(domain);
  const account = accountSettings(resolution);
  const set = dnsRecords({ account, publicUrl, ...(await paccDnsInput(account)) });
  return { set, text: renderZoneLines(set, publicUrl) };
}

let exampleZone: string;
beforeAll(async () => {
  const out = await cli(["dns", "example.com", "--public-url", PUBLIC]);
  expect(out.code, out.stderr).toBe(0);
  exampleZone = out.stdout;
});

describe("mailconf dns <domain>", () => {
  it("prints the records of example.com's settings as valid zone-file lines (golden)", () => {
    expectGolden("dns/example.com.zone", exampleZone);
    const records = parseZoneText(exampleZone);
    const lines = exampleZone.split("\n").filter((l) => l && !l.startsWith(";"));
    expect(records).toHaveLength(lines.length);
    // Values from the built-in example.com: IMAP 993 SSL, POP3 995 SSL, SMTP 465 SSL then 587 STARTTLS.
    expect(lines.map((l) => l.split(/\s+/).join(" "))).toEqual([
      "autoconfig.example.com. 3600 IN CNAME autoconfig.example.org.",
      "autodiscover.example.com. 3600 IN CNAME autoconfig.example.org.",
      "ua-auto-config.example.com. 3600 IN CNAME autoconfig.example.org.",
      "_autodiscover._tcp.example.com. 3600 IN SRV 0 0 443 autoconfig.example.org.",
      // PACC digest of the built-in example.com document (recomputed from the served bytes in test/pacc.test.ts).
      `_ua-auto-config.example.com. 3600 IN TXT "v=UAAC1; a=sha256; d=${EXAMPLE_PACC_DIGEST}"`,
      "_imaps._tcp.example.com. 3600 IN SRV 0 1 993 mail.example.com.",
      "_pop3s._tcp.example.com. 3600 IN SRV 1 1 995 mail.example.com.",
      "_submissions._tcp.example.com. 3600 IN SRV 0 1 465 mail.example.com.",
      "_submission._tcp.example.com. 3600 IN SRV 1 1 587 mail.example.com.",
      "_imap._tcp.example.com. 3600 IN SRV 0 0 0 .",
      "_pop3._tcp.example.com. 3600 IN SRV 0 0 0 .",
    ]);
  });

  it("docs/dns.md shows exactly the records it prints (PACC's included)", () => {
    const doc = readFileSync(join(REPO_ROOT, "docs/dns.md"), "utf8");
    const sample =
      /`mailconf dns <domain> --public-url https:\/\/autoconfig\.example\.org` prints:\n\n```\n([^`]*)```/.exec(
        doc,
      )?.[1];
    const records = exampleZone.split("\n").filter((l) => l && !l.startsWith(";"));
    expect(sample?.split("\n").filter((l) => l)).toEqual(records);
  });

  it("BIND's named-checkzone loads them; it refuses a broken line (the check can fail)", () => {
    const ok = namedCheckzone("example.com", exampleZone);
    expect(ok.output).toMatch(/\nOK\s*$/);
    expect(ok.status, ok.output).toBe(0);
    const broken = namedCheckzone("example.com", exampleZone.replace("IN SRV   0 1 993", "IN SRV   0 1 99x"));
    expect(broken.status).not.toBe(0);
  });

  it("every built-in provider's domain gives zone lines that load; iCloud has RFC 6764 records", async () => {
    for (const domain of ["gmail.com", "outlook.com", "icloud.com", "yahoo.com", "hotmail.co.uk"]) {
      const { text } = await zoneFor(domain);
      parseZoneText(text);
      const check = namedCheckzone(domain, text);
      expect(check.status, `${domain}\n${check.output}`).toBe(0);
    }
    const icloud = parseZoneText((await zoneFor("icloud.com")).text);
    expect(icloud).toContainEqual({
      name: "_caldavs._tcp.icloud.com.",
      ttl: 3600,
      type: "SRV",
      priority: 0,
      weight: 1,
      port: 443,
      target: "caldav.icloud.com.",
    });
    expect(icloud.find((r) => r.name === "_carddavs._tcp.icloud.com.")).toMatchObject({
      target: "contacts.icloud.com.",
    });
    // Only STARTTLS submission: _submission points at the server, _submissions is "not offered".
    expect(icloud.filter((r) => r.name.startsWith("_submission"))).toEqual([
      {
        name: "_submission._tcp.icloud.com.",
        ttl: 3600,
        type: "SRV",
        priority: 0,
        weight: 1,
        port: 587,
        target: "smtp.mail.me.com.",
      },
      {
        name: "_submissions._tcp.icloud.com.",
        ttl: 3600,
        type: "SRV",
        priority: 0,
        weight: 0,
        port: 0,
        target: ".",
      },
    ]);
  });

  it("a DAV principal path becomes an RFC 6764 TXT record; per-user host names get none", async () => {
    const parsed = parseProvider({
      id: "dav.example",
      displayName: "DAV Example",
      domains: ["dav.example"],
      incoming: [
        { type: "imap", hostname: "%EMAILLOCALPART%.imap.dav.example", port: 143, socketType: "STARTTLS" },
      ],
      outgoing: [{ hostname: "mail.%EMAILDOMAIN%", port: 587, socketType: "STARTTLS" }],
      caldav: { hostname: "cal.dav.example", port: 8443, principalUrl: '/dav/"cal"/' },
      carddav: { hostname: "card.dav.example", principalUrl: "/dav/%EMAILADDRESS%/" },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const store = new MemoryStore([{ provider: parsed.value, source: "test" }]);
    const { set, text } = await zoneFor("dav.example", PUBLIC, store);
    const records = parseZoneText(text);
    expect(records).toContainEqual({
      name: "_caldavs._tcp.dav.example.",
      ttl: 3600,
      type: "TXT",
      text: 'path=/dav/"cal"/',
    });
    expect(records.filter((r) => r.name === "_carddavs._tcp.dav.example.").map((r) => r.type)).toEqual([
      "SRV",
    ]);
    expect(records.find((r) => r.name === "_submission._tcp.dav.example.")).toMatchObject({
      target: "mail.dav.example.",
    });
    expect(records.find((r) => r.name === "_imap._tcp.dav.example.")).toMatchObject({ target: "." });
    expect(set.remarks.join("\n")).toContain("%EMAILLOCALPART%.imap.dav.example depends on the user");
    expect(namedCheckzone("dav.example", text).status).toBe(0);
  });

  it("an IP public URL gives A/AAAA records; the server's own name gets a remark, not a CNAME loop", async () => {
    const ip = parseZoneText((await zoneFor("example.com", "http://192.0.2.10:8080")).text);
    expect(ip.filter((r) => r.type === "A").map((r) => r.name)).toEqual([
      "autoconfig.example.com.",
      "autodiscover.example.com.",
      "ua-auto-config.example.com.",
    ]);
    expect(ip.some((r) => r.name.startsWith("_autodiscover"))).toBe(false);
    const v6 = parseZoneText((await zoneFor("example.com", "https://[2001:db8::5]")).text);
    expect(v6.filter((r) => r.type === "AAAA")).toHaveLength(3);
    const own = await zoneFor("example.com", "https://autoconfig.example.com:8443");
    expect(own.set.records.find((r) => r.name === "autoconfig.example.com.")).toBeUndefined();
    expect(own.text).toContain(
      "; Note: autoconfig.example.com is this server's own name: give it A/AAAA records.",
    );
    // The certificate note names only what the certificate must add, never the host itself.
    expect(own.text).toContain(
      "; Note: the TLS certificate of autoconfig.example.com must also cover autodiscover.example.com and ua-auto-config.example.com.",
    );
    expect(own.text).not.toMatch(/certificate of autoconfig\.example\.com must also cover autoconfig\./);
    expect((await zoneFor("example.com", "https://autodiscover.example.com")).text).toContain(
      "; Note: the TLS certificate of autodiscover.example.com must also cover autoconfig.example.com and ua-auto-config.example.com.",
    );
    expect((await zoneFor("example.com", "http://192.0.2.10:8080")).text).toContain(
      "; Note: the server needs a TLS certificate for autoconfig.example.com, autodiscover.example.com and ua-auto-config.example.com: clients connect to those names, not to 192.0.2.10.",
    );
    expect(own.set.records.find((r) => r.name === "_autodiscover._tcp.example.com.")?.data).toBe(
      "0 0 8443 autoconfig.example.com.",
    );
  });

  it("bad usage exits 2, an unknown domain 1", async () => {
    expect((await cli(["dns", "not a domain", "--public-url", PUBLIC])).code).toBe(2);
    const noUrl = await cli(["dns", "example.com"]);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain("no public URL");
    expect(
      (await cli(["dns", "example.com", "--public-url", PUBLIC, "--check", "--dns-server", "dns.example"]))
        .code,
    ).toBe(2);
    const unknown = await cli(["dns", "unknown-domain.test", "--public-url", PUBLIC]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no settings for unknown-domain.test");
  }, 60_000); // five CLI processes one after another: over 20 s on a loaded machine

  it("an unknown domain is reported as such before a missing public URL", async () => {
    const unknown = await cli(["dns", "nowhere.test"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no settings for nowhere.test");
    expect(unknown.stderr).not.toContain("public URL");
  });

  it("reads --dns-server values as IP[:port]", () => {
    expect(parseDnsServer("127.0.0.1:5353")).toBe("127.0.0.1:5353");
    expect(parseDnsServer("::1")).toBe("::1");
    expect(parseDnsServer("[::1]:53")).toBe("[::1]:53");
    expect(parseDnsServer("127.0.0.1:70000")).toBeUndefined();
    expect(parseDnsServer("localhost")).toBeUndefined();
  });
});

describe("mailconf dns <domain> --check (against a DNS server on 127.0.0.1)", () => {
  it("all published as printed: every record ok, exit 0", async () => {
    const dns = await startDnsServer(parseZoneText(exampleZone));
    try {
      const out = await checkExampleCom(dns.address);
      expect(out.code, out.stdout + out.stderr).toBe(0);
      const lines = out.stdout.trim().split("\n");
      expect(lines.filter((l) => l.startsWith("ok "))).toHaveLength(11);
      expect(lines.at(-1)).toBe("11 ok, 0 missing, 0 different, 0 not checked, 0 optional not published");
      expect(dns.queries).toBeGreaterThanOrEqual(11);
    } finally {
      await dns.close();
    }
  });

  it("reports missing and different records and exits 1; A records instead of a CNAME are fine", async () => {
    const records: ZoneRecord[] = parseZoneText(exampleZone).filter(
      (r) =>
        !r.name.startsWith("_imaps.") && !r.name.startsWith("_pop3.") && !r.name.startsWith("autoconfig."),
    );
    // _submission published with another port; autoconfig.<domain> with the target's own address.
    const sub = records.find((r) => r.name === "_submission._tcp.example.com.");
    if (sub?.type === "SRV") sub.port = 25;
    // The PACC digest of an older document: the settings changed, DNS did not.
    const pacc = records.find((r) => r.name === "_ua-auto-config.example.com.");
    if (pacc?.type === "TXT") pacc.text = "v=UAAC1; a=sha256; d=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    records.push(
      { name: "autoconfig.example.com.", ttl: 300, type: "A", address: "192.0.2.7" },
      { name: "autoconfig.example.org.", ttl: 300, type: "A", address: "192.0.2.7" },
    );
    const dns = await startDnsServer(records);
    try {
      const out = await checkExampleCom(dns.address);
      expect(out.code, out.stdout + out.stderr).toBe(1);
      const line = (prefix: string) => out.stdout.split("\n").find((l) => l.includes(prefix)) ?? "";
      expect(line("_imaps._tcp")).toMatch(
        /^missing\s+_imaps\._tcp\.example\.com\. SRV 0 1 993 mail\.example\.com\.$/,
      );
      expect(line("_submission._tcp")).toMatch(/^different .*\(found: 1 1 25 mail\.example\.com\.\)/);
      expect(line("_pop3._tcp")).toMatch(/^optional .*not published; optional/);
      expect(line("autoconfig.example.com")).toMatch(/^ok .*A\/AAAA records with the target's addresses/);
      expect(line("_ua-auto-config")).toMatch(
        /^different .*TXT "v=UAAC1; a=sha256; d=M1UFDC7P.*\(found: .*d=47DEQpj8HBSa/,
      );
      expect(out.stdout).toContain("7 ok, 1 missing, 2 different, 0 not checked, 1 optional not published");
    } finally {
      await dns.close();
    }
  });

  it("a PACC digest record matches in any tag order, among other TXT records (a change in progress)", async () => {
    const { set } = await zoneFor("example.com");
    const pacc = set.records.filter((r) => r.name === "_ua-auto-config.example.com.");
    expect(pacc).toHaveLength(1);
    const old = "v=UAAC1; a=sha256; d=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const name = "_ua-auto-config.example.com.";
    const dns = await startDnsServer([
      { name, ttl: 300, type: "TXT", text: old },
      { name, ttl: 300, type: "TXT", text: `d=${EXAMPLE_PACC_DIGEST};a=sha256 ;  v=UAAC1; x=future;` },
    ]);
    const onlyOld = await startDnsServer([{ name, ttl: 300, type: "TXT", text: old }]);
    try {
      const [both] = await checkDnsRecords(pacc, { servers: [dns.address], timeoutMs: 2000 });
      expect(both).toMatchObject({ status: "ok", detail: "among other TXT records" });
      const [stale] = await checkDnsRecords(pacc, { servers: [onlyOld.address], timeoutMs: 2000 });
      expect(stale?.status).toBe("different");
    } finally {
      await dns.close();
      await onlyOld.close();
    }
  });

  it("an unreachable resolver is reported per record, not as a crash", async () => {
    const { set } = await zoneFor("example.com");
    // Port 9 on loopback: nothing listens there, so each query is refused or times out quickly.
    const results = await checkDnsRecords(set.records.slice(0, 2), {
      servers: ["127.0.0.1:9"],
      timeoutMs: 300,
      tries: 1,
    });
    expect(results.map((r) => r.status)).toEqual(["error", "error"]);
    const report = formatDnsCheck(results);
    expect(report.failed).toBe(true);
    expect(report.exitCode).toBe(3);
    expect(report.lines.at(-1)).toMatch(
      /^2 lookup\(s\) failed \((ECONNREFUSED|ETIMEOUT)\): the records could not be checked/,
    );
    // A record known to be missing outweighs lookups that failed: DNS must change (exit 1).
    const missing = { ...(results[0] as (typeof results)[0]), status: "missing" as const };
    expect(formatDnsCheck([missing, ...results]).exitCode).toBe(1);
    expect(formatDnsCheck([{ ...missing, status: "ok" }]).exitCode).toBe(0);
  });

  it("the CLI exits 3 ('could not check') when every lookup fails, not 1", async () => {
    const out = await checkExampleCom("127.0.0.1:9", 300);
    expect(out.code, out.stdout + out.stderr).toBe(3);
    expect(out.stdout).toContain("0 ok, 0 missing, 0 different, 11 not checked, 0 optional not published");
  });
});

describe("GET /dns", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ publicUrl: PUBLIC });
  });
  afterAll(() => server.close());

  it("format=zone equals the CLI's output for the same public URL", async () => {
    const res = await fetchBounded(`${server.url}/dns?domain=example.com&format=zone`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await res.text()).toBe(exampleZone);
  });

  it("the page lists the records (address input accepted) with a CSP; 400 bad, 404 unknown", async () => {
    const res = await fetchBounded(`${server.url}/dns?domain=${encodeURIComponent("jane@EXAMPLE.com")}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toMatch(/^default-src 'none';/);
    const html = await res.text();
    expect(html).toContain("<h2>Records for example.com</h2>");
    expect(html).toContain("_imaps.<wbr>_tcp.<wbr>example.<wbr>com.");
    expect((await fetchBounded(`${server.url}/dns?domain=%3Cscript%3E`)).status).toBe(400);
    const unknown = await fetchBounded(`${server.url}/dns?domain=unknown-domain.test`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain("No settings are known for unknown-domain.test.");
    expect((await fetchBounded(`${server.url}/dns?domain=unknown-domain.test&format=zone`)).status).toBe(404);
  });
});
