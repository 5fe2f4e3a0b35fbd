/**
 * The in-memory side of the SQL store (DESIGN.md: lookups on the request path are served from
 * memory). Two shapes, chosen by the runtime:
 *
 * - **full** (Node: SQLite or PostgreSQL): every published domain, provider and MX pattern is
 *   loaded once ({@link PublishedIndex}, the domains packed in a {@link DomainTable}), in pages, in
 *   the background; until it is loaded (and after any change, until it is reloaded) lookups read
 *   SQL as before, so nothing is ever served stale. About 45 bytes per domain (docs/caching.md).
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

/**
 * Domains read per statement while loading the full index. Each statement returns one row (the
 * page as one string), so the JavaScript work is a scan, not 20,000 row objects; on the benchmark
 * machine a page takes ~20-40 ms, the longest a request waits behind the loading.
 */
export const PAGE_ROWS = 20_000;

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

/** The character between a name and its value, and between entries, in a {@link DomainTable}'s text. */
const SPACE = 32;

/**
 * The published domains, packed: the pages as the database returned them, each one string of
 * `name value name value …` (space-separated, names in SQLite's order: byte order; names are
 * lower-case ASCII, so JavaScript's string order is the same; a value is a provider id, or `=` and
 * the alias target), the start of each name within its page in a Uint32Array and each value as an
 * index into a small table of distinct values; looked up through an open-addressing hash table of
 * entry numbers (a Uint32Array at most half full), so a lookup touches a few cache lines where a
 * binary search over a million names touched ~40 and cost ~7 µs. About 55 bytes per domain,
 * against ~150 for a `Map` of strings, no million small objects to build or collect, and no copy
 * of the pages to join them.
 */
export class DomainTable {
  readonly #pages: string[];
  /** Index of each page's first entry, and the number of entries at the end. */
  readonly #firsts: Uint32Array;
  readonly #starts: Uint32Array;
  readonly #targets: Uint32Array;
  readonly #values: IndexedDomain[];
  /** Hash slots: entry number + 1, 0 for empty; the length is a power of two. */
  readonly #slots: Uint32Array;

  private constructor(
    pages: string[],
    firsts: Uint32Array,
    starts: Uint32Array,
    targets: Uint32Array,
    values: IndexedDomain[],
  ) {
    this.#pages = pages;
    this.#firsts = firsts;
    this.#starts = starts;
    this.#targets = targets;
    this.#values = values;
    let size = 1024;
    while (size < targets.length * 2) size *= 2;
    const slots = new Uint32Array(size);
    const mask = size - 1;
    for (let page = 0; page < pages.length; page++) {
      const text = pages[page] as string;
      for (let e = firsts[page] as number; e < (firsts[page + 1] as number); e++) {
        const start = starts[e] as number;
        // Names are unique (the builder checks they ascend): no comparisons while inserting.
        let slot = hashAt(text, start) & mask;
        while (slots[slot] !== 0) slot = (slot + 1) & mask;
        slots[slot] = e + 1;
      }
    }
    this.#slots = slots;
  }

  /** The page holding entry `e` (binary search over the few page starts). */
  #pageOf(e: number): number {
    const firsts = this.#firsts;
    let lo = 0;
    let hi = firsts.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((firsts[mid] as number) <= e) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Number of domains. */
  get size(): number {
    return this.#targets.length;
  }

