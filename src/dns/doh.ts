/**
 * MX lookups over DNS-over-HTTPS with the JSON API (`application/dns-json`: Cloudflare
 * `https://cloudflare-dns.com/dns-query`, Google `https://dns.google/resolve`), for Cloudflare
 * Workers, which have no UDP. `GET <url>?name=<domain>&type=MX` with `Accept: application/dns-json`.
 *
 * Answer: `{ "Status": 0, "Answer": [{ "name", "type": 15, "TTL": 300, "data": "10 mx.example.net." }],
 * "Authority": [{ "type": 6, "TTL": 900, … }] }`. `Status` is the DNS RCODE (RFC 1035 §4.1.1:
 * 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN). Record TTLs are used; for negative answers the SOA record's
 * TTL in Authority (RFC 2308 §5), when present.
 *
 * Web APIs only (fetch): runs on Node.js and on Cloudflare Workers.
 */
import type { MxAnswer, MxRecord, MxResolver } from "../providers/mx.ts";

/** Cloudflare's DNS-over-HTTPS JSON endpoint, the default for resolution by MX over DoH. */
export const DEFAULT_DOH_URL = "https://cloudflare-dns.com/dns-query";

/** Options of {@link dohMxResolver}. */
export interface DohOptions {
  /** The DoH JSON endpoint (default {@link DEFAULT_DOH_URL}). */
  url?: string;
  /** The fetch to use (default the global one). */
  fetch?: typeof fetch;
}

/** DNS RR type MX (RFC 1035 §3.2.2) and SOA. */
const TYPE_MX = 15;
const TYPE_SOA = 6;

interface DohJson {
  Status?: number;
  Answer?: { type?: number; TTL?: number; data?: string }[];
  Authority?: { type?: number; TTL?: number }[];
}

/** An MX resolver over DoH JSON. Never throws: errors become `failure`. */
export function dohMxResolver(options: DohOptions = {}): MxResolver {
  const endpoint = options.url ?? DEFAULT_DOH_URL;
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  return async (domain, signal): Promise<MxAnswer> => {
    const url = new URL(endpoint);
    url.searchParams.set("name", domain);
    url.searchParams.set("type", "MX");
    let json: DohJson;
    try {
      const res = await doFetch(url.href, { headers: { Accept: "application/dns-json" }, signal });
      if (!res.ok) return { kind: "failure", reason: `DoH HTTP ${res.status}` };
      json = (await res.json()) as DohJson;
    } catch (e) {
      return { kind: "failure", reason: `DoH: ${(e as Error).message}` };
    }
    const soa = json.Authority?.find((r) => r.type === TYPE_SOA)?.TTL;
    if (json.Status === 3) return { kind: "nxdomain", negativeTtl: soa };
    if (json.Status !== 0) return { kind: "failure", reason: `DNS status ${json.Status}` };
    const records: MxRecord[] = [];
    for (const answer of json.Answer ?? []) {
      if (answer.type !== TYPE_MX || typeof answer.data !== "string") continue;
      const match = /^\s*(\d+)\s+(\S+)\s*$/.exec(answer.data);
      if (!match) continue;
      records.push({
        priority: Number(match[1]),
        exchange: (match[2] as string).replace(/\.$/, ""),
        ttl: typeof answer.TTL === "number" ? answer.TTL : 0,
      });
    }
    return { kind: "records", records, negativeTtl: soa };
  };
}
