/**
 * The SQL store as the publishing commands (providers, domains, import-ispdb) open it: the same
 * store as the admin API. Each write is one transaction: a failed write changes nothing, and a
 * running server on the same database serves it within 1 second (docs/caching.md). Refused writes
 * print `field.path: rule` lines and set exit code 1. Node-only (SQLite or PostgreSQL through
 * src/node/database.ts), imported when a command runs.
 */
import { loadSettings } from "../node/settings.ts";
import { formatPath } from "../providers/field-path.ts";
import { type DomainEntry, type SqlStore, WriteError } from "../store/sql-store.ts";

/** Options every publishing command takes: `--db`, and for naming providers `--config`, `--ispdb`. */
export interface StoreOptions {
  db: string;
  config?: string[];
  ispdb?: string;
}

/**
 * The line printed after a refusal naming an unknown provider when the command takes `--config`
 * (`opts.config` is `[]`, commander's default) but got neither it nor `--ispdb`: a provider that is
 * only in a settings file is unknown to a command that was not given the file.
 */
export const CONFIG_HINT =
  "hint: a provider defined in a settings file is known only with --config <file> (as for mailconf serve)";

/** Opens the store (with the other sources as fallback for provider ids), runs `fn`, closes it. */
export async function withStore<T>(opts: StoreOptions, fn: (store: SqlStore) => Promise<T>): Promise<T> {
  const loaded = await loadSettings({ db: opts.db, configFiles: opts.config ?? [], ispdb: opts.ispdb });
  try {
    return await fn(loaded.sql as SqlStore);
  } catch (e) {
    if (!(e instanceof WriteError)) throw e;
    for (const err of e.errors) console.error(`${formatPath(err.path)}: ${err.message}`);
    if (
      opts.config?.length === 0 &&
      opts.ispdb === undefined &&
      e.errors.some((err) => err.message.startsWith("no provider "))
    )
      console.error(CONFIG_HINT);
    process.exitCode = 1;
    return undefined as T;
  } finally {
    await loaded.close();
  }
}

/** Every page of a listing. */
export async function all<T>(
  page: (after?: string) => Promise<{ items: T[]; next: string | null }>,
): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (;;) {
    const p = await page(after);
    out.push(...p.items);
    if (p.next === null) return out;
    after = p.next;
  }
}

/** Every published domain (of one provider, if given). */
export const allDomains = (store: SqlStore, provider?: string) =>
  all<DomainEntry>((after) => store.listDomains({ after, limit: 10_000, provider }));
