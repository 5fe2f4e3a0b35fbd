/**
 * The DNS records a domain publishes so that mail clients find its settings and servers, as
 * RFC 1035 master-file ("zone file") lines with absolute names:
 *
 * - `autoconfig.<domain>` and `autodiscover.<domain>` CNAME → the host of the public URL
 *   (reference/autoconfig.md §2, reference/autodiscover.md: Outlook's lookup order);
 *   A/AAAA instead when the public URL's host is an IP address.
 * - `_autodiscover._tcp.<domain>` SRV → that host and its HTTPS port (Outlook's last fallback).
 * - RFC 6186 / RFC 8314 §5.1 SRV records for the provider's servers: `_imaps._tcp`,
 *   `_imap._tcp`, `_pop3s._tcp`, `_pop3._tcp`, `_submissions._tcp`, `_submission._tcp`;
 *   priority = place in the provider's order of preference (IMAP and POP3 share one order,
 *   RFC 6186 §3.4); a service the provider does not offer gets `0 0 0 .` ("decidedly not
 *   available", RFC 2782 / RFC 6186 §4), marked optional.
 * - PACC (draft-ietf-mailmaint-pacc-02, docs/pacc.md): `ua-auto-config.<domain>` CNAME → the host
 *   of the public URL, and the `_ua-auto-config.<domain>` TXT record `v=UAAC1; a=sha256; d=…` that
 *   vouches for the document's exact bytes (computed by the caller: {@link DnsRecordsInput.paccTxt}).
 * - RFC 6764 `_caldavs._tcp` / `_carddavs._tcp` (or `_caldav`/`_carddav` without TLS) where
 *   the provider configures CalDAV/CardDAV, with a `path=` TXT record (RFC 6764 §4) when the
 *   principal URL has no per-user placeholder.
 *
 * Pure; Web APIs only.
 */
import type { AccountSettings } from "../providers/account.ts";
import type { DavServer, IncomingServer, OutgoingServer } from "../providers/model.ts";

/** One record to publish. Names and targets are absolute (trailing dot). */
export interface DnsRecord {
  /** Owner name, absolute, e.g. `_imaps._tcp.example.com.`. */
  name: string;
  /** Time to live in seconds. */
  ttl: number;
  type: "CNAME" | "SRV" | "TXT" | "A" | "AAAA";
  /** RDATA in master-file syntax, e.g. `0 0 993 mail.example.com.` or `"path=/dav/"`. */
  data: string;
  /** What the record is for, one short sentence (a zone-file comment, a column of the page). */
  purpose: string;
  /** True for records clients do not need (the `0 0 0 .` "not offered" SRV records). */
  optional: boolean;
}

/** Input of {@link dnsRecords}. */
export interface DnsRecordsInput {
  /** Settings of the mail domain, host names expanded (accountSettings without an address). */
  account: AccountSettings;
  /** Absolute URL of this server (AppDeps.publicUrl / `--public-url`), e.g. `https://autoconfig.example.org`. */
  publicUrl: string;
  /** TTL of every record in seconds; default 3600. */
  ttl?: number;
  /**
   * PACC digest record RDATA (`paccDigestRecord` of src/templates/pacc.ts, unquoted), or undefined
   * when the domain has no PACC document (then `paccOmitted` says why, as a remark).
   */
  paccTxt?: string;
  /** Why there is no PACC document, when `paccTxt` is undefined. */
  paccOmitted?: string;
}

/** The records, plus remarks for the admin that are not records (comments in the zone output). */
export interface DnsRecordSet {
  domain: string;
  records: DnsRecord[];
  remarks: string[];
}

const fqdn = (name: string) => `${name.replace(/\.+$/, "")}.`;
const hasUserPlaceholder = (s: string) => /%EMAIL(ADDRESS|LOCALPART)%/.test(s);

/** RFC 6186 / RFC 8314 service label of a server. */
function serviceOf(s: IncomingServer | OutgoingServer): string {
  const tls = s.socketType === "SSL";
  if (s.type === "imap") return tls ? "_imaps" : "_imap";
  if (s.type === "pop3") return tls ? "_pop3s" : "_pop3";
  return tls ? "_submissions" : "_submission";
}

const SERVICE_PURPOSE: Record<string, string> = {
  _imaps: "IMAP with implicit TLS (RFC 8314)",
  _imap: "IMAP with STARTTLS (RFC 6186)",
  _pop3s: "POP3 with implicit TLS (RFC 8314)",
  _pop3: "POP3 with STARTTLS (RFC 6186)",
  _submissions: "SMTP submission with implicit TLS (RFC 8314)",
  _submission: "SMTP submission with STARTTLS (RFC 6186)",
};

/** Parses the public URL: host name (or IP literal) and the port clients connect to. */
function publicHost(publicUrl: string): { host: string; port: number; https: boolean; ip?: 4 | 6 } {
  const url = new URL(publicUrl);
  const https = url.protocol === "https:";
  const port = url.port ? Number(url.port) : https ? 443 : 80;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const ip = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? 4 : host.includes(":") ? 6 : undefined;
  return { host, port, https, ip };
}

/**
 * Builds the records for one mail domain.
 * @throws TypeError if `publicUrl` is not an absolute URL (callers validate it first)
 */
