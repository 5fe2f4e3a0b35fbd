/**
 * Node.js entry: reads the settings sources (src/node/settings.ts: the SQLite file of published
 * settings, settings files, an ISPDB folder, the built-in providers), the admin token file and the
 * signing material from disk and the environment, hands them to the composition root
 * (src/compose.ts), and serves the app with @hono/node-server. Used by `mailconf serve` and by the end-to-end tests
 * (which start it on 127.0.0.1 with port 0).
 */
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type RequestListener, type Server, type ServerOptions } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { type HttpBindings, serve } from "@hono/node-server";
import { createApp } from "../app.ts";
import {
  adminTokenHashes,
  ConfigError,
  choosePublicUrl,
  composeApp,
  composeSigner,
  type PemSource,
} from "../compose.ts";
import type { ProfileSigner } from "../handlers/context.ts";
import { hotEndpoints } from "../handlers/hot.ts";
import type { Operations } from "../handlers/operations.ts";
import type { DirectoryLookup } from "../providers/directory.ts";
import { SigningConfigError } from "../signing/errors.ts";
import type { ProfileSigner as CmsSigner } from "../signing/signer.ts";
import type { SqlDriver } from "../store/sql.ts";
import { readBodyFromNode } from "./body.ts";
import { clientAddressOf, DEFAULT_MAX_PIPELINED, guardConnections } from "./connections.ts";
import { admittedBefore, startedBefore, withFastPath } from "./fast-path.ts";
import {
  createMetrics,
  formatAccessLine,
  type LineWriter,
  type LogFormat,
  rateLimitedLog,
  serveMetrics,
} from "./observability.ts";
import { compileTrustProxy, type TrustProxy } from "./proxy.ts";
import { memoryRateLimiter, rateLimits } from "./rate-limit.ts";
import { loadSettings, type SettingsSources } from "./settings.ts";

export { type LoadedSettings, loadSettings, type SettingsSources } from "./settings.ts";
/**
 * @hono/node-server's `serve`, the copy this server is built with, for code that serves an app
 * from this module itself (the benchmark). A second copy of @hono/node-server in the same process
 * (the package's own, next to this bundle) replaces the global Response with its own class, which
 * this copy does not recognise: every response of the app would then be read back through a Web
 * stream, at about twice the CPU for a page (docs/benchmark.md "The guide page").
 */
export { serve };

/**
 * Reads the admin tokens: a token file (one token or `sha256:<hex>` a line) and/or the value of
 * MAILCONF_ADMIN_TOKENS (comma or newline separated); see adminTokenHashes in src/compose.ts.
 * @returns the SHA-256 hashes (empty: the admin API stays off)
 * @throws ConfigError for an unreadable file or a refused line
 */
export async function loadAdminTokens(file?: string, envValue?: string): Promise<Uint8Array[]> {
  let text: string | undefined;
  if (file) {
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      throw new ConfigError([
        `${file}: cannot read the admin token file (${(e as NodeJS.ErrnoException).code})`,
      ]);
    }
  }
  return adminTokenHashes(file && text !== undefined ? { name: file, text } : undefined, envValue);
}

/** Options of {@link startServer}. */
export interface ServeOptions extends SettingsSources {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Listen address, e.g. `127.0.0.1` or `0.0.0.0`. */
  host: string;
  /** Overrides a settings file's publicUrl; default `http://<host>:<port>`. */
  publicUrl?: string;
  signProfile?: ProfileSigner;
  /** Admin token file (see {@link loadAdminTokens}). */
  adminTokenFile?: string;
  /** Admin tokens as in MAILCONF_ADMIN_TOKENS. */
  adminTokens?: string;
  /**
   * Longest time a client may take to send a whole request, headers and body, in ms (node:http
   * `requestTimeout`); then it gets 408 and the connection is closed. Default {@link DEFAULT_REQUEST_TIMEOUT_MS}.
   */
  requestTimeoutMs?: number;
  /** Longest time a client may take to send the request headers, in ms (node:http `headersTimeout`). Default {@link DEFAULT_HEADERS_TIMEOUT_MS}. */
  headersTimeoutMs?: number;
  /**
   * Requests per client and minute (`--rate-limit`; stricter limits for expensive routes and
   * failures derive from it, see src/node/rate-limit.ts). 0 = off. Default: off here; the CLI's
   * default is {@link DEFAULT_RATE_LIMIT}.
   */
  rateLimit?: number;
  /** Proxies whose `Forwarded`/`X-Forwarded-*` headers are honoured: addresses, CIDRs, `loopback` … */
  trustProxy?: string[];
  /** Where access-log lines go (one per request); none → no access log. */
  accessLog?: LineWriter;
  /** Access-log format. Default `text`. */
  logFormat?: LogFormat;
  /** Serve Prometheus metrics on this separate listener (`--metrics host:port`); none → no metrics. */
  metrics?: { host: string; port: number };
  /** How long a shutdown waits for requests in flight, in ms. Default {@link DEFAULT_SHUTDOWN_GRACE_MS}. */
  shutdownGraceMs?: number;
  /** Most requests in flight per connection (pipelining). Default {@link DEFAULT_MAX_PIPELINED}. */
  maxPipelined?: number;
  /** Reload the settings files and the ISPDB folder when they change on disk (`--watch`). */
  watch?: boolean;
  /**
   * Most `log` lines of one kind a minute (see rateLimitedLog in src/node/observability.ts); none →
   * every line. `mailconf serve` uses {@link WARNINGS_PER_MINUTE}.
   */
  warningsPerMinute?: number;
  /**
   * Answer the hot requests straight from node:http (src/node/fast-path.ts), with the same bytes as
   * the app. Default true; false sends every request through the app (for comparisons).
   */
  fastPath?: boolean;
  /** Directory lookups of providers with a `directory` (default: LDAP through ldapts, cached; src/node/ldap.ts). */
  directory?: DirectoryLookup;
}

