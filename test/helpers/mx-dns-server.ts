/**
 * A real DNS server on 127.0.0.1 (dns2, UDP, port chosen by the OS) with a zone given by the test:
 * MX records with TTLs, NXDOMAIN for names not in the zone, and names it never answers (to test
 * timeouts). Counts the queries per name, so tests can see what was cached.
 */
import dns2 from "dns2";

const { Packet } = dns2;

/** RCODE 3, NXDOMAIN (RFC 1035 §4.1.1). */
const NXDOMAIN = 3;

/** The zone: MX records per name (an empty list answers NOERROR with no records). */
export interface TestZone {
  mx: Record<string, { exchange: string; priority: number; ttl: number }[]>;
  /** Names the server receives but never answers. */
  silent?: string[];
  /** SOA TTL sent in the authority section of negative answers (RFC 2308). */
  negativeTtl?: number;
}

export interface TestDnsServer {
  /** `127.0.0.1:<port>`, for Resolver.setServers. */
  address: string;
  port: number;
  /** Queries received, by lower-case name. */
  queries: Map<string, number>;
  zone: TestZone;
  close(): Promise<void>;
}

/** Starts the server; call `close()` in afterAll. */
export async function startDnsServer(zone: TestZone): Promise<TestDnsServer> {
  const queries = new Map<string, number>();
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const question = request.questions[0];
      if (!question) return;
      const name = question.name.toLowerCase().replace(/\.$/, "");
      queries.set(name, (queries.get(name) ?? 0) + 1);
      if (zone.silent?.includes(name)) return;
      const response = Packet.createResponseFromRequest(request);
      const records = zone.mx[name];
      const soa = {
        name,
        type: Packet.TYPE.SOA as number,
        class: Packet.CLASS.IN as number,
        ttl: zone.negativeTtl ?? 600,
        primary: "ns.test-zone.net",
        admin: "hostmaster.test-zone.net",
        serial: 1,
        refresh: 3600,
        retry: 600,
        expiration: 86400,
        minimum: zone.negativeTtl ?? 600,
      };
      if (records === undefined) {
        response.header.rcode = NXDOMAIN;
        response.authorities.push(soa);
      } else if (question.type === Packet.TYPE.MX) {
        for (const r of records) {
          response.answers.push({
            name: question.name,
            type: Packet.TYPE.MX as number,
            class: Packet.CLASS.IN as number,
            ttl: r.ttl,
            exchange: r.exchange,
            priority: r.priority,
          });
        }
        if (records.length === 0) response.authorities.push(soa);
      }
      send(response);
    },
  });
  server.on("requestError", () => {});
  const addresses = await server.listen({ udp: { port: 0, address: "127.0.0.1", type: "udp4" } });
  const port = addresses.udp?.port as number;
  return { address: `127.0.0.1:${port}`, port, queries, zone, close: () => server.close() };
}
