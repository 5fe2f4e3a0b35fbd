/**
 * The benchmark's server process (forked by bench/run.ts with --expose-gc). On 127.0.0.1:
 *
 * - `plain`, `rsa`, `ecdsa`: mailconf as `mailconf serve` starts it (startServer of src/node/server.ts as
 *   the built bundle in dist/cli/ holds it, the same chunks the installed command loads: the
 *   built-in providers, a fresh SQLite file as the default `./mailconf.db` would be, resolution by MX
 *   off), unsigned and signing profiles with an RSA 2048 and an ECDSA P-256 certificate.
 * - `limited`: `plain` with rate limits on (a limit of 10^9 a minute: every request is counted,
 *   none refused), for the limiter's cost.
 * - `timed`: the same app behind a fetch wrapper that times each request (request in → Response out),
 *   for the attack refusals' in-server latency.
 * - `bare`: a bare node:http server answering, per path, exactly the status, headers and body bytes
 *   mailconf gave for that scenario (registered by the runner), after reading the request body.
 *
 * IPC: sends `{ type: "ready", urls: { plain, rsa, ecdsa, limited, timed, bare } }` once listening. Answers
 * `{ type: "heap" }` with `{ heapUsed, gc }` (bytes, after two full GCs), `{ type: "timings" }` with
 * `{ ms: number[] }` (and starts a new list), `{ type: "cpu" }` with `{ us }` (user + system CPU of this
 * process so far, µs), `{ type: "bare", path, status, headers, body }` (body base64) by registering
 * that answer, and `{ type: "stop" }` by closing everything and exiting.
 *
 * It exits as soon as the IPC channel closes: bench/run.ts went away (Ctrl-C, a kill, a crash, an
 * EPIPE after `| head`), and an orphan must not keep serving. Started without IPC it refuses to run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { RunningServer } from "../src/node/server.ts";

if (!process.send) {
  process.stderr.write("bench/server.ts is started by bench/run.ts (npm run bench), not on its own\n");
  process.exit(2);
}
process.on("disconnect", () => process.exit(0));

// Imported only now: refusing to run alone must not wait for mailconf to load.
// mailconf itself from the bundle `mailconf serve` runs (dist/cli/, built by bench/run.ts if stale),
// not from the TypeScript sources: tsx-run sources cost more CPU per request than the bundle.
const { serverModules } = (await import(
  pathToFileURL(join(import.meta.dirname, "../dist/cli/main.js")).href
)) as typeof import("../src/cli/main.ts");
const built = await serverModules();
const { createApp } = built.app;
// The bundle's own copy of @hono/node-server: importing the package here as well would replace the
// global Response with a class the bundle's copy does not recognise (src/node/server.ts `serve`),
// and every answer of the app, the guide page's among them, would go through a Web stream.
const { loadProfileSigner, loadSettings, serve, startServer } = built.server;
const { readBodyFromNode } = built.body;
const { makeChain } = await import("../test/helpers/pki.ts");

const dir = mkdtempSync(join(tmpdir(), "mailconf-bench-"));
const PUBLIC_URL = "https://autoconfig.bench.example";

// The bare baseline: the exact answers mailconf gave, by path (query ignored).
const answers = new Map<string, { status: number; headers: Record<string, string>; body: Buffer }>();
const bare = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const answer = answers.get(path);
    if (!answer) {
      res.writeHead(404, { "Content-Length": 0 });
      res.end();
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
});
await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));

// mailconf as `mailconf serve` runs it, once per signing configuration; one database file for all.
const db = join(dir, "mailconf.db");
const mailconf = async (kind?: "rsa" | "ec-p256"): Promise<RunningServer> => {
  const chain = kind ? makeChain(kind, 2) : undefined;
  const signer = chain
    ? await loadProfileSigner({ cert: chain.leaf, key: chain.leafKey, chain: chain.intermediate })
    : undefined;
  // Rate limits off (`--rate-limit 0`): the benchmark sends far more than any one client would.
  return startServer({
    port: 0,
    host: "127.0.0.1",
    db,
    publicUrl: PUBLIC_URL,
    signProfile: signer?.sign,
    rateLimit: 0,
  });
};
const plain = await mailconf();
const rsa = await mailconf("rsa");
const ecdsa = await mailconf("ec-p256");
// Rate limits on, as `mailconf serve` has them by default, but never reached: the limiter's own
// cost per request (counting every request per client and bucket).
const limited = await startServer({
  port: 0,
  host: "127.0.0.1",
  db,
  publicUrl: PUBLIC_URL,
  rateLimit: 1_000_000_000,
});

// The same app with each request timed, for the refusal latencies.
const loaded = await loadSettings({ db, sqlCache: "full" });
await loaded.sql?.warm();
const app = createApp({ store: loaded.store, publicUrl: PUBLIC_URL, readBody: readBodyFromNode });
let timings: number[] = [];
const timed = serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: async (request, env) => {
    const start = performance.now();
    const response = await app.fetch(request, env);
    timings.push(performance.now() - start);
    return response;
  },
});
await new Promise<void>((resolve) => (timed.listening ? resolve() : timed.once("listening", resolve)));

const gc = (globalThis as { gc?: () => void }).gc;
type Message = { type: string; [key: string]: unknown };
process.on("message", (message: Message) => {
  if (message.type === "heap") {
    gc?.();
    gc?.();
    process.send?.({ type: "heap", heapUsed: process.memoryUsage().heapUsed, gc: Boolean(gc) });
  } else if (message.type === "timings") {
    process.send?.({ type: "timings", ms: timings });
    timings = [];
  } else if (message.type === "cpu") {
    const { user, system } = process.cpuUsage();
    process.send?.({ type: "cpu", us: user + system });
  } else if (message.type === "bare") {
    answers.set(String(message.path), {
      status: Number(message.status),
      headers: message.headers as Record<string, string>,
      body: Buffer.from(String(message.body), "base64"),
    });
    process.send?.({ type: "bare" });
  } else if (message.type === "stop") {
    bare.close();
    (timed as unknown as Server).closeAllConnections?.();
    timed.close();
    loaded.close();
    Promise.all([plain.close(), rsa.close(), ecdsa.close(), limited.close()]).then(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  }
});
process.send?.({
  type: "ready",
  urls: {
    plain: plain.url,
    rsa: rsa.url,
    ecdsa: ecdsa.url,
    limited: limited.url,
    timed: `http://127.0.0.1:${(timed.address() as AddressInfo).port}`,
    bare: `http://127.0.0.1:${(bare.address() as AddressInfo).port}`,
  },
});
