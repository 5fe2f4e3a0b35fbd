/**
 * The SQL store of published settings (admin API, `mailconf providers|domains|import-ispdb`):
 * SQLite or PostgreSQL on Node, D1 on Workers, through the {@link SqlDriver} interface; schema in migrations/.
 *
 * Reading: {@link SqlStore.resolve} answers a domain in the order exact → alias → wildcard (longest
 * suffix first), like the other stores. A domain may be assigned to a provider of any source (a
 * settings file, the ISPDB folder, the built-in Gmail …) by id, and an alias may point to a domain
 * any source serves: the `fallback` store (the layers below this one) answers those.
 *
 * Caching ({@link SqlStoreOptions.cache}, src/store/published-cache.ts): with `full` (the Node
 * server) everything published is held in memory and lookups run no SQL; with `lru` (Workers, D1) a
 * per-isolate LRU holds answered lookups; with `off` (one-shot CLI commands) every lookup reads the
 * database. Every write ends by incrementing the `settings_version` row in its own transaction; a
 * write through this store drops the caches at once, and one by another process (the CLI beside a
 * running server, a second server) is seen by the first lookup after at most `changeCheckMs`
 * (default 1 s). Until the memory copy is (re)loaded, lookups read the database: never stale.
 *
 * Writing: every write is one transaction (driver `batch`), guarded by the schema's constraints,
 * so a failed write changes nothing. Bodies are validated with the settings model first.
 *
 * Web APIs only: this module runs unchanged on Node.js and on Cloudflare Workers.
 */
import { LRU } from "tiny-lru";
import { normalizeDomain } from "../providers/domain.ts";
import { type FieldError, type Provider, ProviderSchema } from "../providers/model.ts";
import {
  NameIndex,
  type ProviderEntry,
  type Resolution,
  resolutionOf,
  type SettingsStore,
} from "../providers/store.ts";
import {
  BUMP_VERSION_SQL,
  DEFAULT_CHANGE_CHECK_MS,
  DEFAULT_LRU_ENTRIES,
  type loadIndex,
  type PublishedIndex,
  readVersion,
} from "./published-cache.ts";
import {
  MAX_SQL_PARAMS,
  SqlConstraintError,
  type SqlDriver,
  type SqlResult,
  type SqlStatement,
  type SqlValue,
} from "./sql.ts";

/** The `source` of everything served from the SQL store. */
export const SQL_SOURCE = "database";

/** A published domain entry (one row of the domains table). */
export interface DomainEntry {
  /** Normalised; `*.example.com` serves every subdomain of example.com. */
  domain: string;
  /** The provider id serving it (any source), unless it is an alias. */
  provider?: string;
  /** The domain it is an alias of, unless it names a provider. */
  aliasOf?: string;
  /** `provider`: listed in the provider's own `domains`; `assigned`: set with PUT /domains (or the CLI). */
  origin: "provider" | "assigned";
  /** ISO 8601 time of the last write. */
  updatedAt: string;
}

/** A published provider with its last write time. */
export interface PublishedProvider {
  provider: Provider;
  updatedAt: string;
}

/** A page of a listing; `next` is the cursor for the following page (`after=`), or null at the end. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/**
 * Why a write was refused. Nothing was changed.
 * - `invalid`: the request names something that does not exist or is not allowed (HTTP 400)
 * - `conflict`: it contradicts what is stored, e.g. a domain served by another provider (HTTP 409)
 * - `not-found`: the provider or domain to delete is not published (HTTP 404)
 */
export class WriteError extends Error {
  constructor(
    readonly kind: "invalid" | "conflict" | "not-found",
    readonly errors: FieldError[],
  ) {
    super(errors.map((e) => e.message).join("; "));
    this.name = "WriteError";
  }
}

/**
 * A domain that cannot be removed on its own: it is in provider `provider`'s own `domains`, so the
 * provider must be published again without it. Interfaces add how (the admin API: PUT the provider;
 * the CLI: `providers add` a settings file).
 */
export class ListedDomainError extends WriteError {
  constructor(
    readonly domain: string,
    readonly provider: string,
  ) {
    super("conflict", [
      {
        path: ["domain"],
        message: `${domain} is listed in provider ${provider}'s domains; publish ${provider} again without it`,
      },
    ]);
  }
}

/** What a domain is published as: served by a provider (by id), or an alias of another domain. */
export type DomainTarget = { provider: string } | { aliasOf: string };

interface DomainRow {
  domain: string;
  provider_id: string | null;
  alias_of: string | null;
  origin: "provider" | "assigned";
  updated_at: string;
  body?: string | null;
  /** From the in-memory index: the published provider, already parsed (else `body` is parsed). */
  parsed?: Provider;
}

/** At most this many wildcard suffixes are tried per lookup (keeps a query under D1's 100 parameters). */
const MAX_CANDIDATES = MAX_SQL_PARAMS - 2;

/**
 * The names a row may have to match `name`: the name itself, then `*.<suffix>` for every suffix of
 * two or more labels, nearest first (`a.b.example.com` → `*.b.example.com`, `*.example.com`).
 */
export function matchCandidates(name: string): string[] {
  const labels = name.split(".");
  const out = [name];
  for (let i = 1; i + 2 <= labels.length && out.length < MAX_CANDIDATES; i++) {
    out.push(`*.${labels.slice(i).join(".")}`);
  }
  return out;
}

