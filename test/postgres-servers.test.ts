/**
 * Several mailconf servers on one PostgreSQL database (`--db postgres://…`), as behind a load
 * balancer: a write through one is served by the other, and losing the database gives the
 * store-failure answers until it is back, then service resumes without a restart.
 * PostgreSQL is started here on 127.0.0.1 with a temporary data directory (test/helpers/postgres.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/node/server.ts";
import { outlookRequest } from "./e2e/cases.ts";
import { postgresUnavailable, startPostgres, type TestPostgres } from "./helpers/postgres.ts";
import { fetchBounded, startTestServer } from "./helpers/server.ts";

const TOKEN = "postgres-test-admin-token-0123456789";

/**
 * How long a write through one instance may take to be served by another (docs/postgresql.md):
 * every lookup reads the database, so it is the next request.
 */
const SHARED_WRITE_BOUND_MS = 0;

/** Polls `check` until it returns true or `ms` (plus one try) has passed; returns the last result. */
async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(postgresUnavailable !== undefined)(
  `two servers on one PostgreSQL database${postgresUnavailable ? ` (skipped: ${postgresUnavailable})` : ""}`,
  () => {
    let pg: TestPostgres;
    let a: RunningServer;
    let b: RunningServer;
    const logs: string[] = [];
    beforeAll(async () => {
      pg = await startPostgres();
      const url = await pg.createDatabase("shared");
      // Started together: the migrations are applied once (advisory lock), not twice.
      [a, b] = (await Promise.all(
        [0, 1].map(() =>
          startTestServer({ db: url, adminTokens: TOKEN, builtin: true, log: (m) => logs.push(m) }),
        ),
      )) as [RunningServer, RunningServer];
    }, 60_000);
    afterAll(async () => {
      await Promise.all([a?.close(), b?.close()]);
      await pg?.stop();
    });

    const admin = (server: RunningServer, method: string, path: string, body?: unknown) =>
      fetchBounded(`${server.url}/api/v1${path}`, {
        method,
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const autoconfig = (server: RunningServer, address: string) =>
      fetchBounded(`${server.url}/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}`);
    const autodiscover = (server: RunningServer, address: string) =>
      fetchBounded(`${server.url}/autodiscover/autodiscover.xml`, {
        method: "POST",
        headers: { "Content-Type": "text/xml" },
        body: outlookRequest(address),
      });

    it("reports the database with its password redacted and one migration run", () => {
      const reports = [a.report[0], b.report[0]];
      expect(
        reports.every((r) => r?.startsWith(`database: postgres://mailconf@127.0.0.1:${pg.port}/shared`)),
      ).toBe(true);
      // Exactly one of the two applied the migrations; the other found them applied.
      expect(reports.filter((r) => r?.includes("applied 0001_published_settings.sql")).length).toBe(1);
    });

    it("a write through one instance is served by the other within the documented bound", async () => {
      const put = await admin(a, "PUT", "/providers/lb-hoster.net", {
        displayName: "LB Hoster",
        domains: ["lb-hoster.net", "*.customers.lb-hoster.net"],
        incoming: [{ type: "imap", hostname: "imap.lb-hoster.net", port: 993, socketType: "SSL" }],
        outgoing: [{ hostname: "smtp.lb-hoster.net", port: 465, socketType: "SSL" }],
      });
      expect(put.status).toBe(201);
      expect(
        await within(
          SHARED_WRITE_BOUND_MS,
          async () => (await autoconfig(b, "jane@shop.customers.lb-hoster.net")).ok,
        ),
      ).toBe(true);
      const xml = await (await autoconfig(b, "jane@shop.customers.lb-hoster.net")).text();
      expect(xml).toContain("<hostname>imap.lb-hoster.net</hostname>");

      // A domain repointed through B is served by A (and the assignment is listed by A).
      expect(
        (await admin(b, "PUT", "/domains/moved.example.org", { provider: "lb-hoster.net" })).status,
      ).toBe(201);
      expect(
        await within(SHARED_WRITE_BOUND_MS, async () => {
          const body = await (await autodiscover(a, "joe@moved.example.org")).text();
          return body.includes("<Server>imap.lb-hoster.net</Server>");
        }),
      ).toBe(true);
      const listed = (await (await admin(a, "GET", "/domains?provider=lb-hoster.net")).json()) as {
        domains: { domain: string }[];
      };
      expect(listed.domains.map((d) => d.domain)).toContain("moved.example.org");

      // A delete through A: B stops serving it.
      expect((await admin(a, "DELETE", "/domains/moved.example.org")).status).toBe(204);
      expect(
        await within(SHARED_WRITE_BOUND_MS, async () => {
          const body = await (await autodiscover(b, "joe@moved.example.org")).text();
          return body.includes("<ErrorCode>500</ErrorCode>");
        }),
      ).toBe(true);
    });

    it("losing the database gives the store-failure answers, and service resumes when it is back", async () => {
      expect((await autodiscover(b, "jane@lb-hoster.net")).status).toBe(200);
      await pg.pause();
      try {
        // Autodiscover: error 603 (HTTP 200, as Exchange), never a 5xx.
        const down = await autodiscover(b, "jane@lb-hoster.net");
        expect(down.status).toBe(200);
        expect(await down.text()).toContain("<ErrorCode>603</ErrorCode>");
        // The admin API: 503 naming the failure; a write changes nothing (checked after resuming).
        const list = await admin(a, "GET", "/providers");
        expect(list.status).toBe(503);
        expect(await list.json()).toEqual({
          errors: [{ path: "(root)", message: "the settings database failed; nothing was changed" }],
        });
        const write = await admin(a, "PUT", "/domains/while-down.example.org", { provider: "lb-hoster.net" });
        expect(write.status).toBe(503);
        expect(logs.some((m) => m.includes("settings store failed"))).toBe(true);
      } finally {
        await pg.resume();
      }
      // Both instances recover by themselves: new connections replace the broken ones.
      for (const server of [a, b]) {
        expect(
          await within(10_000, async () => {
            const body = await (await autodiscover(server, "jane@lb-hoster.net")).text();
            return body.includes("<Server>imap.lb-hoster.net</Server>");
          }),
        ).toBe(true);
        expect((await admin(server, "GET", "/providers")).status).toBe(200);
      }
      expect((await admin(b, "GET", "/domains/while-down.example.org")).status).toBe(404);
    });
  },
);