/** Warnings of one kind per minute that `mailconf serve` writes (unknown domains, DNS failures …). */
export const WARNINGS_PER_MINUTE = 10;
/** Default {@link ServeOptions.shutdownGraceMs}: 10 s. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/** Most header fields in one request (node:http `maxHeadersCount`); real clients send about a dozen. */
export const MAX_HEADERS_COUNT = 100;
/** Largest request head, in bytes (node:http `maxHeaderSize`, its default: 16 KiB). */
export const MAX_HEADER_SIZE = 16 * 1024;
/** Idle time before a keep-alive connection is closed, in ms (node:http `keepAliveTimeout`). */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

/** Default {@link ServeOptions.requestTimeoutMs}: 30 s (Node's own default of 300 s lets a slow body hold a connection 5 minutes). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Default {@link ServeOptions.headersTimeoutMs}: 15 s. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 15_000;

/**
 * The node:http server options for the time bounds of {@link ServeOptions}. Node checks them only
 * every `connectionsCheckingInterval` (30 s by default), which would let a request outlive its bound
 * by that much, so the interval is a quarter of the shorter bound (50 ms-1 s).
 * @throws RangeError if a bound is not a positive integer, or the headers bound exceeds the request bound
 */
export function serverTimeouts(options: Pick<ServeOptions, "requestTimeoutMs" | "headersTimeoutMs">): {
  requestTimeout: number;
  headersTimeout: number;
  connectionsCheckingInterval: number;
} {
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const headersTimeout = options.headersTimeoutMs ?? Math.min(DEFAULT_HEADERS_TIMEOUT_MS, requestTimeout);
  for (const [name, value] of [
    ["requestTimeoutMs", requestTimeout],
    ["headersTimeoutMs", headersTimeout],
  ] as const)
    if (!Number.isInteger(value) || value <= 0)
      throw new RangeError(`${name}: expected a positive integer, got ${value}`);
  if (headersTimeout > requestTimeout)
    throw new RangeError(
      `headersTimeoutMs (${headersTimeout}) cannot exceed requestTimeoutMs (${requestTimeout})`,
    );
  const connectionsCheckingInterval = Math.min(1000, Math.max(50, Math.floor(headersTimeout / 4)));
  return { requestTimeout, headersTimeout, connectionsCheckingInterval };
}

/**
 * Readiness of the SQL store (`/readyz`): one read of a table every migrated database has.
 * @throws the driver's error when the database cannot be read (closed, unreadable, not SQLite)
 */
export async function storeReadable(database: SqlDriver | undefined): Promise<void> {
  if (database) await database.execute({ sql: "SELECT count(*) FROM d1_migrations" });
}

