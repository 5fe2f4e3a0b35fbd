/**
 * The benchmark's server process (forked by bench/run.ts with --expose-gc): a bare node:http baseline
 * answering a fixed XML body, and mailconf itself (the app of `mailconf serve` with the built-in
 * providers, served by @hono/node-server as src/node/server.ts does), both on 127.0.0.1.
 *
 * mailconf's fetch handler is timed: from the request reaching the app to the Response handed back
 * (for the refusals: reading the body, the checks, the error document), in milliseconds.
 *
 * IPC: sends `{ type: "ready", baseline, mailconf }` once listening. Answers
 * `{ type: "heap" }` with `{ type: "heap", heapUsed, gc }` (bytes, after two full GCs),
 * `{ type: "timings" }` with `{ type: "timings", ms: number[] }` (and starts a new list), and
 * `{ type: "stop" }` by closing both servers and exiting.
 *
 * It exits as soon as the IPC channel closes: bench/run.ts went away (Ctrl-C, a kill, a crash, an
 * EPIPE after `| head`), and an orphan must not keep serving on two ports. Started without IPC it
 * refuses to run.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createApp } from "../src/app.ts";
import { loadSettings } from "../src/node/server.ts";

if (!process.send) {
  process.stderr.write("bench/server.ts is started by bench/run.ts (npm run bench), not on its own\n");
  process.exit(2);
}
process.on("disconnect", () => process.exit(0));

const FIXED_BODY = readFileSync(new URL("../test/golden/autodiscover/user@example.com.xml", import.meta.url));

const baseline = createServer((req, res) => {
  // Read the request body like any server must, then answer the same bytes every time.
  req.on("data", () => {});
  req.on("end", () => {
    res.writeHead(200, {
      "Content-Type": "text/xml; charset=utf-8",
      "Content-Length": FIXED_BODY.byteLength,
    });
    res.end(FIXED_BODY);
  });
});
await new Promise<void>((resolve) => baseline.listen(0, "127.0.0.1", resolve));

const { store } = await loadSettings({});
const app = createApp({ store, publicUrl: "https://autoconfig.bench.example" });
let timings: number[] = [];
const mailconf = serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: async (request, env) => {
    const start = performance.now();
    const response = await app.fetch(request, env);
    timings.push(performance.now() - start);
    return response;
  },
});
await new Promise<void>((resolve) => (mailconf.listening ? resolve() : mailconf.once("listening", resolve)));

const gc = (globalThis as { gc?: () => void }).gc;
process.on("message", (message: { type: string }) => {
  if (message.type === "heap") {
    gc?.();
    gc?.();
    process.send?.({ type: "heap", heapUsed: process.memoryUsage().heapUsed, gc: Boolean(gc) });
  } else if (message.type === "timings") {
    process.send?.({ type: "timings", ms: timings });
    timings = [];
  } else if (message.type === "stop") {
    baseline.close();
    mailconf.close(() => process.exit(0));
    (mailconf as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  }
});
process.send?.({
  type: "ready",
  baseline: `http://127.0.0.1:${(baseline.address() as AddressInfo).port}`,
  mailconf: `http://127.0.0.1:${(mailconf.address() as AddressInfo).port}`,
});
