/**
 * Node.js entry: builds the settings store from the SQL store of published settings, settings
 * files, an ISPDB folder and the built-in providers (plus resolution by MX over all of them), and
 * serves the app with @hono/node-server. Used by `mailconf serve` and by the end-to-end tests
 * (which start it on 127.0.0.1 with port 0).
 */
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type RequestListener, type Server, type ServerOptions } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { type HttpBindings, serve } from "@hono/node-server";
import { createApp } from "../app.ts";
import { parseAdminTokens } from "../handlers/admin-auth.ts";
import type { AppDeps, ProfileSigner } from "../handlers/context.ts";
import type { Operations } from "../handlers/operations.ts";
import { BUILTIN_PROVIDERS } from "../providers/builtin.ts";
import { formatPath } from "../providers/model.ts";
import { type MxResolver, MxStore, type MxStoreOptions } from "../providers/mx.ts";
import { LayeredStore, MemoryStore, type SettingsStore, SwappableStore } from "../providers/store.ts";
import {
  type ProfileSigner as CmsSigner,
  createProfileSigner,
  SigningConfigError,
} from "../signing/signer.ts";
import type { SqlDriver } from "../store/sql.ts";
import { SqlStore } from "../store/sql-store.ts";
import { ConfigError, loadIspdb, readSettingsFile } from "./config-files.ts";
import { clientAddressOf, DEFAULT_MAX_PIPELINED, guardConnections } from "./connections.ts";
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
import { openSqlite, type SqliteDatabase } from "./sqlite.ts";

/** What `mailconf serve` and `mailconf check` read settings from. */
export interface SettingsSources {
  /** Settings files (YAML or JSON), highest precedence first. */
  configFiles?: string[];
  /** An ISPDB folder (or one clientConfig file). */
  ispdb?: string;
  /** Serve the built-in providers (default true). */
  builtin?: boolean;
  /** SQLite file of published settings (created and migrated if needed); none → no SQL store. */
  db?: string;
  /** Resolution by MX (see src/providers/mx.ts); none → unknown domains are not looked up in DNS. */
  mxResolver?: MxResolver;
  /** Cache and time bounds of resolution by MX. */
  mxOptions?: MxStoreOptions;
  /** Operator log (database rows that no longer validate, DNS failures). */
  log?: (message: string) => void;
}

/** The loaded store plus what an operator should be told about it. */
export interface LoadedSettings {
  store: SettingsStore;
  /** The SQL store of published settings, when `db` was given. */
  sql?: SqlStore;
  /** The open database, when `db` was given. */
  database?: SqliteDatabase;
  /** `publicUrl` from the first settings file that sets one. */
  publicUrl?: string;
  /** Human-readable lines: what was loaded, files skipped and why. */
  report: string[];
  /**
   * Reads the settings files and the ISPDB folder again and, only if all of them are valid (alias
   * targets included), makes them answer every lookup from then on; the database stays open.
   * @returns what was loaded (as in `report`)
   * @throws ConfigError with every problem as `file:line: path: rule`; the last good settings stay
   */
  reload(): Promise<string[]>;
  /** Closes the database, if one was opened. */
  close(): void;
}

/** The settings files, ISPDB folder and built-in providers of {@link SettingsSources}, loaded. */
interface FileSettings {
  files: SettingsStore;
  publicUrl?: string;
  report: string[];
  aliasChecks: { file: string; alias: string; target: string; line: number }[];
}