/** A running server. */
export interface RunningServer {
  /** Base URL it listens on, e.g. `http://127.0.0.1:8080`. */
  url: string;
  publicUrl: string;
  /** The metrics URL, with {@link ServeOptions.metrics}. */
  metricsUrl?: string;
  report: string[];
  /** How many answers the fast path wrote (0 with `fastPath: false`); the rest went through the app. */
  fastPathAnswers(): number;
  /**
   * Published domains held in memory now (src/store/published-cache.ts); 0 while lookups read the
   * database: no database, still loading, or after a change until the store is loaded again.
   */
  domainsInMemory(): number;
  /**
   * Reads the settings files and the ISPDB folder again (SIGHUP). Invalid settings are logged,
   * one line per problem as `file:line: path: rule`, and the last good settings keep answering.
   * @returns true if the new settings answer from now on
   */
  reload(): Promise<boolean>;
  /**
   * Graceful shutdown (SIGTERM): stops accepting connections, lets requests in flight finish (their
   * answers close the connection) for up to `graceMs` (default {@link ServeOptions.shutdownGraceMs}),
   * then closes the connections still open, the metrics listener and the database.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Loads settings and starts listening. A client gets {@link ServeOptions.headersTimeoutMs} for its
 * headers and {@link ServeOptions.requestTimeoutMs} for the whole request (then 408, connection closed).
 * @throws RangeError for invalid time bounds; ConfigError for invalid settings or `trustProxy`
 *   values (nothing is started); a listen error (EADDRINUSE …) rejects
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const timeouts = serverTimeouts(options);
  let trustProxy: TrustProxy | undefined;
  if (options.trustProxy?.length) {
    try {
      trustProxy = compileTrustProxy(options.trustProxy);
    } catch (e) {
      throw new ConfigError([`--trust-proxy: ${(e as Error).message}`]);
    }
  }
  const metrics = options.metrics ? createMetrics() : undefined;
  const warn =
    options.log && options.warningsPerMinute
      ? rateLimitedLog(options.log, options.warningsPerMinute)
      : options.log;
  const log = (message: string) => {
    metrics?.logLine(message);
    warn?.(message);
  };
  const tokenHashes = await loadAdminTokens(options.adminTokenFile, options.adminTokens);
  const loaded = await loadSettings({ sqlCache: "full", ...options, log });
  let publicUrl = choosePublicUrl({ value: options.publicUrl, name: "--public-url" }) ?? loaded.publicUrl;
  const accessLog = options.accessLog;
  const format = options.logFormat ?? "text";
  const rateLimiter = memoryRateLimiter(options.rateLimit ?? 0);
  const database = loaded.database;
  const ops: Operations = {
    clientAddress: (c) => clientAddressOf((c.env as HttpBindings).incoming),
    // Requests the fast path handed over were already counted and timed there.
    admitted: (c) => admittedBefore((c.env as HttpBindings | undefined)?.incoming),
    startedAt: (c) => startedBefore((c.env as HttpBindings | undefined)?.incoming),
    rateLimiter,
    record:
      accessLog || metrics
        ? (r) => {
            accessLog?.write(formatAccessLine(r, format));
            metrics?.request(r);
          }
        : undefined,
    // Settings are loaded (the server starts only then); the database must answer a read.
    ready: () => storeReadable(database),
  };
  // publicUrl needs the port, which is only known after listening; the app reads it lazily.
  const { deps, report } = composeApp(loaded, {
    publicUrl: () => publicUrl ?? "",
    signProfile: options.signProfile,
    tokenHashes,
    log,
    ops,
    directory: options.directory ?? (await import("./ldap.ts")).ldapDirectory({ log: options.log }),
    readBody: readBodyFromNode,
  });
  loaded.report.push(report);
  loaded.report.push(
    rateLimiter
      ? `rate limits per client and minute: ${Object.entries(rateLimits(options.rateLimit ?? 0))
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`
      : "rate limits: off",
  );
  if (trustProxy) loaded.report.push(`trusted proxies: ${options.trustProxy?.join(", ")}`);
  const hot = hotEndpoints(deps);
  const app = createApp(deps, hot.profile);
  let draining = false;
  const guard = {
    maxPipelined: options.maxPipelined ?? DEFAULT_MAX_PIPELINED,
    trustProxy,
    draining: () => draining,
  };
  let fast: ReturnType<typeof withFastPath> | undefined;
  const createGuardedServer = ((serverOptions: ServerOptions, listener: RequestListener) => {
    fast = options.fastPath === false ? undefined : withFastPath(hot, ops, listener);
    const server = createServer(serverOptions, guardConnections(fast ?? listener, guard));
    server.maxHeadersCount = MAX_HEADERS_COUNT;
    return server;
  }) as typeof createServer;
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = serve(
        {
          fetch: app.fetch,
          port: options.port,
          hostname: options.host,
          createServer: createGuardedServer,
          serverOptions: {
            ...timeouts,
            keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
            maxHeaderSize: MAX_HEADER_SIZE,
          },
        },
        () => resolve(s as Server),
      );
      s.once("error", reject);
    });
  } catch (e) {
    await loaded.close();
    throw e;
  }
  // Load the published settings into memory in the background, once listening (so the loading does
  // not delay the start): lookups read the database until it is loaded.
  const sql = loaded.sql;
  if (sql) {
    const started = performance.now();
    void sql.warm().then(() => {
      if (sql.inMemory)
        log(
          `database: ${sql.domainsInMemory} published domain(s) held in memory (loaded in ${Math.round(performance.now() - started)} ms)`,
        );
    });
  }
  let metricsServer: Server | undefined;
  let metricsUrl: string | undefined;
  if (metrics && options.metrics) {
    try {
      ({ server: metricsServer, url: metricsUrl } = await serveMetrics(metrics, options.metrics));
    } catch (e) {
      server.close();
      await loaded.close();
      throw e;
    }
    loaded.report.push(`metrics: ${metricsUrl}`);
  }
  const reload = async (): Promise<boolean> => {
    try {
      const report = await loaded.reload();
      metrics?.reload(true);
      options.log?.(`reload: settings loaded (${report.join("; ")})`);
      return true;
    } catch (e) {
      metrics?.reload(false);
      if (!(e instanceof ConfigError)) throw e;
      for (const problem of e.problems)
        options.log?.(`reload failed, the last good settings stay: ${problem}`);
      return false;
    }
  };
  const watchers = options.watch ? watchSources(options, reload) : [];
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  publicUrl = (publicUrl ?? url).replace(/\/+$/, "");
  let closing: Promise<void> | undefined;
  return {
    url,
    publicUrl,
    domainsInMemory: () => (sql?.inMemory ? sql.domainsInMemory : 0),
    metricsUrl,
    report: loaded.report,
    fastPathAnswers: () => fast?.answered() ?? 0,
    reload,
    close: (graceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS) => {
      closing ??= new Promise<void>((resolve) => {
        draining = true;
        for (const w of watchers) w.close();
        // Node closes idle keep-alive connections now and busy ones once their answer is sent.
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          metricsServer?.close();
          metricsServer?.closeAllConnections();
          accessLog?.flush();
          loaded.close().then(resolve, resolve);
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/**
 * `--watch`: reloads when a settings file or the ISPDB folder changes (fs.watch, debounced by
 * 200 ms so an editor's several writes make one reload).
 */
function watchSources(sources: SettingsSources, reload: () => Promise<boolean>): FSWatcher[] {
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void reload().catch(() => {}), 200);
    timer.unref();
  };
  const paths = [...(sources.configFiles ?? []), ...(sources.ispdb ? [sources.ispdb] : [])];
  return paths.map((path) => {
    // The folder of a file: editors replace files by renaming, which ends a watch on the file itself.
    const watcher = watch(sources.ispdb === path ? path : dirname(path), changed);
    watcher.unref();
    return watcher;
  });
}

