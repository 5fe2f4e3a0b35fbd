/**
 * Running behind a reverse proxy (`mailconf serve --trust-proxy <addresses|CIDRs>`): the client
 * address, Host and scheme a trusted proxy forwards, from `Forwarded` (RFC 7239) or the de-facto
 * `X-Forwarded-For`/`-Host`/`-Proto`, and from no one else. Node-only (node:http requests).
 */
import type { IncomingMessage } from "node:http";
import parseForwarded from "forwarded-parse";
import proxyAddr from "proxy-addr";

/** Whether the hop `addr` (0 = the peer, 1 = the address it forwarded for, …) is a trusted proxy. */
export type TrustProxy = (addr: string, hop: number) => boolean;

/**
 * Compiles `--trust-proxy` values: IPv4/IPv6 addresses, CIDRs (`10.0.0.0/8`, `fd00::/8`) and the
 * names `loopback`, `linklocal`, `uniquelocal` (proxy-addr's). Comma-separated lists are split.
 * @throws TypeError naming a value that is neither (proxy-addr's message)
 */
export function compileTrustProxy(values: readonly string[]): TrustProxy {
  const list = values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  return proxyAddr.compile(list);
}

/** What a trusted proxy told us about the original request. */
export interface Forwarded {
  /** The client address: the nearest hop that is not a trusted proxy. */
  client: string;
  /** The Host the client sent, if the proxy forwarded it. */
  host?: string;
  /** `http` or `https`, if the proxy forwarded it. */
  proto?: string;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
};

/**
 * Reads the forwarded client address, Host and scheme of a request whose peer is trusted. The
 * address list is walked from the nearest hop outwards and stops at the first untrusted one, so a
 * client cannot forge its address by sending its own header through the proxy. `Forwarded` wins
 * over the `X-Forwarded-*` headers when both are present; an unparseable `Forwarded` is ignored.
 * @returns undefined when the peer is not trusted (the request is taken as sent)
 */
export function readForwarded(req: IncomingMessage, trust: TrustProxy): Forwarded | undefined {
  const peer = req.socket.remoteAddress ?? "";
  if (!trust(peer, 0)) return undefined;
  const forwarded = header(req, "forwarded");
  let elements: Record<string, string>[] | undefined;
  if (forwarded) {
    try {
      elements = parseForwarded(forwarded);
    } catch {
      elements = undefined;
    }
  }
  if (elements && elements.length > 0) {
    const hops = [peer];
    for (let i = elements.length - 1; i >= 0; i--) hops.push(stripPort(elements[i]?.for ?? ""));
    const k = nearestUntrusted(hops, trust);
    // Hop k was reported by element length-k: the proxy that saw the client, and its Host.
    const seen = elements[elements.length - k];
    return { client: hops[k] as string, host: seen?.host, proto: seen?.proto?.toLowerCase() };
  }
  const xHost = header(req, "x-forwarded-host");
  const xProto = header(req, "x-forwarded-proto");
  return {
    client: proxyAddr(req, trust),
    host: xHost ? lastValue(xHost) : undefined,
    proto: xProto ? lastValue(xProto).toLowerCase() : undefined,
  };
}

/** The index of the nearest hop that is not trusted, or of the farthest one if all are. */
function nearestUntrusted(hops: string[], trust: TrustProxy): number {
  for (let i = 0; i < hops.length - 1; i++) if (!trust(hops[i] as string, i)) return i;
  return hops.length - 1;
}

/** The value the nearest proxy added (the last one of a comma-separated list). */
function lastValue(list: string): string {
  const i = list.lastIndexOf(",");
  return (i < 0 ? list : list.slice(i + 1)).trim();
}

/** `Forwarded: for=` node values: `192.0.2.1:4711`, `[2001:db8::1]:4711`, `[2001:db8::1]`. */
function stripPort(node: string): string {
  if (node.startsWith("[")) return node.slice(1, node.indexOf("]") > 0 ? node.indexOf("]") : undefined);
  const colon = node.indexOf(":");
  return colon > 0 && node.indexOf(":", colon + 1) < 0 ? node.slice(0, colon) : node;
}
