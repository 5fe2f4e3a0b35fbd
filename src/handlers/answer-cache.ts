/**
 * A bounded cache of answers (or compiled answers) per provider: entries are keyed by a string
 * (format, domain, address …) and belong to the provider object they were made from. The stores
 * hand out the same provider object until its settings change (a reload parses new objects), so
 * a changed provider simply misses and is made again; old entries age out of the LRU.
 * Web APIs only (tiny-lru, ~1 KiB: the Worker bundle has a 150 KiB gzip budget): runs on Node.js and Workers.
 */
import { LRU } from "tiny-lru";
import type { Provider } from "../providers/model.ts";

/** Default number of entries of an {@link AnswerCache}. */
export const DEFAULT_ANSWER_ENTRIES = 10_000;

/** A bounded map `key → value`, valid while the provider object is the one it was made from. */
export class AnswerCache<V extends {}> {
  readonly #lru: LRU<{ provider: Provider; value: V }>;

  /**
   * @param max entries at most
   * @param ttlMs an entry's lifetime in ms (none by default: entries live until evicted or their provider changes)
   */
  constructor(max = DEFAULT_ANSWER_ENTRIES, ttlMs?: number) {
    this.#lru = new LRU(max, ttlMs ?? 0);
  }

  /** Forgets `key`. */
  delete(key: string): void {
    this.#lru.delete(key);
  }

  /** The cached value for `key` if it was made from `provider`, else `undefined` (nothing is made). */
  peek(key: string, provider: Provider): V | undefined {
    const hit = this.#lru.get(key);
    return hit && hit.provider === provider ? hit.value : undefined;
  }

  /** The cached value for `key` made from `provider`, else `make()` (cached unless it throws or rejects). */
  get(key: string, provider: Provider, make: () => V): V {
    const hit = this.#lru.get(key);
    if (hit && hit.provider === provider) return hit.value;
    const value = make();
    this.#lru.set(key, { provider, value });
    if (value instanceof Promise) value.catch(() => this.#lru.delete(key));
    return value;
  }
}
