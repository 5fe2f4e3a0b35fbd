/**
 * Node-only: MX lookups for resolution by MX (src/providers/mx.ts) through node:dns (c-ares), with
 * the system's DNS servers (/etc/resolv.conf) or the ones given.
 *
 * TTL: node:dns `resolveMx` reports no TTL (only `resolve4/6` take `{ ttl: true }`; `resolveAny`
 * has none for MX either, and ANY queries are refused by many servers, RFC 8482). Answers are
 * therefore cached for a fixed {@link NodeMxOptions.ttlSeconds} (default 300 s), which MxStore
 * clamps to its bounds. The DNS-over-HTTPS resolver (src/dns/doh.ts) uses the real TTLs.
 */
import { Resolver } from "node:dns/promises";
import type { MxAnswer, MxResolver } from "../providers/mx.ts";

/** Options of {@link nodeMxResolver}. */
export interface NodeMxOptions {
  /** DNS servers as `ip` or `ip:port` (default: the system's). */
  servers?: string[];
  /** Per-try timeout of c-ares, ms (default 700; MxStore bounds the whole lookup). */
  tryTimeoutMs?: number;
  /** Tries per server (default 2). */
  tries?: number;
  /** Cache time of every answer, seconds (node:dns gives no TTL; default 300). */
  ttlSeconds?: number;
}

/** An MX resolver over node:dns. Never throws: errors become `nxdomain` or `failure`. */
export function nodeMxResolver(options: NodeMxOptions = {}): MxResolver {
  const ttl = options.ttlSeconds ?? 300;
  return async (domain, signal): Promise<MxAnswer> => {
    const resolver = new Resolver({ timeout: options.tryTimeoutMs ?? 700, tries: options.tries ?? 2 });
    if (options.servers?.length) resolver.setServers(options.servers);
    const cancel = () => resolver.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      const records = await resolver.resolveMx(domain);
      return {
        kind: "records",
        records: records.map((r) => ({ exchange: r.exchange, priority: r.priority, ttl })),
      };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOTFOUND") return { kind: "nxdomain", negativeTtl: ttl };
      if (code === "ENODATA") return { kind: "records", records: [], negativeTtl: ttl };
      return { kind: "failure", reason: code ?? (e as Error).message };
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  };
}
