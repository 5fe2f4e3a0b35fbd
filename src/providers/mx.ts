/**
 * Resolution by MX: an unknown domain whose MX host matches a provider's `mxHosts` is answered
 * with that provider's settings. Thunderbird does this on the client (it looks the MX host's
 * base domain up in the ISPDB; reference/autoconfig.md, draft-ietf-mailmaint-autoconfig
 * `%MXBASEDOMAIN%`); mailconf does it on the server, for every client.
 *
 * {@link MxStore} wraps the whole layered store: a domain any layer knows (exact, alias or
 * wildcard) never causes a DNS query; nor does anything when no provider declares `mxHosts`, or
 * for special-use names (RFC 2606/6761: `.test`, `.example`, `.invalid`, `.localhost`, `example.com` …).
 * Otherwise the domain's MX records are fetched through the injected {@link MxResolver}
 * (node:dns on Node, DNS-over-HTTPS on Workers), in order of preference, and the first MX host
 * that some provider declares wins.
 *
 * DNS answers are cached per domain (positive and negative) for their TTL clamped to
 * [{@link MxStoreOptions.minTtlSeconds}, {@link MxStoreOptions.maxTtlSeconds}]; failures
 * (timeout, SERVFAIL, refused) for {@link MxStoreOptions.failureTtlSeconds}. A lookup is bounded by
 * {@link MxStoreOptions.timeoutMs}; a failure or timeout answers "unknown domain", never an error.
 * Concurrent lookups of one domain share one query.
 *
 * Web APIs only: this module runs unchanged on Node.js and on Cloudflare Workers.
 */
import { normalizeDomain } from "./domain.ts";
import type { ProviderEntry, Resolution, SettingsStore } from "./store.ts";

/** One MX record: the exchange host name, its preference (lower first) and TTL in seconds. */
export interface MxRecord {
  exchange: string;
  priority: number;
  ttl: number;
}

/**
 * The answer of a resolver for one domain:
 * - `records`: the MX records (may be empty: NODATA, or a null MX `.`), with `negativeTtl`
 *   (seconds; the SOA minimum when the resolver knows it) for the no-record case
 * - `nxdomain`: the domain does not exist
 * - `failure`: no usable answer (timeout, SERVFAIL, refused, network error)
 */
export type MxAnswer =
  | { kind: "records"; records: MxRecord[]; negativeTtl?: number }
  | { kind: "nxdomain"; negativeTtl?: number }
  | { kind: "failure"; reason: string };

/**
 * Looks a domain's MX records up. Must not throw (return `failure`), and should honour `signal`
 * (aborted when {@link MxStoreOptions.timeoutMs} has passed).
 */
export type MxResolver = (domain: string, signal: AbortSignal) => Promise<MxAnswer>;

/** Options of {@link MxStore}. */
export interface MxStoreOptions {
  /** Upper bound of one lookup, in milliseconds (default 1500). */
  timeoutMs?: number;
  /** Shortest time an answer is cached, seconds (default 60). */
  minTtlSeconds?: number;
  /** Longest time an answer is cached, seconds (default 3600). */
  maxTtlSeconds?: number;
  /** Time a negative answer without a TTL (NXDOMAIN, no MX) is cached, seconds (default 300). */
  negativeTtlSeconds?: number;
  /** Time a failure (timeout, SERVFAIL) is cached, seconds (default 30). */
  failureTtlSeconds?: number;
  /** Most domains kept in the cache (default 10000; the oldest entry goes first). */
  maxEntries?: number;
  /** Also look up special-use names such as `*.test` (default false; tests against a local DNS server set it). */
  allowSpecialUse?: boolean;
  /** Clock in milliseconds (tests). */
  now?: () => number;
  /** Operator log (DNS failures; no addresses). */
  log?: (message: string) => void;
}

/** RFC 6761 special-use TLDs and RFC 2606 example domains: never looked up in DNS. */
const SPECIAL_USE =
  /(^|\.)(test|example|invalid|localhost|local|onion|internal|home\.arpa|example\.(com|net|org))$/;

interface CacheEntry {
  answer: MxAnswer;
  expires: number;
}

/** Clamps a TTL (seconds). */
function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Number.isFinite(value) ? value : min));
}

/** The MX-resolving wrapper store. See the module documentation. */
export class MxStore implements SettingsStore {
  readonly #inner: SettingsStore;
  readonly #resolver: MxResolver;
  readonly #options: Required<Omit<MxStoreOptions, "log">> & Pick<MxStoreOptions, "log">;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<MxAnswer>>();

