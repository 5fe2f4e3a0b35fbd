/**
 * Slow clients cannot hold a connection: a request whose headers or body arrive too slowly gets
 * 408 and the connection is closed (node:http requestTimeout/headersTimeout, set by startServer;
 * Node's own default lets a trickling body hold a connection for 5 minutes). Bounded: the server
 * runs with short bounds, and every wait here has its own limit.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type RunningServer,
  serverTimeouts,
} from "../src/node/server.ts";
import { fetchBounded, startTestServer } from "./helpers/server.ts";

const REQUEST_TIMEOUT_MS = 800;
const HEADERS_TIMEOUT_MS = 400;

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
  });
});
afterAll(() => server.close());

/**
 * Opens a TCP connection, writes `first`, then one byte of `trickle` every 100 ms, and waits
 * (at most `limitMs`) for the server to close the connection.
 * @returns what the server sent and when it closed (ms after connecting), or `closedAfterMs: undefined`
 */
function slowClient(first: string, trickle: string, limitMs: number) {
  const { port } = new URL(server.url);
  return new Promise<{ received: string; closedAfterMs: number | undefined }>((resolve, reject) => {
    const started = performance.now();
    const socket = connect(Number(port), "127.0.0.1");
    let received = "";
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < trickle.length && !socket.destroyed) socket.write(trickle[sent++] as string);
    }, 100);
    const limit = setTimeout(() => finish(undefined), limitMs);
    const finish = (closedAfterMs: number | undefined) => {
      clearInterval(timer);
      clearTimeout(limit);
      socket.destroy();
      resolve({ received, closedAfterMs });
    };
    socket.on("connect", () => socket.write(first));
    socket.on("data", (d) => {
      received += d.toString("latin1");
    });
    socket.on("close", () => finish(performance.now() - started));
    socket.on("error", (e) => (received ? undefined : reject(e)));
  });
}

describe("time bounds for a request", () => {
  it("a body that trickles in gets 408 and is cut off near requestTimeout", async () => {
    const head =
      "POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n";
    const got = await slowClient(head, "<".repeat(1000), 5000);
    expect(got.closedAfterMs, "the server closed the connection").toBeDefined();
    expect(got.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(got.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 1500);
    expect(got.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("headers that trickle in are cut off near headersTimeout", async () => {
    const got = await slowClient(
      "GET /healthz HTTP/1.1\r\n",
      "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      5000,
    );
    expect(got.closedAfterMs, "the server closed the connection").toBeDefined();
    expect(got.closedAfterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(got.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 1500);
    expect(got.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("a normal request is unaffected", async () => {
    const res = await fetchBounded(`${server.url}/healthz`);
    expect(await res.text()).toBe("ok\n");
  });

  it("defaults: 30 s for a request, 15 s for its headers, checked often enough to hold", () => {
    expect([DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_HEADERS_TIMEOUT_MS]).toEqual([30_000, 15_000]);
    expect(serverTimeouts({})).toEqual({
      requestTimeout: 30_000,
      headersTimeout: 15_000,
      connectionsCheckingInterval: 1000,
    });
    expect(serverTimeouts({ requestTimeoutMs: 800, headersTimeoutMs: 400 })).toEqual({
      requestTimeout: 800,
      headersTimeout: 400,
      connectionsCheckingInterval: 100,
    });
    expect(serverTimeouts({ requestTimeoutMs: 5000 }).headersTimeout).toBe(5000);
    expect(() => serverTimeouts({ requestTimeoutMs: 1000, headersTimeoutMs: 2000 })).toThrow(/cannot exceed/);
    expect(() => serverTimeouts({ requestTimeoutMs: 0 })).toThrow(/positive integer/);
  });
});
