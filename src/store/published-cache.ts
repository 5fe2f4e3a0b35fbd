/**
 * The in-memory side of the SQL store (DESIGN.md: lookups on the request path are served from
 * memory). Two shapes, chosen by the runtime:
 *
 * - **full** (Node, SQLite): every published domain, provider and MX pattern is loaded once into
 *   maps ({@link PublishedIndex}), in pages, in the background; until it is loaded (and after any
 *   change, until it is reloaded) lookups read SQL as before, so nothing is ever served stale.
 *   About 100 bytes per domain: 1,000,000 domains fit in ~150 MB (see docs/benchmark.md).
 * - **lru** (Workers, D1): a per-isolate LRU of answered lookups (hits and misses); an isolate
 *   holds few of a large store's domains, and reading all of D1 into every isolate would bill
 *   every row.
 *
 * Both are dropped when the change marker (`settings_version`, migrations/0002) moves: a write in
 * this process drops them at once; another process's write (the CLI, a second server) is noticed
 * by the next lookup after at most {@link DEFAULT_CHANGE_CHECK_MS} (the marker is read at most once
 * per interval, one single-row query).
 *
 * Web APIs only: runs unchanged on Node.js and Cloudflare Workers.
 */
import type { Provider } from "../providers/model.ts";
import type { SqlDriver } from "./sql.ts";

/** How often (at most) the change marker is read, in ms: the bound for another process's write to be served. */
export const DEFAULT_CHANGE_CHECK_MS = 1000;

/** Entries of the per-isolate LRU (mode `lru`). */
export const DEFAULT_LRU_ENTRIES = 10_000;

/** Rows read per statement while loading the full index (keeps each result, and memory peaks, small). */
const PAGE_ROWS = 20_000;

/** The statement that bumps the change marker; every write batch of the SQL store ends with it. */
export const BUMP_VERSION_SQL = "UPDATE settings_version SET version = version + 1 WHERE id = 1";

/**
 * Reads the change marker.
 * @returns the version, or -1 when the row is missing (a database written by an older mailconf
 *   before migration 0002 ran: then every check counts as a change, which is safe)
 */
export async function readVersion(db: SqlDriver): Promise<number> {
  const { rows } = await db.execute({ sql: "SELECT version FROM settings_version WHERE id = 1" });
  const v = rows[0]?.version;
  return v === undefined || v === null ? -1 : Number(v);
}

/** A published domain in memory: the provider id serving it, or the domain it is an alias of. */
export type IndexedDomain = string | { aliasOf: string };

/** Everything published, as loaded at `version`. Providers that no longer validate are `null`. */
export interface PublishedIndex {
  version: number;
  domains: Map<string, IndexedDomain>;
  providers: Map<string, Provider | null>;
  /** MX pattern → provider ids declaring it, sorted as the SQL lookup ranks them. */
  mx: Map<string, string[]>;
}

/**
 * Loads the whole published store into memory, in pages of {@link PAGE_ROWS} rows by primary key.
 * The marker is read before and after: if a write happened in between, the result would mix two
 * states, so `undefined` is returned and the caller tries again later.
 * @param parse the store's provider parser (validates the stored JSON; `undefined` if invalid)
 */
export async function loadIndex(
  db: SqlDriver,
  parse: (body: string, id: string) => Provider | undefined,
): Promise<PublishedIndex | undefined> {
  const version = await readVersion(db);
  const providers = new Map<string, Provider | null>();
  for (const row of (await db.execute({ sql: "SELECT id, body FROM providers" })).rows) {
    const id = String(row.id);
    providers.set(id, parse(String(row.body), id) ?? null);
  }
  // Interned provider ids: a million rows of one hoster share one string.
  const ids = new Map<string, string>();
  const intern = (id: string) => {
    const known = ids.get(id);
    if (known !== undefined) return known;
    ids.set(id, id);
    return id;
  };
  const domains = new Map<string, IndexedDomain>();
  for (let after = ""; ; ) {
    const { rows } = await db.execute({
      sql: "SELECT domain, provider_id, alias_of FROM domains WHERE domain > ? ORDER BY domain LIMIT ?",
      params: [after, PAGE_ROWS],
    });
    for (const row of rows) {
      const domain = String(row.domain);
      domains.set(
        domain,
        row.provider_id !== null && row.provider_id !== undefined
          ? intern(String(row.provider_id))
          : { aliasOf: String(row.alias_of) },
      );
      after = domain;
    }
    if (rows.length < PAGE_ROWS) break;
  }
  const mx = new Map<string, string[]>();
  for (const row of (await db.execute({ sql: "SELECT pattern, provider_id FROM mx_hosts" })).rows) {
    const pattern = String(row.pattern);
    const list = mx.get(pattern) ?? [];
    if (list.length === 0) mx.set(pattern, list);
    list.push(String(row.provider_id));
  }
  for (const list of mx.values()) list.sort((a, b) => a.localeCompare(b));
  if ((await readVersion(db)) !== version) return undefined;
  return { version, domains, providers, mx };
}