/** Loads the file sources (settings files → ISPDB folder → built-in). @throws ConfigError */
async function loadFileSettings(sources: SettingsSources): Promise<FileSettings> {
  const layers: SettingsStore[] = [];
  const report: string[] = [];
  let publicUrl: string | undefined;
  const problems: string[] = [];
  const aliasChecks: FileSettings["aliasChecks"] = [];
  for (const file of sources.configFiles ?? []) {
    try {
      const { settings, lineOf } = await readSettingsFile(file);
      for (const [alias, target] of Object.entries(settings.aliases)) {
        aliasChecks.push({ file, alias, target, line: lineOf(["aliases", alias]) });
      }
      publicUrl ??= settings.publicUrl;
      layers.push(
        new MemoryStore(
          settings.providers.map((provider) => ({ provider, source: file })),
          settings.aliases,
        ),
      );
      report.push(`settings: ${file}: ${settings.providers.length} provider(s)`);
    } catch (e) {
      if (e instanceof ConfigError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (sources.ispdb) {
    const folder = await loadIspdb(sources.ispdb);
    layers.push(new MemoryStore(folder.entries));
    report.push(
      `ispdb: ${sources.ispdb}: ${folder.entries.length} provider(s) loaded, ${folder.skipped.length} skipped`,
    );
    for (const s of folder.skipped) report.push(`ispdb: skipped ${s.file}: ${s.reason}`);
  }
  if (sources.builtin !== false) {
    layers.push(new MemoryStore(BUILTIN_PROVIDERS.map((provider) => ({ provider, source: "built-in" }))));
    report.push(`built-in: ${BUILTIN_PROVIDERS.length} provider(s)`);
  }
  return { files: new LayeredStore(layers), publicUrl, report, aliasChecks };
}

/**
 * An alias must point at a domain some source serves by name (not at another alias): a typo here
 * would silently make the alias domain unknown.
 * @returns the problems as `file:line: path: rule`
 */
async function aliasProblems(store: SettingsStore, checks: FileSettings["aliasChecks"]): Promise<string[]> {
  const problems: string[] = [];
  for (const check of checks) {
    const hit = await store.resolve(check.target);
    if (!hit || hit.via === "alias") {
      problems.push(
        `${check.file}:${check.line}: ${formatPath(["aliases", check.alias])}: ${
          hit ? `${check.target} is itself an alias of ${hit.aliasOf}` : `no settings for ${check.target}`
        }: point the alias at a domain that is served`,
      );
    }
  }
  return problems;
}

/**
 * Loads every settings source into one store. Order of precedence (the first source that knows a
 * domain answers; within a source: exact → alias → wildcard): published settings (SQL, `db`) →
 * settings files in the order given → ISPDB folder → built-in providers; then, for a domain none
 * of them knows, resolution by MX over all of them (when `mxResolver` is given). The file sources
 * can be read again with {@link LoadedSettings.reload}.
 * @throws ConfigError if a settings file is missing or invalid (ISPDB files with errors are skipped
 *   instead) or the database cannot be opened or migrated
 */
export async function loadSettings(sources: SettingsSources): Promise<LoadedSettings> {
  const initial = await loadFileSettings(sources);
  const files = new SwappableStore(initial.files);
  const report = initial.report;
  let store: SettingsStore = files;
  let sql: SqlStore | undefined;
  let database: SqliteDatabase | undefined;
  if (sources.db) {
    try {
      database = await openSqlite(sources.db);
    } catch (e) {
      throw new ConfigError([`--db ${sources.db}: ${(e as Error).message}`]);
    }
    sql = new SqlStore(database, { fallback: files, log: sources.log });
    store = new LayeredStore([sql, files]);
    const migrated = database.migrated.length ? `, applied ${database.migrated.join(", ")}` : "";
    report.unshift(`database: ${database.path}${migrated}`);
  }
  const problems = await aliasProblems(store, initial.aliasChecks);
  if (problems.length > 0) {
    database?.close();
    throw new ConfigError(problems);
  }
  if (sources.mxResolver) {
    store = new MxStore(store, sources.mxResolver, { log: sources.log, ...sources.mxOptions });
    report.push("resolution by MX: on (for domains no source knows, when a provider declares mxHosts)");
  }
  const db = database;
  const published = sql;
  return {
    store,
    sql,
    database,
    publicUrl: initial.publicUrl,
    report,
    reload: async () => {
      const next = await loadFileSettings(sources);
      const candidate = published ? new LayeredStore([published, next.files]) : next.files;
      const problems = await aliasProblems(candidate, next.aliasChecks);
      if (problems.length > 0) throw new ConfigError(problems);
      files.swap(next.files);
      return next.report;
    },
    close: () => db?.close(),
  };
}

/**
 * Reads the admin tokens: a token file (one token or `sha256:<hex>` a line) and/or the value of
 * MAILCONF_ADMIN_TOKENS (comma or newline separated).
 * @returns the SHA-256 hashes (empty: the admin API stays off)
 * @throws ConfigError for an unreadable file or a refused line
 */
export async function loadAdminTokens(file?: string, envValue?: string): Promise<Uint8Array[]> {
  const hashes: Uint8Array[] = [];
  const problems: string[] = [];
  if (file) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      throw new ConfigError([
        `${file}: cannot read the admin token file (${(e as NodeJS.ErrnoException).code})`,
      ]);
    }
    const parsed = await parseAdminTokens(text, file);
    hashes.push(...parsed.hashes);
    problems.push(...parsed.problems);
  }
  if (envValue) {
    const parsed = await parseAdminTokens(envValue, "MAILCONF_ADMIN_TOKENS", "comma-or-newline");
    hashes.push(...parsed.hashes);
    problems.push(...parsed.problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return hashes;
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
  const loaded = await loadSettings({ ...options, log });
  let publicUrl = options.publicUrl ?? loaded.publicUrl;
  if (loaded.sql && tokenHashes.length > 0)
    loaded.report.push(`admin API: on at /api/v1/ (${tokenHashes.length} token(s))`);
  else if (tokenHashes.length > 0) loaded.report.push("admin API: off (no database)");
  else loaded.report.push("admin API: off (no admin token configured)");
  const accessLog = options.accessLog;
  const format = options.logFormat ?? "text";
  const rateLimiter = memoryRateLimiter(options.rateLimit ?? 0);
  const database = loaded.database;
  const ops: Operations = {
    clientAddress: (c) => clientAddressOf((c.env as HttpBindings).incoming),
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
  loaded.report.push(
    rateLimiter
      ? `rate limits per client and minute: ${Object.entries(rateLimits(options.rateLimit ?? 0))
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`
      : "rate limits: off",
  );
  if (trustProxy) loaded.report.push(`trusted proxies: ${options.trustProxy?.join(", ")}`);
  // publicUrl needs the port, which is only known after listening; the app reads it lazily.
  const deps: AppDeps = {
    store: loaded.store,
    get publicUrl() {
      return publicUrl ?? "";
    },
    signProfile: options.signProfile,
    log,
    admin: loaded.sql && tokenHashes.length > 0 ? { store: loaded.sql, tokenHashes } : undefined,
    ops,
  };
  const app = createApp(deps);
  let draining = false;
  const guard = {
    maxPipelined: options.maxPipelined ?? DEFAULT_MAX_PIPELINED,
    trustProxy,
    draining: () => draining,
  };
  const createGuardedServer = ((serverOptions: ServerOptions, listener: RequestListener) => {
    const server = createServer(serverOptions, guardConnections(listener, guard));
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
    loaded.close();
    throw e;
  }
  let metricsServer: Server | undefined;
  let metricsUrl: string | undefined;
  if (metrics && options.metrics) {
    try {
      ({ server: metricsServer, url: metricsUrl } = await serveMetrics(metrics, options.metrics));
    } catch (e) {
      server.close();
      loaded.close();
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
    metricsUrl,
    report: loaded.report,
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
          loaded.close();
          resolve();
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

/**
 * Reads and validates the signing material (see {@link createProfileSigner}).
 * @returns the signer, or `undefined` when nothing is configured (profiles are served unsigned)
 * @throws SigningConfigError for a missing half (a certificate without its key), an unreadable
 *   file, or anything createProfileSigner rejects (key/certificate mismatch, expiry, key format)
 */
export async function loadProfileSigner(
  sources: SigningSources,
  now?: () => Date,
): Promise<CmsSigner | undefined> {
  const { cert, key, chain } = sources;
  if (!cert && !key && !chain) return undefined;
  if (!cert || !key)
    throw new SigningConfigError(
      cert
        ? "--sign-cert needs its private key: give --sign-key (or MAILCONF_SIGN_KEY)"
        : "--sign-key/--sign-chain need the certificate: give --sign-cert (or MAILCONF_SIGN_CERT)",
    );
  const read = async (value: string, what: string) => {
    if (value.includes("-----BEGIN")) return { pem: value, name: `${what} (PEM text)` };
    try {
      return { pem: await readFile(value, "utf8"), name: value };
    } catch (e) {
      throw new SigningConfigError(`cannot read ${what} file ${value}: ${(e as Error).message}`);
    }
  };
  const c = await read(cert, "the signing certificate");
  const k = await read(key, "the private key");
  const ch = chain === undefined ? undefined : await read(chain, "the certificate chain");
  return createProfileSigner({
    certificatePem: c.pem,
    privateKeyPem: k.pem,
    chainPem: ch?.pem,
    now,
    names: { certificate: c.name, privateKey: k.name, chain: ch?.name },
  });
}

/** The start-up log lines about profile signing: what signs, until when, and any warning. */
export function signingReport(signer: CmsSigner | undefined): string[] {
  if (!signer)
    return [
      "Apple profiles are unsigned (no signing certificate configured; see --sign-cert in the README).",
    ];
  const c = signer.certificate;
  return [
    `Apple profiles are signed by ${c.subject} (${signer.keyAlgorithm}, issued by ${c.issuer}, ` +
      `valid until ${c.notAfter.toISOString()}, ${signer.chain.length} intermediate certificate(s)).`,
    ...signer.warnings.map((w) => `warning: profile signing: ${w}`),
  ];
}