const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ");

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Options of {@link SqlStore}. */
export interface SqlStoreOptions {
  /**
   * The stores below this one (settings files → ISPDB → built-in): they answer provider ids of
   * assigned domains and alias targets that are not published here.
   */
  fallback?: SettingsStore;
  /** Clock for `updated_at` (tests). */
  now?: () => Date;
  /** Operator log for rows that no longer validate (they are skipped, never served half-read). */
  log?: (message: string) => void;
  /**
   * Where lookups are answered from (see the module documentation): `full` everything in memory
   * (Node server), `lru` a bounded cache of answered lookups (Workers), `off` the database every
   * time (default; one-shot commands).
   */
  cache?: "full" | "lru" | "off";
  /**
   * Mode `full`'s loader, {@link loadIndex} (src/store/published-cache.ts); required with `full`.
   * The Node entry gives it (src/node/settings.ts), so the Worker bundle (mode `lru`) holds none of
   * the in-memory index's code (its 150 KiB gzip budget, scripts/check-bundle.ts).
   */
  loadIndex?: typeof loadIndex;
  /** At most this often (ms) the change marker is read; default {@link DEFAULT_CHANGE_CHECK_MS}. */
  changeCheckMs?: number;
  /** Entries of the `lru` cache; default {@link DEFAULT_LRU_ENTRIES}. */
  lruEntries?: number;
  /** Monotonic clock in ms for the change checks (tests). Default `performance.now()`. */
  clock?: () => number;
}

/** The SQL store. See the module documentation. */
export class SqlStore implements SettingsStore {
  readonly #db: SqlDriver;
  readonly #fallback?: SettingsStore;
  readonly #now: () => Date;
  readonly #log?: (message: string) => void;
  /** Parsed provider bodies by their JSON text (bounded), so a lookup does not re-validate. */
  readonly #parsed = new Map<string, Provider | null>();
  readonly #mode: "full" | "lru" | "off";
  readonly #checkMs: number;
  readonly #clock: () => number;
  /** The change marker the caches belong to; `undefined` until read, and right after a local write. */
  #version: number | undefined;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #checking: Promise<void> | undefined;
  /** Mode `full`: everything published, loaded at {@link #version}. */
  #index: PublishedIndex | undefined;
  #loading: Promise<void> | undefined;
  readonly #loadIndex: typeof loadIndex | undefined;
  /** Mode `lru`: answered lookups (hits and misses) by domain. */
  readonly #lru: LRU<{ hit: Resolution | undefined }> | undefined;
  #hasMx: boolean | undefined;

  constructor(driver: SqlDriver, options: SqlStoreOptions = {}) {
    this.#db = driver;
    this.#fallback = options.fallback;
    this.#now = options.now ?? (() => new Date());
    this.#log = options.log;
    this.#mode = options.cache ?? "off";
    this.#checkMs = options.changeCheckMs ?? DEFAULT_CHANGE_CHECK_MS;
    this.#clock = options.clock ?? (() => performance.now());
    if (this.#mode === "lru") this.#lru = new LRU(options.lruEntries ?? DEFAULT_LRU_ENTRIES);
    if (this.#mode === "full" && !options.loadIndex)
      throw new TypeError('SqlStore: cache "full" needs options.loadIndex (src/store/published-cache.ts)');
    this.#loadIndex = options.loadIndex;
  }

  // ---------------------------------------------------------------- the cache

  /**
   * Starts loading everything published into memory (mode `full`; no-op otherwise) and resolves when
   * it is loaded. Lookups do not wait for it: they read the database meanwhile.
   */
  async warm(): Promise<void> {
    if (this.#mode !== "full") return;
    await this.#fresh();
    await this.#loading;
  }

  /** Whether lookups are being answered from memory now (mode `full`, loaded and current). */
  get inMemory(): boolean {
    return this.#index !== undefined;
  }

  /** How many published domains are held in memory (mode `full`), 0 when none are. */
  get domainsInMemory(): number {
    return this.#index?.domains.size ?? 0;
  }

  /** Reads the change marker when the last read is older than `changeCheckMs`; `undefined` when not due. */
  #fresh(): Promise<void> | undefined {
    if (this.#mode === "off") return undefined;
    if (this.#checking) return this.#checking;
    if (this.#clock() - this.#checkedAt < this.#checkMs) return undefined;
    this.#checking = this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(): Promise<void> {
    const version = await readVersion(this.#db);
    this.#checkedAt = this.#clock();
    if (version !== this.#version || version < 0) {
      this.#drop();
      this.#version = version;
    }
    if (this.#mode === "full" && !this.#index) this.#load();
  }

  #drop(): void {
    this.#index = undefined;
    this.#lru?.clear();
    this.#hasMx = undefined;
  }

  /** Loads the full index in the background; it is used only if it belongs to the current marker. */
  #load(): void {
    if (this.#loading || !this.#loadIndex) return;
    this.#loading = this.#loadIndex(this.#db, (body, id) => this.#provider(body, id))
      .then(
        (index) => {
          if (index && index.version === this.#version) this.#index = index;
          else this.#checkedAt = Number.NEGATIVE_INFINITY; // changed meanwhile: check and load again
        },
        (e: Error) =>
          this.#log?.(`database: cannot hold the published settings in memory (${e.message}); reading it`),
      )
      .finally(() => {
        this.#loading = undefined;
      });
  }

  /** After a write through this store: drop everything now; the next lookup reads the marker. */
  #changed(): void {
    this.#drop();
    this.#version = undefined;
    this.#checkedAt = Number.NEGATIVE_INFINITY;
  }

  /** Runs a write batch with the marker bump appended; the caches are dropped whatever the outcome. */
  async #write(statements: SqlStatement[]): Promise<SqlResult[]> {
    try {
      return await this.#db.batch([...statements, { sql: BUMP_VERSION_SQL }]);
    } finally {
      this.#changed();
    }
  }

  /** The stores below this one, if any. */
  get fallback(): SettingsStore | undefined {
    return this.#fallback;
  }

  // ---------------------------------------------------------------- reading (SettingsStore)

  /** Validated provider from a stored body; `undefined` (logged) if the row no longer validates. */
  #provider(body: string | null | undefined, id: string): Provider | undefined {
    if (!body) return undefined;
    let hit = this.#parsed.get(body);
    if (hit === undefined) {
      let data: unknown;
      try {
        data = JSON.parse(body);
      } catch {
        data = undefined;
      }
      const result = ProviderSchema.safeParse(data);
      hit = result.success ? result.data : null;
      if (!result.success) this.#log?.(`database: provider ${id} does not validate any more; skipped`);
      if (this.#parsed.size >= 1000) this.#parsed.clear();
      this.#parsed.set(body, hit);
    }
    return hit ?? undefined;
  }

  /** The entry of a row naming a provider: published here, else from the fallback by id. */
  async #entryOf(row: DomainRow): Promise<ProviderEntry | undefined> {
    if (!row.provider_id) return undefined;
    const own = row.parsed ?? this.#provider(row.body, row.provider_id);
    if (own) return { provider: own, source: SQL_SOURCE };
    const other = await this.#fallback?.findProvider?.(row.provider_id);
    return other && { provider: other.provider, source: `${SQL_SOURCE} (provider from ${other.source})` };
  }

  /** Rows for a lookup: from memory when the index is loaded and current, else from the database. */
  async #lookupRows(names: string[]): Promise<DomainRow[]> {
    const index = this.#index;
    if (!index) return this.#rows(names);
    const out: DomainRow[] = [];
    for (const domain of names) {
      const hit = index.domains.get(domain);
      if (hit === undefined) continue;
      const provider = typeof hit === "string";
      out.push({
        domain,
        provider_id: provider ? hit : null,
        alias_of: provider ? null : hit.aliasOf,
        origin: "provider",
        updated_at: "",
        parsed: provider ? (index.providers.get(hit) ?? undefined) : undefined,
      });
    }
    return out;
  }

  async #rows(names: string[]): Promise<DomainRow[]> {
    const { rows } = await this.#db.execute({
      sql: `SELECT d.domain, d.provider_id, d.alias_of, d.origin, d.updated_at, p.body
              FROM domains d LEFT JOIN providers p ON p.id = d.provider_id
             WHERE d.domain IN (${placeholders(names.length)})`,
      params: names,
    });
    return rows as unknown as DomainRow[];
  }