/**
 * Where the profile-signing certificate, key and intermediates come from (`mailconf serve
 * --sign-cert/--sign-key/--sign-chain`, env MAILCONF_SIGN_CERT/KEY/CHAIN): each either a file
 * path or the PEM text itself (what a container secret or a Workers secret holds).
 */
export interface SigningSources {
  cert?: string;
  key?: string;
  chain?: string;
}

/** How the Node entry names its signing settings in errors (see composeSigner in src/compose.ts). */
const SIGN_SETTINGS = {
  certSetting: "--sign-cert",
  keySettings: "--sign-key/--sign-chain",
  giveKey: "give --sign-key (or MAILCONF_SIGN_KEY)",
  giveCert: "give --sign-cert (or MAILCONF_SIGN_CERT)",
};

/**
 * Reads the signing material (files or PEM text) and validates it (composeSigner in src/compose.ts).
 * @returns the signer, or `undefined` when nothing is configured (profiles are served unsigned)
 * @throws SigningConfigError for a missing half (a certificate without its key), an unreadable
 *   file, or anything createProfileSigner rejects (key/certificate mismatch, expiry, key format)
 */
export async function loadProfileSigner(
  sources: SigningSources,
  now?: () => Date,
): Promise<CmsSigner | undefined> {
  const { cert, key, chain } = sources;
  const read = async (value: string | undefined, what: string): Promise<PemSource | undefined> => {
    if (value === undefined || value === "") return undefined;
    if (value.includes("-----BEGIN")) return { pem: value, name: `${what} (PEM text)` };
    try {
      return { pem: await readFile(value, "utf8"), name: value };
    } catch (e) {
      throw new SigningConfigError(`cannot read ${what} file ${value}: ${(e as Error).message}`);
    }
  };
  return composeSigner({
    ...SIGN_SETTINGS,
    cert: await read(cert, "the signing certificate"),
    key: await read(key, "the private key"),
    chain: await read(chain, "the certificate chain"),
    now,
  });
}

/** The start-up log lines about profile signing: what signs, until when, and any warning. */
export function signingReport(signer: CmsSigner | undefined): string[] {
  if (!signer)
    return [
      "Apple profiles are unsigned (no signing certificate configured; see --sign-cert in docs/signing.md).",
    ];
  const c = signer.certificate;
  return [
    `Apple profiles are signed by ${c.subject} (${signer.keyAlgorithm}, issued by ${c.issuer}, ` +
      `valid until ${c.notAfter.toISOString()}, ${signer.chain.length} intermediate certificate(s)).`,
    ...signer.warnings.map((w) => `warning: profile signing: ${w}`),
  ];
}