  /**
   * @param inner the layered store (published → settings files → ISPDB → built-in)
   * @param resolver MX lookups (see src/node/mx-resolver.ts for Node, src/dns/doh.ts for Workers)
   */
  constructor(inner: SettingsStore, resolver: MxResolver, options: MxStoreOptions = {}) {
    this.#inner = inner;
    this.#resolver = resolver;
    this.#options = {
      timeoutMs: options.timeoutMs ?? 1500,
      minTtlSeconds: options.minTtlSeconds ?? 60,
      maxTtlSeconds: options.maxTtlSeconds ?? 3600,
      negativeTtlSeconds: options.negativeTtlSeconds ?? 300,
      failureTtlSeconds: options.failureTtlSeconds ?? 30,
      maxEntries: options.maxEntries ?? 10_000,
      allowSpecialUse: options.allowSpecialUse ?? false,
      now: options.now ?? (() => Date.now()),
      log: options.log,
    };
  }

  /** A domain the stores know, from memory; anything else may need DNS (`undefined`). */
  peek(domain: string): Resolution | null | undefined {
    return this.#inner.peek?.(domain) ?? undefined;
  }

  async resolve(domain: string): Promise<Resolution | undefined> {
    const known = await this.#inner.resolve(domain);
    if (known) return known;
    if (!this.#options.allowSpecialUse && SPECIAL_USE.test(domain)) return undefined;
    if (!(await this.#inner.hasMxHosts?.())) return undefined;
    const answer = await this.lookup(domain);
    if (answer.kind !== "records") return undefined;
    const records = [...answer.records].sort((a, b) => a.priority - b.priority);
    for (const record of records) {
      const host = normalizeDomain(record.exchange);
      if (!host) continue; // null MX ".", or junk
      const entry = await this.#inner.matchMx?.(host);
      if (entry) return { provider: entry.provider, source: entry.source, domain, via: "mx", mxHost: host };
    }
    return undefined;
  }

  /**
   * The (cached) MX answer for a domain, bounded by the timeout. Never throws.
   * Exposed for `mailconf check` and tests.
   */
  async lookup(domain: string): Promise<MxAnswer> {
    const now = this.#options.now();
    const cached = this.#cache.get(domain);
    if (cached && cached.expires > now) return cached.answer;
    const pending = this.#inflight.get(domain);
    if (pending) return pending;
    const query = this.#query(domain).finally(() => this.#inflight.delete(domain));
    this.#inflight.set(domain, query);
    return query;
  }

  async #query(domain: string): Promise<MxAnswer> {
    const { timeoutMs } = this.#options;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<MxAnswer>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve({ kind: "failure", reason: `timeout after ${timeoutMs} ms` });
      }, timeoutMs);
    });
    let answer: MxAnswer;
    try {
      answer = await Promise.race([
        this.#resolver(domain, controller.signal).catch(
          (e: unknown): MxAnswer => ({ kind: "failure", reason: (e as Error)?.message ?? String(e) }),
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
    if (answer.kind === "failure") this.#options.log?.(`mx: lookup failed for ${domain}: ${answer.reason}`);
    this.#store(domain, answer);
    return answer;
  }

  #store(domain: string, answer: MxAnswer): void {
    const o = this.#options;
    let ttl: number;
    if (answer.kind === "failure") ttl = o.failureTtlSeconds;
    else if (answer.kind === "nxdomain" || answer.records.length === 0)
      ttl = clamp(answer.negativeTtl ?? o.negativeTtlSeconds, o.minTtlSeconds, o.maxTtlSeconds);
    else ttl = clamp(Math.min(...answer.records.map((r) => r.ttl)), o.minTtlSeconds, o.maxTtlSeconds);
    this.#cache.delete(domain);
    if (this.#cache.size >= o.maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(domain, { answer, expires: o.now() + ttl * 1000 });
  }

  providers(): Promise<ProviderEntry[]> {
    return this.#inner.providers();
  }

  async findProvider(id: string): Promise<ProviderEntry | undefined> {
    return this.#inner.findProvider?.(id);
  }

  async matchMx(host: string): Promise<ProviderEntry | undefined> {
    return this.#inner.matchMx?.(host);
  }

  async hasMxHosts(): Promise<boolean> {
    return (await this.#inner.hasMxHosts?.()) ?? false;
  }
}
