/**
 * A small authoritative DNS server on 127.0.0.1 (dns2, UDP, free port) for `mailconf dns --check`
 * tests, and a strict reader of the zone-file lines mailconf prints (RFC 1035 §5.1 master-file
 * syntax, restricted to what mailconf emits: absolute names, explicit TTL and class).
 */
import { createRequire } from "node:module";
import { isIPv4, isIPv6 } from "node:net";

/** One resource record as read from a zone line. */
export type ZoneRecord =
  | { name: string; ttl: number; type: "CNAME"; target: string }
  | { name: string; ttl: number; type: "SRV"; priority: number; weight: number; port: number; target: string }
  | { name: string; ttl: number; type: "TXT"; text: string }
  | { name: string; ttl: number; type: "A" | "AAAA"; address: string };

const LABEL = "(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)";
/** An absolute host name (RFC 1123 labels, trailing dot). */
const HOST = new RegExp(`^(?:${LABEL}\\.)+$`, "i");
/** An absolute owner name: host labels, or `_service._proto.` underscore labels in front (RFC 2782). */
const OWNER = new RegExp(`^(?:_[a-z0-9-]{1,62}\\.)*(?:${LABEL}\\.)+$`, "i");
const u16 = (s: string) => /^\d{1,5}$/.test(s) && Number(s) <= 65535;

/**
 * Reads one non-comment line `name TTL IN TYPE RDATA`.
 * @throws Error naming the line and the rule it breaks
 */
export function parseZoneLine(line: string): ZoneRecord {
  const m = /^(\S+)\s+(\d+)\s+IN\s+(CNAME|SRV|TXT|A|AAAA)\s+(.+?)\s*$/.exec(line);
  if (!m) throw new Error(`not "name TTL IN TYPE RDATA": ${line}`);
  const [, name, ttlText, type, rdata] = m as unknown as [string, string, string, ZoneRecord["type"], string];
  if (!OWNER.test(name) || name.length > 254) throw new Error(`bad owner name: ${line}`);
  const ttl = Number(ttlText);
  if (ttl > 2147483647) throw new Error(`TTL out of range: ${line}`);
  switch (type) {
    case "CNAME":
      if (!HOST.test(rdata)) throw new Error(`bad CNAME target: ${line}`);
      return { name, ttl, type, target: rdata };
    case "SRV": {
      const f = rdata.split(/\s+/);
      const [p, w, port, target] = f as [string, string, string, string];
      if (f.length !== 4 || !u16(p) || !u16(w) || !u16(port)) throw new Error(`bad SRV numbers: ${line}`);
      if (target !== "." && !HOST.test(target)) throw new Error(`bad SRV target: ${line}`);
      if (target === "." && (p !== "0" || w !== "0" || port !== "0"))
        throw new Error(`"." target must be 0 0 0 (RFC 2782): ${line}`);
      return { name, ttl, type, priority: Number(p), weight: Number(w), port: Number(port), target };
    }
    case "TXT": {
      const t = /^"((?:[^"\\]|\\["\\])*)"$/.exec(rdata);
      if (!t) throw new Error(`bad TXT string: ${line}`);
      return { name, ttl, type, text: (t[1] as string).replace(/\\(["\\])/g, "$1") };
    }
    case "A":
    case "AAAA":
      if (type === "A" ? !isIPv4(rdata) : !isIPv6(rdata)) throw new Error(`bad address: ${line}`);
      return { name, ttl, type, address: rdata };
  }
}

/** A line without its comment: `;` starts one outside a quoted string only (RFC 1035 §5.1). */
function stripComment(line: string): string {
  const m = /^(?:[^";]|"(?:[^"\\]|\\.)*")*/.exec(line);
  return (m?.[0] ?? line).trimEnd();
}

/** Every record of a zone text (comments and blank lines skipped). */
export function parseZoneText(text: string): ZoneRecord[] {
  return text
    .split("\n")
    .map(stripComment)
    .filter((l) => l.trim() !== "")
    .map(parseZoneLine);
}

interface Dns2Packet {
  header: { rcode: number; aa: number };
  questions: { name: string; type: number }[];
  answers: Record<string, unknown>[];
}
interface Dns2 {
  Packet: {
    TYPE: Record<string, number>;
    CLASS: { IN: number };
    createResponseFromRequest(req: Dns2Packet): Dns2Packet;
  };
  UDPServer: new (opts: {
    type: "udp4";
  }) => {
    on(event: "request", cb: (req: Dns2Packet, send: (res: Dns2Packet) => Promise<unknown>) => void): void;
    listen(port: number, address: string): Promise<void>;
    address(): { port: number };
    close(cb?: () => void): void;
  };
}

/** A running test DNS server; `queries` counts what it was asked. */
export interface TestDnsServer {
  /** `127.0.0.1:<port>`, for `--dns-server`. */
  address: string;
  queries: number;
  close(): Promise<void>;
}

/**
 * Serves `records` authoritatively: answers of the asked type, NODATA if the name has other
 * types, NXDOMAIN if the name is unknown.
 */
export async function startDnsServer(records: ZoneRecord[]): Promise<TestDnsServer> {
  const dns2 = createRequire(import.meta.url)("dns2") as Dns2;
  const { Packet } = dns2;
  const server = new dns2.UDPServer({ type: "udp4" });
  const state = { queries: 0 };
  const key = (n: string) => n.toLowerCase().replace(/\.$/, "");
  server.on("request", (request, send) => {
    state.queries++;
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    const q = request.questions[0];
    if (!q) return void send(response);
    const atName = records.filter((r) => key(r.name) === key(q.name));
    if (atName.length === 0) response.header.rcode = 3; // NXDOMAIN
    for (const r of atName) {
      if (Packet.TYPE[r.type] !== q.type) continue;
      const base = { name: q.name, type: q.type, class: Packet.CLASS.IN, ttl: r.ttl };
      if (r.type === "CNAME") response.answers.push({ ...base, domain: r.target.replace(/\.$/, "") });
      else if (r.type === "SRV")
        response.answers.push({
          ...base,
          priority: r.priority,
          weight: r.weight,
          port: r.port,
          target: r.target,
        });
      else if (r.type === "TXT") response.answers.push({ ...base, data: r.text });
      else response.answers.push({ ...base, address: r.address });
    }
    void send(response);
  });
  await server.listen(0, "127.0.0.1");
  return {
    address: `127.0.0.1:${server.address().port}`,
    get queries() {
      return state.queries;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
