/**
 * `mailconf dns <domain> --check`: compares the records mailconf would publish
 * (src/templates/dns-records.ts) with what DNS answers now. Node-only (node:dns Resolver, c-ares).
 *
 * Comparison rules, per owner name and type:
 * - CNAME: the target must match (case-insensitive). A name with A/AAAA records instead of a
 *   CNAME is accepted when its addresses equal those of the target (docs/dns.md: "CNAME or A/AAAA").
 * - SRV: priority, port and target must match; weight is not compared (RFC 2782: it only
 *   spreads load among records of equal priority).
 * - TXT, A, AAAA: the values must match; a PACC digest record (`v=UAAC1; …`) matches when any TXT
 *   record at the name carries the same digest (src/templates/pacc.ts uaacDigest).
 * A name that does not exist (NXDOMAIN) or has no record of the type (NODATA) is "missing";
 * a timeout, refusal or SERVFAIL is "error". An optional record (`0 0 0 .`) that is not published
 * does not fail the check; one published with other values does.
 */

import { Resolver } from "node:dns/promises";
import type { DnsRecord } from "../templates/dns-records.ts";
import { uaacDigest } from "../templates/pacc.ts";

/** Result for one owner name and type. */
export interface DnsCheckResult {
  name: string;
  type: DnsRecord["type"];
  /** `ok`, `missing`, `different` (found other values), `error` (the lookup failed). */
  status: "ok" | "missing" | "different" | "error";
  optional: boolean;
  /** Expected values, in master-file syntax. */
  expected: string[];
  /** Values found in DNS, same syntax (empty when missing or on error). */
  found: string[];
  /** Extra explanation, e.g. the resolver's error code or "A/AAAA instead of CNAME". */
  detail?: string;
}

/** Options of {@link checkDnsRecords}. */
export interface DnsCheckOptions {
  /** Resolvers as `IP` or `IP:port` (`[v6]:port`); default: the system's. */
  servers?: string[];
  /** Per-query timeout in milliseconds; default 3000. */
  timeoutMs?: number;
  /** Attempts per query; default 2. */
  tries?: number;
}

export { parseDnsServer } from "./dns-server.ts";

