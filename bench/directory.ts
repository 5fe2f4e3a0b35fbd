/**
 * Benchmark case of issue 15: throughput of answers whose login name comes from a directory, with
 * the directory cache warm, as a ratio to the same request for a provider without a directory
 * (same servers, `%EMAILADDRESS%` user names), measured in the same run, interleaved
 * (plain, directory, plain, directory) so load from elsewhere on the machine hits both alike.
 *
 * The server is a child process (this file, started with `serve`): the app of `mailconf serve`
 * with two providers and the directory cache of src/providers/directory.ts in front of a search
 * that answers at once. Warm, the cache answers every request and the search is never called (the
 * child reports how often it was: once per address, at warm-up), so the figure is the cost of
 * the cache and of per-address answers, not of an LDAP server.
 *
 * Used by bench/run.ts: `await directoryBench(duration)` prints its lines and returns failures.
 */
import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import autocannon, { type Options, type Result } from "autocannon";
import { outlookRequest } from "../test/helpers/outlook-request.ts";

const PLAIN = "plain.bench.example";
const DIRECTORY = "ldap.bench.example";

/** The child: serves both providers on 127.0.0.1 and reports its URL, then search counts on request. */
async function serve(): Promise<void> {
  // mailconf from the bundle `mailconf serve` runs (dist/cli/, built by bench/run.ts), not the sources,
  // served by the bundle's own @hono/node-server (see bench/server.ts).
  const { serverModules } = (await import(
    pathToFileURL(join(import.meta.dirname, "../dist/cli/main.js")).href
  )) as typeof import("../src/cli/main.ts");
  const built = await serverModules();
  const listen = built.server.serve;
  const { createApp } = built.app;
  const { cachedDirectoryLookup } = built.directory;
  const { parseProvider } = built.model;
  const { MemoryStore } = built.store;
  const provider = (id: string, username: string, directory?: object) => {
    const r = parseProvider({
      id,
      displayName: `${id} mail`,
      domains: [id],
      incoming: [{ type: "imap", hostname: `imap.${id}`, port: 993, socketType: "SSL", username }],
      outgoing: [{ hostname: `smtp.${id}`, port: 465, socketType: "SSL", username }],
      ...(directory ? { directory } : {}),
    });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return { provider: r.value, source: "bench" };
  };
  const store = new MemoryStore([
    provider(PLAIN, "%EMAILADDRESS%"),
    provider(DIRECTORY, "%LOGINNAME%", {
      url: "ldap://127.0.0.1:1",
      base: "dc=bench,dc=example",
      displayNameAttribute: "cn",
    }),
  ]);
  let searches = 0;
  const directory = cachedDirectoryLookup(async (_d, address) => {
    searches++;
    return { loginName: address.localPart.replace(/\W/g, ""), displayName: "Jane Doe" };
  });
  const app = createApp({ store, publicUrl: "https://autoconfig.bench.example", directory });
  const server = listen({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  await new Promise<void>((r) => (server.listening ? r() : server.once("listening", r)));
  process.on("disconnect", () => process.exit(0));
  process.on("message", (m: { type: string }) => {
    if (m.type === "searches") process.send?.({ type: "searches", searches });
  });
  const port = (server.address() as { port: number }).port;
  process.send?.({ type: "ready", url: `http://127.0.0.1:${port}` });
}

function start(): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(fileURLToPath(import.meta.url), ["serve"], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("directory bench server did not start within 30 s")),
      30_000,
    );
    child.once("error", reject);
    child.once("message", (m: { type: string; url?: string }) => {
      clearTimeout(timer);
      if (m.type === "ready") resolve({ child, url: String(m.url) });
    });
  });
}

function run(options: Options): Promise<Result> {
  return new Promise((resolve, reject) => {
    autocannon({ timeout: 10, connections: 10, ...options }, (err, result) =>
      err ? reject(err) : resolve(result),
    );
  });
}

/**
 * Measures autoconfig GET and Autodiscover POST for a directory provider (warm cache) against the
 * same request for a provider without one; prints one line per request kind.
 * @param duration seconds per measured run (each kind: 4 runs, after a 1 s warm-up of each)
 * @returns failures (non-200 answers, errors, a search during the measured runs)
 */
export async function directoryBench(duration: number): Promise<string[]> {
  const { child, url } = await start();
  const failures: string[] = [];
  try {
    console.log(
      "\nlogin names from a directory (warm cache) vs the same request without a directory (10 connections)\n" +
        "                                      plain req/s  directory req/s   ratio (req/s, p99)",
    );
    const kinds: { label: string; options: (domain: string) => Options }[] = [
      {
        label: "autoconfig GET",
        options: (d) => ({ url: `${url}/mail/config-v1.1.xml?emailaddress=jane.doe%40${d}` }),
      },
      {
        label: "Autodiscover POST",
        options: (d) => ({
          url: `${url}/autodiscover/autodiscover.xml`,
          method: "POST",
          headers: { "Content-Type": "text/xml; charset=utf-8" },
          body: outlookRequest(`jane.doe@${d}`),
        }),
      },
    ];
    const searchCount = () =>
      new Promise<number>((resolve) => {
        child.once("message", (m: { searches: number }) => resolve(m.searches));
        child.send({ type: "searches" });
      });
    for (const kind of kinds) {
      await run({ ...kind.options(PLAIN), duration: 1 });
      await run({ ...kind.options(DIRECTORY), duration: 1 }); // warms the cache: one search
      const warm = await searchCount();
      const plain: Result[] = [];
      const withDirectory: Result[] = [];
      for (let round = 0; round < 2; round++) {
        plain.push(await run({ ...kind.options(PLAIN), duration }));
        withDirectory.push(await run({ ...kind.options(DIRECTORY), duration }));
      }
      for (const r of [...plain, ...withDirectory])
        if (r.non2xx > 0 || r.errors > 0)
          failures.push(`${kind.label}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      if ((await searchCount()) !== warm)
        failures.push(`${kind.label}: the directory was searched while warm`);
      const mean = (rs: Result[], f: (r: Result) => number) => rs.reduce((s, r) => s + f(r), 0) / rs.length;
      const plainRps = mean(plain, (r) => r.requests.average);
      const dirRps = mean(withDirectory, (r) => r.requests.average);
      const p99 =
        mean(withDirectory, (r) => r.latency.p99) /
        Math.max(
          mean(plain, (r) => r.latency.p99),
          1,
        );
      console.log(
        `  ${kind.label.padEnd(34)} ${plainRps.toFixed(0).padStart(11)}  ${dirRps.toFixed(0).padStart(15)}   ${(dirRps / plainRps).toFixed(2)}x, ${p99.toFixed(2)}x`,
      );
    }
  } finally {
    child.kill();
  }
  return failures;
}

if (process.argv[2] === "serve" && process.send) await serve();