  /** Exact or wildcard match among rows naming a provider (aliases are not followed). */
  async #direct(
    name: string,
    rows: DomainRow[],
  ): Promise<{ entry: ProviderEntry; via: "exact" | "wildcard" } | undefined> {
    const byName = new Map(rows.map((r) => [r.domain, r]));
    for (const candidate of matchCandidates(name)) {
      const row = byName.get(candidate);
      if (!row?.provider_id) continue;
      const entry = await this.#entryOf(row);
      if (entry) return { entry, via: candidate === name ? "exact" : "wildcard" };
    }
    return undefined;
  }

  async resolve(domain: string): Promise<Resolution | undefined> {
    const due = this.#fresh();
    if (due) await due;
    const lru = this.#lru;
    if (!lru) return this.#resolve(domain);
    const cached = lru.get(domain);
    if (cached) return cached.hit;
    const version = this.#version;
    const hit = await this.#resolve(domain);
    if (version !== undefined && version === this.#version) lru.set(domain, { hit });
    return hit;
  }

  /**
   * {@link resolve} from memory, when it can tell: set by the Node entry (src/node/settings.ts,
   * with {@link peekPublished} over {@link currentIndex}), absent on Workers, whose LRU holds
   * answers only after a lookup.
   */
  peek?: (domain: string) => Resolution | null | undefined;

  /** The settings held in memory when they are current (mode `full`, loaded, no change check due). */
  get currentIndex(): PublishedIndex | undefined {
    return this.#checking || this.#clock() - this.#checkedAt >= this.#checkMs ? undefined : this.#index;
  }

  async #resolve(domain: string): Promise<Resolution | undefined> {
    const candidates = matchCandidates(domain);
    const rows = await this.#lookupRows(candidates);
    if (rows.length === 0) return undefined;
    const exact = rows.find((r) => r.domain === domain);
    if (exact?.provider_id) {
      const entry = await this.#entryOf(exact);
      if (entry) return resolutionOf(entry, domain, "exact");
    }
    if (exact?.alias_of) {
      const target = await this.#aliasTarget(exact.alias_of);
      if (target)
        return {
          provider: target.entry.provider,
          source: target.entry.source,
          domain,
          via: "alias",
          aliasOf: exact.alias_of,
        };
    }
    const wild = await this.#direct(
      domain,
      rows.filter((r) => r.domain !== domain),
    );
    return wild && resolutionOf(wild.entry, domain, "wildcard");
  }

  /** What an alias points at: a domain published here or known to the fallback (exact or wildcard). */
  async #aliasTarget(target: string): Promise<{ entry: ProviderEntry } | undefined> {
    const own = await this.#direct(target, await this.#lookupRows(matchCandidates(target)));
    if (own) return own;
    const other = await this.#fallback?.resolve(target);
    if (other && (other.via === "exact" || other.via === "wildcard")) {
      return {
        entry: { provider: other.provider, source: `${SQL_SOURCE} (alias target from ${other.source})` },
      };
    }
    return undefined;
  }

  async providers(): Promise<ProviderEntry[]> {
    const { rows } = await this.#db.execute({ sql: "SELECT id, body FROM providers ORDER BY id" });
    return rows.flatMap((r) => {
      const provider = this.#provider(String(r.body), String(r.id));
      return provider ? [{ provider, source: SQL_SOURCE }] : [];
    });
  }

  async findProvider(id: string): Promise<ProviderEntry | undefined> {
    const own = await this.getProvider(id);
    if (own) return { provider: own.provider, source: SQL_SOURCE };
    return this.#fallback?.findProvider?.(id);
  }

  async matchMx(host: string): Promise<ProviderEntry | undefined> {
    const due = this.#fresh();
    if (due) await due;
    const candidates = matchCandidates(host);
    const index = this.#index;
    if (index) {
      for (const candidate of candidates)
        for (const id of index.mx.get(candidate) ?? []) {
          const provider = index.providers.get(id);
          if (provider) return { provider, source: SQL_SOURCE };
        }
      return undefined;
    }
    const { rows } = await this.#db.execute({
      sql: `SELECT m.pattern, m.provider_id, p.body
              FROM mx_hosts m JOIN providers p ON p.id = m.provider_id
             WHERE m.pattern IN (${placeholders(candidates.length)})`,
      params: candidates,
    });
    // Exact first, then the nearest suffix; among equals, the lowest provider id (deterministic).
    const rank = (pattern: string) => candidates.indexOf(pattern);
    const sorted = [...rows].sort(
      (a, b) =>
        rank(String(a.pattern)) - rank(String(b.pattern)) ||
        String(a.provider_id).localeCompare(String(b.provider_id)),
    );
    for (const row of sorted) {
      const provider = this.#provider(String(row.body), String(row.provider_id));
      if (provider) return { provider, source: SQL_SOURCE };
    }
    return undefined;
  }

  async hasMxHosts(): Promise<boolean> {
    const due = this.#fresh();
    if (due) await due;
    if (this.#index) return this.#index.mx.size > 0;
    if (this.#hasMx !== undefined) return this.#hasMx;
    const version = this.#version;
    const { rows } = await this.#db.execute({ sql: "SELECT 1 AS x FROM mx_hosts LIMIT 1" });
    if (this.#mode !== "off" && version !== undefined && version === this.#version)
      this.#hasMx = rows.length > 0;
    return rows.length > 0;
  }

  // ---------------------------------------------------------------- admin reads

  /** A published provider, or `undefined`. */
  async getProvider(id: string): Promise<PublishedProvider | undefined> {
    const { rows } = await this.#db.execute({
      sql: "SELECT body, updated_at FROM providers WHERE id = ?",
      params: [id],
    });
    const row = rows[0];
    const provider = row && this.#provider(String(row.body), id);
    return provider && { provider, updatedAt: String(row.updated_at) };
  }

  /** Published providers by id, `limit` per page after the cursor `after`. */
  async listProviders(options: { after?: string; limit?: number } = {}): Promise<Page<PublishedProvider>> {
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 10_000));
    const { rows } = await this.#db.execute({
      sql: "SELECT id, body, updated_at FROM providers WHERE id > ? ORDER BY id LIMIT ?",
      params: [options.after ?? "", limit + 1],
    });
    const items = rows.slice(0, limit).flatMap((r) => {
      const provider = this.#provider(String(r.body), String(r.id));
      return provider ? [{ provider, updatedAt: String(r.updated_at) }] : [];
    });
    const last = rows[limit - 1];
    return { items, next: rows.length > limit && last ? String(last.id) : null };
  }

  /** A published domain entry, or `undefined`. `domain` must be normalised. */
  async getDomain(domain: string): Promise<DomainEntry | undefined> {
    const row = (await this.#rows([domain]))[0];
    return row && toEntry(row);
  }

  /** Published domain entries by name, optionally only those of one provider. */
  async listDomains(
    options: { after?: string; limit?: number; provider?: string } = {},
  ): Promise<Page<DomainEntry>> {
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 10_000));
    const params: SqlValue[] = [options.after ?? ""];
    let where = "domain > ?";
    if (options.provider !== undefined) {
      where += " AND provider_id = ?";
      params.push(options.provider);
    }
    const { rows } = await this.#db.execute({
      sql: `SELECT domain, provider_id, alias_of, origin, updated_at FROM domains WHERE ${where} ORDER BY domain LIMIT ?`,
      params: [...params, limit + 1],
    });
    const entries = (rows as unknown as DomainRow[]).map(toEntry);
    const items = entries.slice(0, limit);
    return { items, next: entries.length > limit ? (items[items.length - 1]?.domain ?? null) : null };
  }

  // ---------------------------------------------------------------- writes

  /**
   * Publishes providers (create or replace by id), all in one transaction, with optional aliases
   * (`alias domain → served domain`) and assigned domains (`domain → provider id`, of this request
   * or any source: a settings file's `assignedDomains`, as `mailconf providers export` writes them).
   * A provider's `domains` become its `provider` domain rows; domains assigned to it one by one
   * (origin `assigned`) stay assigned: a body that lists one of them is refused (409), so an
   * assignment never turns into a listed domain without a word.
   * @param providers validated providers (see parseProvider)
   * @returns the ids created and the ids replaced
   * @throws WriteError `conflict` when a domain is already served by another provider, assigned, or
   *   an alias (paths `[i, "domains", j]` with `i` the provider's index, `["assignedDomains", d]`,
   *   `["aliases", a]`), `invalid` for a bad alias or an assignment to an unknown provider
   */
  async putProviders(
    providers: Provider[],
    aliases: Record<string, string> = {},
    assigned: Record<string, string> = {},
  ): Promise<{ created: string[]; replaced: string[] }> {
    const assignments = await this.#checkAssigned(providers, assigned);
    aliases = await this.#checkAliases(providers, aliases, assignments);
    const now = this.#now().toISOString();
    const statements: SqlStatement[] = [];
    const existed: number[] = [];
    for (const provider of providers) {
      existed.push(statements.length);
      statements.push({ sql: "SELECT count(*) AS n FROM providers WHERE id = ?", params: [provider.id] });
      statements.push(
        {
          sql: `INSERT INTO providers (id, body, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
          params: [provider.id, JSON.stringify(provider), now],
        },
        { sql: "DELETE FROM domains WHERE provider_id = ? AND origin = 'provider'", params: [provider.id] },
        { sql: "DELETE FROM mx_hosts WHERE provider_id = ?", params: [provider.id] },
      );
      // A listed domain that is already a row (assigned, an alias, another provider's) breaks the
      // primary key: the transaction fails and #providerConflicts names the domains.
      for (const part of chunks([...new Set(provider.domains)], Math.floor(MAX_SQL_PARAMS / 3))) {
        statements.push({
          sql: `INSERT INTO domains (domain, provider_id, alias_of, origin, updated_at) VALUES ${part.map(() => "(?, ?, NULL, 'provider', ?)").join(", ")}`,
          params: part.flatMap((d) => [d, provider.id, now]),
        });
      }
      for (const part of chunks([...new Set(provider.mxHosts)], Math.floor(MAX_SQL_PARAMS / 2))) {
        statements.push({
          sql: `INSERT INTO mx_hosts (pattern, provider_id) VALUES ${part.map(() => "(?, ?)").join(", ")}`,
          params: part.flatMap((m) => [m, provider.id]),
        });
      }
    }
    for (const [domain, id] of Object.entries(assignments)) {
      // An assignment must not take over a provider's own domain: the guard fails the transaction.
      statements.push(
        guard("EXISTS (SELECT 1 FROM domains WHERE domain = ? AND origin = 'provider')", [domain]),
        this.#assignStatement(domain, { provider: id }, now),
      );
    }
    for (const [alias, target] of Object.entries(aliases)) {
      statements.push(
        guard("EXISTS (SELECT 1 FROM domains WHERE domain = ? AND origin = 'provider')", [alias]),
        this.#assignStatement(alias, { aliasOf: target }, now),
      );
    }
    let results: { rows: Record<string, unknown>[] }[];
    try {
      results = await this.#write(statements);
    } catch (e) {
      if (e instanceof SqlConstraintError)
        throw await this.#providerConflicts(providers, aliases, assignments);
      throw e;
    }
    const created: string[] = [];
    const replaced: string[] = [];
    providers.forEach((p, i) => {
      const n = Number(results[existed[i] as number]?.rows[0]?.n ?? 0);
      (n > 0 ? replaced : created).push(p.id);
    });
    return { created, replaced };
  }

  /** Normalises assigned domains and checks that each names a provider of this request or any source. */
  async #checkAssigned(
    providers: Provider[],
    assigned: Record<string, string>,
  ): Promise<Record<string, string>> {
    const ids = new Set(providers.map((p) => p.id));
    const errors: FieldError[] = [];
    const out: Record<string, string> = {};
    for (const [domain, id] of Object.entries(assigned)) {
      const name = normalizeDomain(domain, { wildcard: true });
      if (!name)
        errors.push({
          path: ["assignedDomains", domain],
          message: `expected a domain name (or *.domain), got ${JSON.stringify(domain)}`,
        });
      else if (!ids.has(id) && !(await this.findProvider(id)))
        errors.push({
          path: ["assignedDomains", domain],
          message: `no provider ${id} (published, in a settings file, the ISPDB folder or built in)`,
        });
      else out[name] = id;
    }
    if (errors.length > 0) throw new WriteError("invalid", errors);
    return out;
  }

  /** Normalises aliases and checks that each points at a domain this request or a store serves. */
  async #checkAliases(
    providers: Provider[],
    aliases: Record<string, string>,
    assigned: Record<string, string> = {},
  ): Promise<Record<string, string>> {
    const served = new NameIndex<true>();
    for (const p of providers) for (const d of p.domains) served.add(d, true);
    for (const d of Object.keys(assigned)) served.add(d, true);
    const errors: FieldError[] = [];
    const out: Record<string, string> = {};
    for (const [alias, target] of Object.entries(aliases)) {
      const from = normalizeDomain(alias);
      const to = normalizeDomain(target);
      if (!from)
        errors.push({
          path: ["aliases", alias],
          message: `expected a domain name, got ${JSON.stringify(alias)}`,
        });
      else if (!to)
        errors.push({
          path: ["aliases", alias],
          message: `expected a domain name, got ${JSON.stringify(target)}`,
        });
      else if (to === from)
        errors.push({ path: ["aliases", alias], message: "a domain cannot be an alias of itself" });
      else if (!served.match(to) && !(await this.#aliasTarget(to)))
        errors.push({
          path: ["aliases", alias],
          message: `no settings for ${to}: publish it before its aliases`,
        });
      else out[from] = to;
    }
    if (errors.length > 0) throw new WriteError("invalid", errors);
    return out;
  }

  /** Explains a refused putProviders: which domains are taken, by whom. */
  async #providerConflicts(
    providers: Provider[],
    aliases: Record<string, string>,
    assigned: Record<string, string>,
  ): Promise<WriteError> {
    const errors: FieldError[] = [];
    const claimed = new Map<string, string>();
    for (const [i, provider] of providers.entries()) {
      for (const [j, domain] of provider.domains.entries()) {
        const path = providers.length === 1 ? ["domains", j] : [i, "domains", j];
        const earlier = claimed.get(domain);
        if (earlier !== undefined && earlier !== provider.id) {
          errors.push({ path, message: `${domain} is also listed by provider ${earlier} in this request` });
          continue;
        }
        claimed.set(domain, provider.id);
        if (assigned[domain] !== undefined) {
          errors.push({ path, message: `${domain} is also in this request's assigned domains` });
          continue;
        }
        const row = await this.getDomain(domain);
        if (!row || (row.provider === provider.id && row.origin === "provider")) continue;
        errors.push({
          path,
          message: row.aliasOf
            ? `${domain} is published as an alias of ${row.aliasOf}; delete it first (DELETE /api/v1/domains/${domain})`
            : row.provider === provider.id
              ? `${domain} is assigned to ${provider.id} one by one; leave it out of domains (it stays assigned), or delete the assignment first (DELETE /api/v1/domains/${domain})`
              : `${domain} is already served by provider ${row.provider}${row.origin === "assigned" ? `; delete it first (DELETE /api/v1/domains/${domain})` : ""}`,
        });
      }
    }
    for (const domain of Object.keys(assigned)) {
      const row = await this.getDomain(domain);
      if (row?.origin === "provider" && !providers.some((p) => p.id === row.provider))
        errors.push({
          path: ["assignedDomains", domain],
          message: `${domain} is listed in provider ${row.provider}'s domains; it cannot also be assigned`,
        });
    }
    for (const alias of Object.keys(aliases)) {
      const row = await this.getDomain(alias);
      if (row?.origin === "provider" || claimed.has(alias))
        errors.push({ path: ["aliases", alias], message: `${alias} is served by a provider, not an alias` });
    }
    if (errors.length === 0)
      errors.push({ path: [], message: "the write conflicts with the stored settings" });
    return new WriteError("conflict", errors);
  }

  /**
   * Deletes a published provider, its own domains and MX hosts, in one transaction. Refused while
   * something points at it: domains assigned to it one by one that no other source could serve (no
   * other source has the id), or aliases whose target is one of its domains. With `cascade`, those
   * assignments and aliases are deleted in the same transaction.
   * @throws WriteError `not-found`, or `conflict` naming the assigned domains and aliases
   */
  async deleteProvider(id: string, options: { cascade?: boolean } = {}): Promise<void> {
    const elsewhere = (await this.#fallback?.findProvider?.(id)) !== undefined ? 1 : 0;
    // Rows that go with the provider: its own domains, and its assignments when no other source has the id.
    const going = `provider_id = ? AND (t.origin = 'provider' OR ? = 0)`;
    const dependants = `EXISTS (SELECT 1 FROM domains a JOIN domains t ON ${ALIAS_TARGETS}
                         WHERE a.alias_of IS NOT NULL AND t.${going})
                     OR (? = 0 AND EXISTS (SELECT 1 FROM domains WHERE provider_id = ? AND origin = 'assigned'))`;
    const gone = "NOT EXISTS (SELECT 1 FROM providers WHERE id = ?)";
    const statements: SqlStatement[] = [];
    if (options.cascade) {
      statements.push(
        {
          sql: `DELETE FROM domains WHERE domain IN (SELECT a.domain FROM domains a JOIN domains t ON ${ALIAS_TARGETS}
                  WHERE a.alias_of IS NOT NULL AND t.${going})`,
          params: [id, elsewhere],
        },
        {
          sql: "DELETE FROM domains WHERE provider_id = ? AND origin = 'assigned' AND ? = 0",
          params: [id, elsewhere],
        },
      );
    }
    statements.push(
      {
        sql: `DELETE FROM providers WHERE id = ? AND NOT (${dependants})`,
        params: [id, id, elsewhere, elsewhere, id],
      },
      {
        sql: `DELETE FROM domains WHERE provider_id = ? AND origin = 'provider' AND ${gone}`,
        params: [id, id],
      },
      { sql: `DELETE FROM mx_hosts WHERE provider_id = ? AND ${gone}`, params: [id, id] },
    );
    const results = await this.#write(statements);
    const deleted = results[options.cascade ? 2 : 0];
    if ((deleted?.changes ?? 0) > 0) return;
    if (!(await this.getProvider(id))) {
      throw new WriteError("not-found", [{ path: ["id"], message: `no published provider ${id}` }]);
    }
    const names: string[] = [];
    if (!elsewhere) {
      const assigned = await this.listDomains({ provider: id, limit: 10 });
      names.push(
        ...assigned.items.filter((d) => d.origin === "assigned").map((d) => `${d.domain} (assigned)`),
      );
    }
    const { rows } = await this.#db.execute({
      sql: `SELECT a.domain, a.alias_of FROM domains a JOIN domains t ON ${ALIAS_TARGETS}
             WHERE a.alias_of IS NOT NULL AND t.${going} ORDER BY a.domain LIMIT 10`,
      params: [id, elsewhere],
    });
    names.push(...rows.map((r) => `${r.domain} (alias of ${r.alias_of})`));
    throw new WriteError("conflict", [
      {
        path: ["id"],
        message: `domains still point at ${id}: ${names.join(", ")}; delete or reassign them first, or delete with cascade (?cascade=true, mailconf providers remove --cascade) to delete them too`,
      },
    ]);
  }

  /** Creates or replaces an assigned entry; leaves a provider's own domain alone (0 changes). */
  #assignStatement(domain: string, target: DomainTarget, now: string): SqlStatement {
    return {
      sql: `INSERT INTO domains (domain, provider_id, alias_of, origin, updated_at) VALUES (?, ?, ?, 'assigned', ?)
            ON CONFLICT (domain) DO UPDATE SET provider_id = excluded.provider_id, alias_of = excluded.alias_of,
              updated_at = excluded.updated_at WHERE domains.origin = 'assigned'`,
      params: [
        domain,
        "provider" in target ? target.provider : null,
        "aliasOf" in target ? target.aliasOf : null,
        now,
      ],
    };
  }

  /**
   * Validates a domain assignment: the domain (wildcards allowed for providers), the provider id
   * (published or from any other source), or the alias target (a domain something serves).
   * @returns the normalised domain and target
   * @throws WriteError `invalid` with paths `domain`, `provider`, `aliasOf`
   */
  async checkAssignment(
    domain: string,
    target: DomainTarget,
  ): Promise<{ domain: string; target: DomainTarget }> {
    const errors: FieldError[] = [];
    const isAlias = "aliasOf" in target;
    const name = normalizeDomain(domain, { wildcard: !isAlias });
    if (!name) {
      errors.push({
        path: ["domain"],
        message: `expected a domain name${isAlias ? "" : " (or *.domain)"}, got ${JSON.stringify(domain)}`,
      });
    }
    if ("provider" in target) {
      if (!(await this.findProvider(target.provider))) {
        errors.push({
          path: ["provider"],
          message: `no provider ${target.provider} (published, in a settings file, the ISPDB folder or built in)`,
        });
      }
      if (errors.length > 0) throw new WriteError("invalid", errors);
      return { domain: name as string, target };
    }
    const aliasOf = normalizeDomain(target.aliasOf);
    if (!aliasOf) {
      errors.push({
        path: ["aliasOf"],
        message: `expected a domain name, got ${JSON.stringify(target.aliasOf)}`,
      });
    } else if (aliasOf === name) {
      errors.push({ path: ["aliasOf"], message: "a domain cannot be an alias of itself" });
    } else if (!(await this.#aliasTarget(aliasOf))) {
      errors.push({
        path: ["aliasOf"],
        message: `no settings for ${aliasOf}: publish it before its aliases`,
      });
    }
    if (errors.length > 0) throw new WriteError("invalid", errors);
    return { domain: name as string, target: { aliasOf: aliasOf as string } };
  }

  /**
   * Publishes one domain: served by a provider (any source, by id) or an alias of another domain.
   * Creates or replaces an assigned entry; a domain listed in a provider's own `domains` is changed
   * through that provider instead.
   * @returns whether the entry was created, and the stored entry
   * @throws WriteError `invalid` (see {@link checkAssignment}) or `conflict`
   */
  async putDomain(domain: string, target: DomainTarget): Promise<{ created: boolean; entry: DomainEntry }> {
    const checked = await this.checkAssignment(domain, target);
    const now = this.#now().toISOString();
    const select = {
      sql: "SELECT domain, provider_id, alias_of, origin, updated_at FROM domains WHERE domain = ?",
      params: [checked.domain],
    };
    const [before, upsert, after] = await this.#write([
      select,
      this.#assignStatement(checked.domain, checked.target, now),
      select,
    ]);
    const previous = before?.rows[0] as DomainRow | undefined;
    if ((upsert?.changes ?? 0) === 0 && previous) {
      const same = "provider" in checked.target && previous.provider_id === checked.target.provider;
      if (same) return { created: false, entry: toEntry(previous) };
      throw new WriteError("conflict", [
        {
          path: ["domain"],
          message: `${checked.domain} is listed in provider ${previous.provider_id}'s domains; change that provider instead`,
        },
      ]);
    }
    return { created: !previous, entry: toEntry(after?.rows[0] as unknown as DomainRow) };
  }

  /**
   * Publishes many domains, all served by one provider (any source, by id), in one transaction:
   * either every domain is assigned or, on any refusal, none is. A domain already listed in this
   * provider's own `domains` is left as it is (counted unchanged).
   * @param domains mail domains or `*.domain` wildcards, in any case; repeats are written once
   * @returns the normalised domains created, updated (assigned before, to any provider) and unchanged
   * @throws WriteError `invalid` naming every bad domain (`domains[i]`) or the unknown provider, or
   *   `conflict` naming the domains listed in another provider's own `domains`
   */
  async putDomains(
    domains: readonly string[],
    provider: string,
  ): Promise<{ created: string[]; updated: string[]; unchanged: string[] }> {
    const errors: FieldError[] = [];
    const names = new Set<string>();
    domains.forEach((domain, i) => {
      const name = normalizeDomain(domain, { wildcard: true });
      if (name) names.add(name);
      else
        errors.push({
          path: ["domains", i],
          message: `expected a domain name (or *.domain), got ${JSON.stringify(domain)}`,
        });
    });
    if (!(await this.findProvider(provider)))
      errors.push({
        path: ["provider"],
        message: `no provider ${provider} (published, in a settings file, the ISPDB folder or built in)`,
      });
    if (names.size === 0 && errors.length === 0)
      errors.push({ path: ["domains"], message: "expected at least one domain" });
    if (errors.length > 0) throw new WriteError("invalid", errors);
    const list = [...names];
    // One JSON parameter for the whole list (json_each): SQLite and D1 alike, whatever its length.
    const inList = "domain IN (SELECT value FROM json_each(?))";
    const json = JSON.stringify(list);
    const now = this.#now().toISOString();
    const listedElsewhere = `origin <> 'assigned' AND provider_id <> ? AND ${inList}`;
    let results: { rows: Record<string, unknown>[] }[];
    try {
      results = await this.#write([
        { sql: `SELECT domain, origin, provider_id FROM domains WHERE ${inList}`, params: [json] },
        ...list.map((d) => this.#assignStatement(d, { provider }, now)),
        guard(`EXISTS (SELECT 1 FROM domains WHERE ${listedElsewhere})`, [provider, json]),
      ]);
    } catch (e) {
      if (!(e instanceof SqlConstraintError)) throw e;
      const { rows } = await this.#db.execute({
        sql: `SELECT domain, provider_id FROM domains WHERE ${listedElsewhere} ORDER BY domain`,
        params: [provider, json],
      });
      if (rows.length === 0) throw e;
      throw new WriteError(
        "conflict",
        rows.map((r) => ({
          path: ["domains", list.indexOf(String(r.domain))],
          message: `${r.domain} is listed in provider ${r.provider_id}'s domains; change that provider instead`,
        })),
      );
    }
    const before = new Map((results[0]?.rows ?? []).map((r) => [String(r.domain), r]));
    const out = { created: [] as string[], updated: [] as string[], unchanged: [] as string[] };
    for (const d of list) {
      const row = before.get(d);
      if (!row) out.created.push(d);
      else if (row.origin === "assigned") out.updated.push(d);
      else out.unchanged.push(d);
    }
    return out;
  }

  /**
   * Deletes an assigned domain entry. Refused while aliases point at it (their target would be
   * gone); with `cascade`, those aliases are deleted in the same transaction.
   * @throws WriteError `not-found`; `conflict` naming the aliases; {@link ListedDomainError}
   *   (`conflict`) for a domain listed in a provider's own `domains`
   */
  async deleteDomain(domain: string, options: { cascade?: boolean } = {}): Promise<void> {
    const aliasesOf = `SELECT a.domain FROM domains a JOIN domains t ON ${ALIAS_TARGETS}
                        WHERE a.alias_of IS NOT NULL AND t.domain = ? AND t.origin = 'assigned'`;
    const statements: SqlStatement[] = [];
    if (options.cascade)
      statements.push({ sql: `DELETE FROM domains WHERE domain IN (${aliasesOf})`, params: [domain] });
    statements.push({
      sql: `DELETE FROM domains WHERE domain = ? AND origin = 'assigned' AND NOT EXISTS (${aliasesOf})`,
      params: [domain, domain],
    });
    // The last statement's result: #write appends the change marker's bump after it.
    const results = await this.#write(statements);
    if ((results[statements.length - 1]?.changes ?? 0) > 0) return;
    const row = await this.getDomain(domain);
    if (!row)
      throw new WriteError("not-found", [{ path: ["domain"], message: `no published domain ${domain}` }]);
    if (row.origin === "provider") throw new ListedDomainError(domain, row.provider ?? "");
    const { rows } = await this.#db.execute({
      sql: `${aliasesOf} ORDER BY a.domain LIMIT 10`,
      params: [domain],
    });
    throw new WriteError("conflict", [
      {
        path: ["domain"],
        message: `aliases point at ${domain}: ${rows.map((r) => String(r.domain)).join(", ")}; delete them first, or delete with cascade (?cascade=true, mailconf domains remove --cascade) to delete them too`,
      },
    ]);
  }
}