const lower = (s: string) => s.toLowerCase();
const abs = (name: string) => (name === "" || name === "." ? "." : `${lower(name).replace(/\.$/, "")}.`);
/** SRV data without weight, for comparison: `priority port target`. */
const srvKey = (data: string) => {
  const [priority, , port, target] = data.split(/\s+/);
  return `${priority} ${port} ${abs(target ?? "")}`;
};
const unquote = (txt: string) => txt.replace(/^"|"$/g, "").replace(/\\(["\\])/g, "$1");

const MISSING_CODES = new Set(["ENOTFOUND", "ENODATA", "NXDOMAIN", "ENONAME"]);

async function lookup(resolver: Resolver, name: string, type: DnsRecord["type"]): Promise<string[]> {
  switch (type) {
    case "CNAME":
      return (await resolver.resolveCname(name)).map(abs);
    case "SRV":
      return (await resolver.resolveSrv(name)).map(
        (r) => `${r.priority} ${r.weight} ${r.port} ${abs(r.name)}`,
      );
    case "TXT":
      return (await resolver.resolveTxt(name)).map((chunks) => `"${chunks.join("")}"`);
    case "A":
      return resolver.resolve4(name);
    case "AAAA":
      return resolver.resolve6(name);
  }
}

/** Looks `name` up; `[]` when it is missing, the error code when the lookup failed. */
async function tryLookup(
  resolver: Resolver,
  name: string,
  type: DnsRecord["type"],
): Promise<{ values: string[] } | { error: string }> {
  try {
    return { values: await lookup(resolver, name, type) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "ERROR";
    return MISSING_CODES.has(code) ? { values: [] } : { error: code };
  }
}

async function addresses(resolver: Resolver, name: string): Promise<string[]> {
  const [v4, v6] = await Promise.all([tryLookup(resolver, name, "A"), tryLookup(resolver, name, "AAAA")]);
  return [...("values" in v4 ? v4.values : []), ...("values" in v6 ? v6.values : [])].sort();
}

/**
 * Checks every record against live DNS (or the resolvers given).
 * @returns one result per owner name and type, in the order of `records`; never throws for DNS errors
 */
export async function checkDnsRecords(
  records: readonly DnsRecord[],
  options: DnsCheckOptions = {},
): Promise<DnsCheckResult[]> {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 3000, tries: options.tries ?? 2 });
  if (options.servers?.length) resolver.setServers(options.servers);
  const groups = new Map<string, DnsRecord[]>();
  for (const r of records) {
    const key = `${lower(r.name)} ${r.type}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return Promise.all(
    [...groups.values()].map(async (group): Promise<DnsCheckResult> => {
      const first = group[0] as DnsRecord;
      const { name, type } = first;
      const expected = group.map((r) => r.data);
      const optional = group.every((r) => r.optional);
      const base = { name, type, optional, expected };
      const answer = await tryLookup(resolver, name, type);
      if ("error" in answer) return { ...base, status: "error", found: [], detail: answer.error };
      const found = answer.values;
      if (found.length === 0) {
        if (type === "CNAME") {
          // A/AAAA at the name instead of a CNAME: fine if they are the target's addresses.
          const [own, target] = await Promise.all([
            addresses(resolver, name),
            addresses(resolver, expected[0] ?? ""),
          ]);
          if (own.length > 0 && own.join() === target.join())
            return {
              ...base,
              status: "ok",
              found: own,
              detail: "A/AAAA records with the target's addresses",
            };
          if (own.length > 0)
            return {
              ...base,
              status: "different",
              found: own,
              detail: "A/AAAA records, not the target's addresses",
            };
        }
        return { ...base, status: "missing", found };
      }
      // PACC digest records: any TXT record at the name with the same UAAC1 digest will do (clients
      // accept several during a change; tag order and spacing do not matter).
      const digest =
        type === "TXT" && expected.length === 1 ? uaacDigest(unquote(expected[0] as string)) : undefined;
      if (digest) {
        const ok = found.some((v) => uaacDigest(unquote(v)) === digest);
        return {
          ...base,
          status: ok ? "ok" : "different",
          found,
          ...(ok && found.length > 1 ? { detail: "among other TXT records" } : {}),
        };
      }
      const key = (v: string) =>
        type === "SRV" ? srvKey(v) : type === "TXT" ? unquote(v) : type === "CNAME" ? abs(v) : lower(v);
      const want = new Set(expected.map(key));
      const have = new Set(found.map(key));
      const same = want.size === have.size && [...want].every((v) => have.has(v));
      return { ...base, status: same ? "ok" : "different", found };
    }),
  );
}

/** Exit code of `mailconf dns --check` when no required record is missing or different but some could not be looked up. */
export const EXIT_NOT_CHECKED = 3;

/**
 * Formats the results for the terminal: one line per name and type, then a summary (and, when
 * lookups failed, a line saying the check is incomplete).
 * @returns lines; `failed` = some required record is missing, different or could not be checked;
 *   `exitCode` = 1 if some required record is missing or different (DNS must change), else
 *   {@link EXIT_NOT_CHECKED} (3) if some lookup failed (nothing is known to be wrong, but not
 *   everything could be checked: resolver unreachable, timeouts, SERVFAIL), else 0
 */
export function formatDnsCheck(results: readonly DnsCheckResult[]): {
  lines: string[];
  failed: boolean;
  exitCode: 0 | 1 | 3;
} {
  const lines: string[] = [];
  const count = { ok: 0, missing: 0, different: 0, error: 0, optional: 0 };
  for (const r of results) {
    // An optional record that is not published is fine; one published with other values is not.
    const label = r.status === "missing" && r.optional ? "optional" : r.status;
    if (label === "optional") count.optional++;
    else count[r.status]++;
    const want = r.expected.join(" | ");
    let line = `${label.padEnd(9)} ${r.name} ${r.type} ${want}`;
    if (r.status === "different") line += `  (found: ${r.found.join(" | ")})`;
    if (r.status === "missing" && r.optional) line += "  (not published; optional)";
    if (r.detail) line += `  [${r.detail}]`;
    lines.push(line);
  }
  lines.push(
    "",
    `${count.ok} ok, ${count.missing} missing, ${count.different} different, ${count.error} not checked, ${count.optional} optional not published`,
  );
  const wrong = count.missing + count.different > 0;
  if (count.error > 0) {
    const codes = [...new Set(results.flatMap((r) => (r.status === "error" && r.detail ? [r.detail] : [])))];
    lines.push(
      `${count.error} lookup(s) failed (${codes.join(", ") || "no answer"}): ${wrong ? "those records" : "the records"} could not be checked; is the resolver reachable (--dns-server)?`,
    );
  }
  return {
    lines,
    failed: wrong || count.error > 0,
    exitCode: wrong ? 1 : count.error > 0 ? EXIT_NOT_CHECKED : 0,
  };
}