export function dnsRecords({
  account,
  publicUrl,
  ttl = 3600,
  paccTxt,
  paccOmitted,
}: DnsRecordsInput): DnsRecordSet {
  const domain = account.domain;
  const records: DnsRecord[] = [];
  const remarks: string[] = [];
  const add = (name: string, type: DnsRecord["type"], data: string, purpose: string, optional = false) =>
    records.push({ name: fqdn(name), ttl, type, data, purpose, optional });
  const pub = publicHost(publicUrl);
  if (!pub.https)
    remarks.push(
      `the public URL ${publicUrl} is not https: Outlook and Apple devices need HTTPS with a valid certificate`,
    );
  // Clients connect to these names, so the certificate must hold them (not only the public URL's host).
  const clientNames = [`autoconfig.${domain}`, `autodiscover.${domain}`];
  if (paccTxt) clientNames.push(`ua-auto-config.${domain}`);
  if (pub.ip)
    remarks.push(
      `the server needs a TLS certificate for ${listNames(clientNames)}: clients connect to those names, not to ${pub.host}`,
    );
  else
    remarks.push(
      `the TLS certificate of ${pub.host} must also cover ${listNames(clientNames.filter((n) => n !== pub.host))}`,
    );

  // How clients find mailconf.
  const finders: [string, string][] = [
    [
      "autoconfig",
      "Thunderbird and other autoconfig clients ask https://autoconfig.<domain>/mail/config-v1.1.xml",
    ],
    ["autodiscover", "Outlook asks https://autodiscover.<domain>/autodiscover/autodiscover.xml"],
  ];
  if (paccTxt)
    finders.push([
      "ua-auto-config",
      "PACC clients (IETF draft) ask https://ua-auto-config.<domain>/.well-known/user-agent-configuration.json",
    ]);
  for (const [label, purpose] of finders) {
    const name = `${label}.${domain}`;
    const text = purpose.replace("<domain>", domain);
    if (pub.ip) add(name, pub.ip === 4 ? "A" : "AAAA", pub.host, text);
    else if (pub.host === name) remarks.push(`${name} is this server's own name: give it A/AAAA records`);
    else add(name, "CNAME", fqdn(pub.host), text);
  }
  if (pub.ip) {
    remarks.push(
      `_autodiscover._tcp.${domain} needs a host name, but the public URL's host is an IP address`,
    );
  } else {
    add(
      `_autodiscover._tcp.${domain}`,
      "SRV",
      `0 0 ${pub.port} ${fqdn(pub.host)}`,
      "Outlook's fallback when autodiscover.<domain> does not answer".replace("<domain>", domain),
    );
  }

  if (paccTxt)
    add(
      `_ua-auto-config.${domain}`,
      "TXT",
      quoteTxt(paccTxt),
      "PACC: SHA-256 of the exact document; publish the new value whenever the settings change",
    );
  else if (paccOmitted) remarks.push(`no PACC records: ${paccOmitted}`);

  // RFC 6186 / RFC 8314 mail service records.
  const offered = new Set<string>();
  const services = (servers: readonly (IncomingServer | OutgoingServer)[]) => {
    servers.forEach((s, priority) => {
      if (hasUserPlaceholder(s.hostname)) {
        remarks.push(`${s.type} server ${s.hostname} depends on the user, so it has no SRV record`);
        return;
      }
      const service = serviceOf(s);
      offered.add(service);
      const purpose = `${SERVICE_PURPOSE[service]}${s.socketType === "plain" ? ", without encryption" : ""}`;
      add(`${service}._tcp.${domain}`, "SRV", `${priority} 1 ${s.port} ${fqdn(s.hostname)}`, purpose);
    });
  };
  services(account.incoming);
  services(account.outgoing);
  for (const service of Object.keys(SERVICE_PURPOSE)) {
    if (!offered.has(service))
      add(`${service}._tcp.${domain}`, "SRV", "0 0 0 .", `${SERVICE_PURPOSE[service]}: not offered`, true);
  }

  // RFC 6764 calendar and contacts records.
  const dav = (kind: "caldav" | "carddav", server: DavServer | undefined) => {
    if (!server) return;
    if (hasUserPlaceholder(server.hostname)) {
      remarks.push(`${kind} server ${server.hostname} depends on the user, so it has no SRV record`);
      return;
    }
    const label = `_${kind}${server.socketType === "SSL" ? "s" : ""}._tcp.${domain}`;
    const what = kind === "caldav" ? "Calendars (CalDAV, RFC 6764)" : "Contacts (CardDAV, RFC 6764)";
    add(label, "SRV", `0 1 ${server.port} ${fqdn(server.hostname)}`, what);
    if (server.principalUrl?.startsWith("/") && !hasUserPlaceholder(server.principalUrl)) {
      add(label, "TXT", quoteTxt(`path=${server.principalUrl}`), `${what}: context path`);
    }
  };
  dav("caldav", account.caldav);
  dav("carddav", account.carddav);
  return { domain, records, remarks };
}

/** `a and b`, `a, b and c`. */
function listNames(names: readonly string[]): string {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/** A TXT character-string in master-file syntax: quoted, `"` and `\` escaped (RFC 1035 §5.1). */
function quoteTxt(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * Renders the records as master-file lines, columns aligned, each preceded by a `;` comment,
 * with a header naming the domain and the public URL.
 * @returns text ending in a newline; every non-comment line is `name TTL IN TYPE RDATA`
 */
export function renderZoneLines(set: DnsRecordSet, publicUrl: string): string {
  const out = [
    `; DNS records for ${set.domain}: how mail clients find their settings (${publicUrl}) and servers.`,
    "; Generated by mailconf from its settings store. Names are absolute (they end in a dot).",
  ];
  for (const r of set.remarks) out.push(`; Note: ${r}.`);
  const width = Math.max(...set.records.map((r) => r.name.length));
  let lastPurpose = "";
  for (const r of set.records) {
    if (r.purpose !== lastPurpose) {
      out.push("", `; ${r.purpose}${r.optional ? " (optional)" : ""}`);
      lastPurpose = r.purpose;
    }
    out.push(`${r.name.padEnd(width)} ${String(r.ttl).padStart(5)} IN ${r.type.padEnd(5)} ${r.data}`);
  }
  return `${out.join("\n")}\n`;
}