  /** What `name` is published as, or `undefined`. */
  get(name: string): IndexedDomain | undefined {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let h = FNV_OFFSET;
    for (let k = 0; k < name.length; k++) h = Math.imul(h ^ name.charCodeAt(k), FNV_PRIME);
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const v = slots[slot] as number;
      if (v === 0) return undefined;
      const e = v - 1;
      if (compareAt(name, this.#pages[this.#pageOf(e)] as string, this.#starts[e] as number) === 0)
        return this.#values[this.#targets[e] as number];
    }
  }

  /**
   * Builds a table from names given in ascending order, one by one (`add`) or a page at a time
   * (`addPage`: `count` pairs `name value`, all separated by single spaces, as the loading
   * statement returns them; no string per name is made).
   * @throws Error (from `add`/`addPage`) for a name not above the one before, or a page that does
   *   not hold exactly `count` pairs (a name with a space, written around mailconf)
   */
  static builder(): {
    add(name: string, value: IndexedDomain): void;
    addPage(page: string, count: number): void;
    build(): DomainTable;
  } {
    const pages: string[] = [];
    const firsts: number[] = [];
    let count = 0;
    let starts = new Uint32Array(1024);
    let targets = new Uint32Array(1024);
    const values: IndexedDomain[] = [];
    const valueIndex = new Map<string, number>();
    let previous = "";
    let lastKey = "";
    let lastValue = -1;
    const indexOfKey = (key: string): number => {
      let v = valueIndex.get(key);
      if (v === undefined) {
        v = values.length;
        values.push(key.startsWith("=") ? { aliasOf: key.slice(1) } : key);
        valueIndex.set(key, v);
      }
      lastKey = key;
      lastValue = v;
      return v;
    };
    const addPage = (page: string, n: number) => {
      if (n <= 0) return;
      if (starts.length < count + n + 1) {
        const grow = (a: Uint32Array) => {
          const b = new Uint32Array(Math.max(a.length * 2, count + n + 1));
          b.set(a);
          return b;
        };
        starts = grow(starts);
        targets = grow(targets);
      }
      let pos = 0;
      let prev = -1;
      for (let k = 0; k < n; k++) {
        const nameEnd = page.indexOf(" ", pos);
        let end = nameEnd < 0 ? -1 : page.indexOf(" ", nameEnd + 1);
        if (k === n - 1) end = end < 0 && nameEnd >= 0 ? page.length : -1;
        if (nameEnd <= pos || end <= nameEnd + 1)
          throw new Error(
            `a page of ${n} domains does not hold ${n} "name value" pairs (a name with a space?)`,
          );
        const ascending =
          prev >= 0 ? compareStored(page, pos, prev) > 0 : count === 0 || compareAt(previous, page, pos) < 0;
        if (!ascending)
          throw new Error(`domains not in ascending order at ${JSON.stringify(page.slice(pos, nameEnd))}`);
        const keyStart = nameEnd + 1;
        const v =
          lastValue >= 0 && end - keyStart === lastKey.length && page.startsWith(lastKey, keyStart)
            ? lastValue
            : indexOfKey(page.slice(keyStart, end));
        starts[count] = pos;
        targets[count] = v;
        count++;
        prev = pos;
        pos = end + 1;
      }
      previous = page.slice(prev, page.indexOf(" ", prev));
      firsts.push(count - n);
      pages.push(page);
    };
    return {
      add: (name, value) => addPage(`${name} ${typeof value === "string" ? value : `=${value.aliasOf}`}`, 1),
      addPage,
      build() {
        return new DomainTable(
          pages,
          Uint32Array.from([...firsts, count]),
          starts.slice(0, count),
          targets.slice(0, count),
          values,
        );
      },
    };
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a of the name stored at `start` of `text` (up to its space), as {@link DomainTable.get} hashes a name. */
function hashAt(text: string, start: number): number {
  let h = FNV_OFFSET;
  for (let k = start; ; k++) {
    const c = text.charCodeAt(k);
    if (c === SPACE) return h;
    h = Math.imul(h ^ c, FNV_PRIME);
  }
}

/** `name` compared with the name stored at `start` of `text` (which ends at a space): <0, 0, >0. */
function compareAt(name: string, text: string, start: number): number {
  for (let k = 0; ; k++) {
    const b = text.charCodeAt(start + k);
    if (k === name.length) return b === SPACE ? 0 : -1;
    if (b === SPACE) return 1;
    const d = name.charCodeAt(k) - b;
    if (d !== 0) return d;
  }
}

/** The name stored at `a` compared with the one at `b`, both in `text` and ending at a space. */
function compareStored(text: string, a: number, b: number): number {
  for (let k = 0; ; k++) {
    const x = text.charCodeAt(a + k);
    const y = text.charCodeAt(b + k);
    if (x === y) {
      if (x === SPACE) return 0;
      continue;
    }
    if (x === SPACE) return -1;
    if (y === SPACE) return 1;
    return x - y;
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
 * Loads the whole published store into memory. The domains are read {@link PAGE_ROWS} at a time
 * by primary key, each page as **one value**: `name value name value …` built by the database with
 * `group_concat(… ORDER BY domain)` (SQLite ≥ 3.44; `string_agg` on PostgreSQL, see ./dialect.ts),
 * which it does several times faster than the driver builds 20,000 row objects. Between pages it
 * yields to requests (`setTimeout`). The marker is read before and after: if a write happened in
 * between, the result would mix two states, so `undefined` is returned and the caller tries again.
 * @param parse the store's provider parser (validates the stored JSON; `undefined` if invalid)
 * @param pageRows domains per statement (tests use small pages)
 * @throws Error for a stored name with a space (not written by mailconf) or a failing statement
 */
export async function loadIndex(
  db: SqlDriver,
  parse: (body: string, id: string) => Provider | undefined,
  pageRows = PAGE_ROWS,
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
      sql: `SELECT count(*) AS n, max(domain) AS last,
                   group_concat(domain || ' ' || coalesce(provider_id, '=' || alias_of), ' ' ORDER BY domain) AS page
              FROM (SELECT domain, provider_id, alias_of FROM domains
                     WHERE domain > ? ORDER BY domain LIMIT ?) AS p`,
      params: [after, pageRows],
    });
    const n = Number(rows[0]?.n ?? 0);
    if (n === 0) break;
    table.addPage(String(rows[0]?.page), n);
    after = String(rows[0]?.last);
    if (n < pageRows) break;
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