/**
 * SQL join condition: alias row `a` points at domain row `t`, exactly or through `t`'s wildcard
 * (`*.example.com` serves every name under example.com).
 */
const ALIAS_TARGETS = `(a.alias_of = t.domain OR (substr(t.domain, 1, 2) = '*.' AND substr(a.alias_of, -(length(t.domain) - 1)) = substr(t.domain, 2)))`;

/**
 * An assertion inside a transaction: when `condition` holds, the statement inserts a row that
 * breaks the domains table's CHECK (neither provider nor alias), so the driver raises a constraint
 * error and the whole batch rolls back; otherwise it inserts nothing. D1 has no interactive
 * transactions, so conditions that must hold at commit time are written this way.
 */
function guard(condition: string, params: SqlValue[]): SqlStatement {
  return {
    sql: `INSERT INTO domains (domain, provider_id, alias_of, origin, updated_at)
          SELECT '(guard)', NULL, NULL, 'assigned', '' WHERE ${condition}`,
    params,
  };
}

function toEntry(row: DomainRow): DomainEntry {
  return {
    domain: row.domain,
    ...(row.provider_id ? { provider: row.provider_id } : {}),
    ...(row.alias_of ? { aliasOf: row.alias_of } : {}),
    origin: row.origin,
    updatedAt: row.updated_at,
  };
}

