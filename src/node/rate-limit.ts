/**
 * Per-client rate limits in memory (Node), counted by hono-rate-limiter's MemoryStore: one
 * fixed one-minute window per client and bucket. `--rate-limit <n>` (env MAILCONF_RATE_LIMIT) is
 * the `request` limit per client and minute; `expensive` is a fifth of it and `failure` a tenth
 * (at least 1 each); `0` turns limiting off. See src/handlers/operations.ts for the buckets.
 */
import { MemoryStore } from "hono-rate-limiter";
import type { LimitKind, RateLimiter } from "../handlers/operations.ts";

export { DEFAULT_RATE_LIMIT } from "./defaults.ts";

/** The limits per client and minute that `--rate-limit <n>` sets. */
export function rateLimits(perMinute: number): Record<LimitKind, number> {
  return {
    request: perMinute,
    expensive: Math.max(1, Math.floor(perMinute / 5)),
    failure: Math.max(1, Math.floor(perMinute / 10)),
  };
}

/**
 * The in-memory limiter for `perMinute` requests per client (see {@link rateLimits}).
 * @param perMinute 0 → undefined (no limits)
 */
export function memoryRateLimiter(perMinute: number, windowMs = 60_000): RateLimiter | undefined {
  if (perMinute <= 0) return undefined;
  const limits = rateLimits(perMinute);
  const stores = {} as Record<LimitKind, MemoryStore>;
  for (const kind of ["request", "expensive", "failure"] as const) {
    const store = new MemoryStore();
    store.init({ windowMs } as Parameters<MemoryStore["init"]>[0]);
    stores[kind] = store;
  }
  const secondsLeft = (resetTime: Date | undefined) =>
    Math.max(1, Math.ceil(((resetTime?.getTime() ?? 0) - Date.now()) / 1000));
  return {
    hit(client, kind) {
      const info = stores[kind].increment(client);
      return info.totalHits > limits[kind] ? secondsLeft(info.resetTime) : 0;
    },
    wait(client, kind) {
      const info = stores[kind].get(client);
      if (!info || info.totalHits < limits[kind]) return 0;
      if ((info.resetTime?.getTime() ?? 0) <= Date.now()) return 0;
      return secondsLeft(info.resetTime);
    },
  };
}
