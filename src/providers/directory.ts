/**
 * Login names and display names from a provider's directory (`directory:` in the settings model;
 * docs/ldap.md): the cache and time bound around a directory search. The search itself is
 * Node-only (src/node/ldap.ts, through ldapts); on Workers there is none, and every answer is the
 * one the templates give without a directory.
 *
 * Privacy: a found mailbox, an unknown one and a failed or timed-out search all give an answer of
 * the same shape (the templates use `fallbackLoginName` and the address instead of the missing
 * values), and found and not-found answers are cached alike, so the two cost the same: one search
 * when cold, none when warm.
 *
 * Web APIs only (timers, Map).
 */
import type { EmailAddress } from "./domain.ts";
import type { Directory } from "./model.ts";

/** What a directory knows about one address. */
export interface DirectoryPerson {
  /** The value of `loginNameAttribute`: `%LOGINNAME%`. */
  loginName?: string;
  /** The value of `displayNameAttribute`. */
  displayName?: string;
}

/**
 * One search: the person with this address, or `undefined` when no entry (or more than one)
 * matches. Rejects when the directory cannot be asked (unreachable, refused bind, …).
 */
export type DirectorySearch = (
  directory: Directory,
  address: EmailAddress,
) => Promise<DirectoryPerson | undefined>;

/**
 * A lookup as handlers use it: never rejects, never takes longer than the directory's
 * `timeoutMs`; `undefined` means "use the answer without a directory".
 */
export type DirectoryLookup = (
  directory: Directory,
  address: EmailAddress,
) => Promise<DirectoryPerson | undefined>;

/** Options of {@link cachedDirectoryLookup}. */
export interface DirectoryCacheOptions {
  /** Clock in ms (tests). */
  now?: () => number;
  /** Operator log: failed and timed-out searches (the address masked). */
  log?: (message: string) => void;
  /** Most cached addresses (all directories together); the oldest go first. Default 100 000. */
  maxEntries?: number;
}

/** A failed or timed-out search is remembered at most this long, so a dead directory is not asked on every request. */
export const FAILURE_CACHE_MS = 30_000;

interface Cached {
  person: DirectoryPerson | undefined;
  expires: number;
}

/**
 * Wraps a search with a per-address cache (found and not found alike, for `cacheSeconds`; failures
 * for at most {@link FAILURE_CACHE_MS}), one search at a time per address (concurrent requests share
 * it) and the directory's `timeoutMs`.
 */
export function cachedDirectoryLookup(
  search: DirectorySearch,
  options: DirectoryCacheOptions = {},
): DirectoryLookup {
  const now = options.now ?? Date.now;
  const max = options.maxEntries ?? 100_000;
  const cache = new Map<string, Cached>();
  const pending = new Map<string, Promise<DirectoryPerson | undefined>>();
  const keys = new WeakMap<Directory, string>();
  const keyOf = (directory: Directory, address: EmailAddress) => {
    let prefix = keys.get(directory);
    if (prefix === undefined) {
      prefix = JSON.stringify(directory);
      keys.set(directory, prefix);
    }
    return `${prefix}\n${address.address}`;
  };
  const remember = (key: string, person: DirectoryPerson | undefined, ms: number) => {
    if (ms <= 0) return;
    cache.delete(key);
    if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    cache.set(key, { person, expires: now() + ms });
  };

  return (directory, address) => {
    const key = keyOf(directory, address);
    const hit = cache.get(key);
    if (hit && hit.expires > now()) return Promise.resolve(hit.person);
    const running = pending.get(key);
    if (running) return running;
    const ttl = directory.cacheSeconds * 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${directory.timeoutMs} ms`)),
        directory.timeoutMs,
      );
    });
    const lookup = Promise.race([search(directory, address), timeout])
      .then(
        (person) => {
          remember(key, person, ttl);
          return person;
        },
        (e: unknown) => {
          options.log?.(
            `directory ${directory.url}: lookup failed for ${address.localPart.slice(0, 1)}***@${address.domain}: ${(e as Error).message}; answering without a directory`,
          );
          remember(key, undefined, Math.min(ttl, FAILURE_CACHE_MS));
          return undefined;
        },
      )
      .finally(() => {
        clearTimeout(timer);
        pending.delete(key);
      });
    pending.set(key, lookup);
    return lookup;
  };
}