/**
 * {@link SqlStore.resolve} answered from the settings held in memory (`SqlStore.currentIndex`):
 * `null` for a domain not published there; `undefined` when the database or another store must
 * be asked (no current index, an alias, a provider from the fallback or one that no longer
 * validates). Node only (the Worker bundle stays without it).
 */
export function peekPublished(
  index: PublishedIndex | undefined,
  domain: string,
): Resolution | null | undefined {
  if (!index) return undefined;
  if (index.domains.size === 0) return null;
  // The exact name first, without building the wildcard candidates: the common case.
  const exact = index.domains.get(domain);
  if (typeof exact === "string") {
    const provider = index.providers.get(exact);
    if (provider) return { provider, source: SQL_SOURCE, domain, via: "exact" };
  }
  let direct: { provider: Provider; via: "exact" | "wildcard" } | undefined;
  let pending = false;
  for (const candidate of matchCandidates(domain)) {
    const hit = index.domains.get(candidate);
    if (hit === undefined) continue;
    if (candidate === domain && typeof hit !== "string") return undefined; // an alias: resolve() follows it
    if (typeof hit !== "string") continue; // aliases are not followed for wildcard candidates
    const provider = index.providers.get(hit);
    if (!provider) {
      pending = true; // from the fallback, or a row that no longer validates: resolve() decides
      continue;
    }
    if (pending) return undefined;
    direct = { provider, via: candidate === domain ? "exact" : "wildcard" };
    break;
  }
  if (direct) return { provider: direct.provider, source: SQL_SOURCE, domain, via: direct.via };
  return pending ? undefined : null;
}
