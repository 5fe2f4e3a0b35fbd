/**
 * Starts the real Node server (src/node/server.ts) on 127.0.0.1 with a free port for end-to-end tests.
 */
import { type RunningServer, type ServeOptions, startServer } from "../../src/node/server.ts";

/** Starts a server; call `close()` in afterAll. */
export async function startTestServer(options: Partial<ServeOptions> = {}): Promise<RunningServer> {
  return startServer({
    port: 0,
    host: "127.0.0.1",
    publicUrl: "https://autoconfig.test.example",
    ...options,
  });
}

/** fetch with a 5-second bound, so a hung server fails a test instead of stalling the run. */
export function fetchBounded(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
}

/**
 * A raw HTTP request with node:http, for what fetch cannot send (a custom Host header).
 * @returns status, lower-case headers and the body as text
 */
export async function rawRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { request } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: init.method ?? "GET", headers: init.headers, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(init.body);
  });
}
