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
const PAGE_ROWS = 5000;

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

/**
 * The published domains, packed: every name in one string in SQLite's order (byte order; names
 * are lower-case ASCII, so JavaScript's string order is the same), offsets in a Uint32Array and
 * what each serves as an index into a small table of distinct values; looked up by binary search.
 * About 30 bytes per domain, against ~150 for a `Map` of strings, and no million small objects to
 * build or collect.
 */
export class DomainTable {
  readonly #text: string;
  readonly #starts: Uint32Array;
  readonly #targets: Uint32Array;
  readonly #values: IndexedDomain[];

  private constructor(text: string, starts: Uint32Array, targets: Uint32Array, values: IndexedDomain[]) {
    this.#text = text;
    this.#starts = starts;
    this.#targets = targets;
    this.#values = values;
  }

  /** Number of domains. */
  get size(): number {
    return this.#targets.length;
  }

  /** What `name` is published as, or `undefined`. */
  get(name: string): IndexedDomain | undefined {
    let lo = 0;
    let hi = this.#targets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.#compare(name, mid);
      if (c === 0) return this.#values[this.#targets[mid] as number];
      if (c > 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** `name` compared with the i-th stored name, code unit by code unit: <0, 0, >0. */
  #compare(name: string, i: number): number {
    const start = this.#starts[i] as number;
    const length = (this.#starts[i + 1] as number) - start;
    const n = Math.min(name.length, length);
    for (let k = 0; k < n; k++) {
      const d = name.charCodeAt(k) - this.#text.charCodeAt(start + k);
      if (d !== 0) return d;
    }
    return name.length - length;
  }

  /** Builds a table from names given in ascending order (see {@link DomainTable.builder}). */
  static builder(): {
    add(name: string, value: IndexedDomain): void;
    build(): DomainTable;
  } {
    const pieces: string[] = [];
    let pending: string[] = [];
    let offset = 0;
    let count = 0;
    let starts = new Uint32Array(1024);
    let targets = new Uint32Array(1024);
    const values: IndexedDomain[] = [];
    const valueIndex = new Map<string, number>();
    let previous = "";
    return {
      add(name, value) {
        if (count > 0 && !(name > previous))
          throw new Error(`domains not in ascending order at ${JSON.stringify(name)}`);
        previous = name;
        if (count + 1 >= starts.length) {
          const grow = (a: Uint32Array) => {
            const b = new Uint32Array(a.length * 2);
            b.set(a);
            return b;
          };
          starts = grow(starts);
          targets = grow(targets);
        }
        const key = typeof value === "string" ? value : `=${value.aliasOf}`;
        let v = valueIndex.get(key);
        if (v === undefined) {
          v = values.length;
          values.push(value);
          valueIndex.set(key, v);
        }
        starts[count] = offset;
        targets[count] = v;
        count++;
        offset += name.length;
        pending.push(name);
        // Join in pages, so the million short strings can be collected as we go.
        if (pending.length >= 4096) {
          pieces.push(pending.join(""));
          pending = [];
        }
      },
      build() {
        pieces.push(pending.join(""));
        starts[count] = offset;
        return new DomainTable(pieces.join(""), starts.slice(0, count + 1), targets.slice(0, count), values);
      },
    };
  }
}

/** Everything published, as loaded at `version`. Providers that no longer validate are `null`. */
export interface PublishedIndex {
  version: number;
  domains: DomainTable;
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
  const table = DomainTable.builder();
  for (let after = ""; ; ) {
    const { rows } = await db.execute({
      sql: "SELECT domain, provider_id, alias_of FROM domains WHERE domain > ? ORDER BY domain LIMIT ?",
      params: [after, PAGE_ROWS],
    });
    for (const row of rows) {
      const domain = String(row.domain);
      table.add(
        domain,
        row.provider_id !== null && row.provider_id !== undefined
          ? String(row.provider_id)
          : { aliasOf: String(row.alias_of) },
      );
      after = domain;
    }
    if (rows.length < PAGE_ROWS) break;
    // A driver may answer synchronously (libsql on a local file): give requests their turn.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const domains = table.build();
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
