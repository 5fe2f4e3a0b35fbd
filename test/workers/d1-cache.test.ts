/**
 * The Worker's cache of published settings in D1 (src/store/published-cache.ts, mode `lru`): per
 * isolate, lookups it answered are served without reading D1 until the change marker is due
 * (DEFAULT_CHANGE_CHECK_MS); a write through this isolate's admin API is served at once, one by
 * another writer (a second isolate, `wrangler d1 execute`) once the marker has been read again,
 * deletions included. The store-level cases inject the clock, so nothing here is timed; the
 * Worker-level case waits the documented bound once.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { d1Driver } from "../../src/store/d1.ts";
import { DEFAULT_CHANGE_CHECK_MS } from "../../src/store/published-cache.ts";
import { SqlStore } from "../../src/store/sql-store.ts";
import { bundledStore, createWorker } from "../../src/worker/app.ts";
import { counting } from "../helpers/counting-driver.ts";

/** The Worker's layers below D1 (bundled settings files, built-in providers): googlemail.com is one. */
const fallback = bundledStore();

describe("published settings cached per isolate (D1)", () => {
  it("answers repeated lookups without D1, and serves another writer's add and delete once the marker is read", async () => {
    const other = new SqlStore(d1Driver(env.DB), { fallback }); // another isolate, or wrangler d1 execute
    await other.putDomain("cached-a.d1.example", { provider: "googlemail.com" });
    let now = 0;
    const driver = counting(d1Driver(env.DB));
    const isolate = new SqlStore(driver, { fallback, cache: "lru", clock: () => now });
    expect(await isolate.resolve("cached-a.d1.example")).toMatchObject({ via: "exact" });
    const before = driver.statements;
    for (let i = 0; i < 20; i++) {
      expect(await isolate.resolve("cached-a.d1.example")).toMatchObject({ via: "exact" });
      expect(await isolate.resolve("cached-unknown.d1.example")).toBeUndefined();
    }
    // One read for the first unknown lookup; then hits and misses alike come from the cache.
    expect(driver.statements - before).toBe(1);

    await other.putDomain("cached-b.d1.example", { provider: "googlemail.com" });
    await other.deleteDomain("cached-a.d1.example");
    now += DEFAULT_CHANGE_CHECK_MS - 1; // inside the documented window the cache answers
    expect(await isolate.resolve("cached-a.d1.example")).toMatchObject({ via: "exact" });
    now += 1;
    expect(await isolate.resolve("cached-a.d1.example")).toBeUndefined();
    expect(await isolate.resolve("cached-b.d1.example")).toMatchObject({ via: "exact" });
  });

  it("a write through the isolate's own store is served by its next lookup", async () => {
    const isolate = new SqlStore(d1Driver(env.DB), { fallback, cache: "lru", clock: () => 0 });
    expect(await isolate.resolve("own-write.d1.example")).toBeUndefined();
    await isolate.putDomain("own-write.d1.example", { provider: "googlemail.com" });
    expect(await isolate.resolve("own-write.d1.example")).toMatchObject({ via: "exact" });
    await isolate.deleteDomain("own-write.d1.example");
    expect(await isolate.resolve("own-write.d1.example")).toBeUndefined();
  });

  it(`the Worker: its admin API's writes at once, a direct D1 write within ${DEFAULT_CHANGE_CHECK_MS} ms`, async () => {
    const worker = createWorker();
    const ctx = createExecutionContext();
    const auth = { Authorization: `Bearer ${env.MAILCONF_ADMIN_TOKENS}`, "Content-Type": "application/json" };
    const call = (path: string, init?: RequestInit) =>
      worker.fetch(new Request(`http://127.0.0.1${path}`, init), env, ctx);
    const get = (domain: string) => call(`/v1.1/${domain}`).then((r) => r.status);

    expect(
      (
        await call("/api/v1/domains/worker-api.d1.example", {
          method: "PUT",
          headers: auth,
          body: JSON.stringify({ provider: "googlemail.com" }),
        })
      ).status,
    ).toBe(201);
    expect(await get("worker-api.d1.example")).toBe(200);
    expect(
      (await call("/api/v1/domains/worker-api.d1.example", { method: "DELETE", headers: auth })).status,
    ).toBe(204);
    expect(await get("worker-api.d1.example")).toBe(404);

    // Another writer (wrangler d1 execute): cached as unknown, then added, then deleted.
    const direct = new SqlStore(d1Driver(env.DB), { fallback });
    expect(await get("worker-direct.d1.example")).toBe(404);
    await direct.putDomain("worker-direct.d1.example", { provider: "googlemail.com" });
    await new Promise((r) => setTimeout(r, DEFAULT_CHANGE_CHECK_MS + 50));
    expect(await get("worker-direct.d1.example")).toBe(200);
    await direct.deleteDomain("worker-direct.d1.example");
    await new Promise((r) => setTimeout(r, DEFAULT_CHANGE_CHECK_MS + 50));
    expect(await get("worker-direct.d1.example")).toBe(404);
  });
});
