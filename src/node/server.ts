/**
 * Node.js entry: builds the settings store from the SQL store of published settings, settings
 * files, an ISPDB folder and the built-in providers (plus resolution by MX over all of them), and
 * serves the app with @hono/node-server. Used by `mailconf serve` and by the end-to-end tests
 * (which start it on 127.0.0.1 with port 0).
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type RequestListener, type ServerOptions } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createApp } from "../app.ts";
import { parseAdminTokens } from "../handlers/admin-auth.ts";
import type { AppDeps, ProfileSigner } from "../handlers/context.ts";
import { BUILTIN_PROVIDERS } from "../providers/builtin.ts";
import { formatPath } from "../providers/model.ts";
import { type MxResolver, MxStore, type MxStoreOptions } from "../providers/mx.ts";
import { LayeredStore, MemoryStore, type SettingsStore } from "../providers/store.ts";
import {
  type ProfileSigner as CmsSigner,
  createProfileSigner,
  SigningConfigError,
} from "../signing/signer.ts";
import { SqlStore } from "../store/sql-store.ts";
import { ConfigError, loadIspdb, readSettingsFile } from "./config-files.ts";
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
  /** Closes the database, if one was opened. */
  close(): void;
}

/**
 * Loads every settings source into one store. Order of precedence (the first source that knows a
 * domain answers; within a source: exact → alias → wildcard): published settings (SQL, `db`) →
 * settings files in the order given → ISPDB folder → built-in providers; then, for a domain none
 * of them knows, resolution by MX over all of them (when `mxResolver` is given).
 * @throws ConfigError if a settings file is missing or invalid (ISPDB files with errors are skipped
 *   instead) or the database cannot be opened or migrated
 */
export async function loadSettings(sources: SettingsSources): Promise<LoadedSettings> {
  const layers: SettingsStore[] = [];
  const report: string[] = [];
  let publicUrl: string | undefined;
  const problems: string[] = [];
  const aliasChecks: { file: string; alias: string; target: string; line: number }[] = [];
  const assignChecks: { file: string; domain: string; id: string; line: number }[] = [];
  // Assigned domains may name a provider of any file source (resolved once every layer is known).
  const findProvider = (id: string) => files.findProvider(id);
  for (const file of sources.configFiles ?? []) {
    try {
      const { settings, lineOf } = await readSettingsFile(file);
      for (const [alias, target] of Object.entries(settings.aliases)) {
        aliasChecks.push({ file, alias, target, line: lineOf(["aliases", alias]) });
      }
      for (const [domain, id] of Object.entries(settings.assignedDomains)) {
        assignChecks.push({ file, domain, id, line: lineOf(["assignedDomains", domain]) });
      }
      publicUrl ??= settings.publicUrl;
      layers.push(
        new MemoryStore(
          settings.providers.map((provider) => ({ provider, source: file })),
          settings.aliases,
          { assigned: settings.assignedDomains, findProvider },
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
  const files = new LayeredStore(layers);
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
  for (const check of assignChecks) {
    if (!(await store.findProvider?.(check.id)))
      problems.push(
        `${check.file}:${check.line}: ${formatPath(["assignedDomains", check.domain])}: no provider ${check.id} (in a settings file, the ISPDB folder, built in or published)`,
      );
  }
  // An alias must point at a domain some source serves by name (not at another alias): a typo here
  // would silently make the alias domain unknown.
  for (const check of aliasChecks) {
    const hit = await store.resolve(check.target);
    if (!hit || hit.via === "alias") {
      problems.push(
        `${check.file}:${check.line}: ${formatPath(["aliases", check.alias])}: ${
          hit ? `${check.target} is itself an alias of ${hit.aliasOf}` : `no settings for ${check.target}`
        }: point the alias at a domain that is served`,
      );
    }
  }
  if (problems.length > 0) {
    database?.close();
    throw new ConfigError(problems);
  }
  if (sources.mxResolver) {
    store = new MxStore(store, sources.mxResolver, { log: sources.log, ...sources.mxOptions });
    report.push("resolution by MX: on (for domains no source knows, when a provider declares mxHosts)");
  }
  const db = database;
  return { store, sql, database, publicUrl, report, close: () => db?.close() };
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

/** A Host value of letters, digits, `.`, `-`, `_` and an optional port: an RFC 3986 reg-name or IPv4 address. */
const SIMPLE_HOST = /^[A-Za-z0-9._-]+(?::\d{1,5})?$/;

/**
 * Gives a request whose Host header WHATWG URL refuses a URL that parses, before @hono/node-server
 * sees it. Names such as `xn--a.com`, `999.1.1.1` or `example.com.1` are valid RFC 3986 hosts that
 * Node's HTTP parser passes, but @hono/node-server builds the request URL from them unchecked, and
 * the Fetch Request behind `c.req.raw` (every request body) then throws "Invalid URL". Such a
 * request gets the absolute-form target `http://host.invalid<path>` (RFC 9112 §3.2.2: the target's
 * authority is used and the Host header is not), so the app sees the path and query as sent; the
 * Host header itself is untouched, and handlers still read the mail domain from it. Other invalid
 * Host values (spaces, `%`, an unclosed `[`) keep @hono/node-server's 400.
 */
export function withParseableUrl(incoming: IncomingMessage): void {
  const target = incoming.url ?? "";
  const host = incoming.headers.host;
  if (!target.startsWith("/") || host === undefined || !SIMPLE_HOST.test(host)) return;
  if (!URL.canParse(`http://${host}/`)) incoming.url = `http://host.invalid${target}`;
}

/** node:http's createServer with {@link withParseableUrl} applied to every request. */
const createPatchedServer = ((options: ServerOptions, listener: RequestListener) =>
  createServer(options, (req, res) => {
    withParseableUrl(req);
    listener(req, res);
  })) as typeof createServer;

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
}

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

/** A running server. */
export interface RunningServer {
  /** Base URL it listens on, e.g. `http://127.0.0.1:8080`. */
  url: string;
  publicUrl: string;
  report: string[];
  close(): Promise<void>;
}

/**
 * Loads settings and starts listening. A client gets {@link ServeOptions.headersTimeoutMs} for its
 * headers and {@link ServeOptions.requestTimeoutMs} for the whole request (then 408, connection closed).
 * @throws RangeError for invalid time bounds; ConfigError for invalid settings (nothing is started); a listen error (EADDRINUSE …) rejects
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const timeouts = serverTimeouts(options);
  const tokenHashes = await loadAdminTokens(options.adminTokenFile, options.adminTokens);
  const loaded = await loadSettings(options);
  let publicUrl = options.publicUrl ?? loaded.publicUrl;
  if (loaded.sql && tokenHashes.length > 0)
    loaded.report.push(`admin API: on at /api/v1/ (${tokenHashes.length} token(s))`);
  else if (tokenHashes.length > 0) loaded.report.push("admin API: off (no database)");
  else loaded.report.push("admin API: off (no admin token configured)");
  // publicUrl needs the port, which is only known after listening; the app reads it lazily.
  const deps: AppDeps = {
    store: loaded.store,
    get publicUrl() {
      return publicUrl ?? "";
    },
    signProfile: options.signProfile,
    log: options.log,
    admin: loaded.sql && tokenHashes.length > 0 ? { store: loaded.sql, tokenHashes } : undefined,
  };
  const app = createApp(deps);
  let server: ReturnType<typeof serve>;
  try {
    server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve(
        {
          fetch: app.fetch,
          port: options.port,
          hostname: options.host,
          createServer: createPatchedServer,
          serverOptions: timeouts,
        },
        () => resolve(s),
      );
      s.once("error", reject);
    });
  } catch (e) {
    loaded.close();
    throw e;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  publicUrl = (publicUrl ?? url).replace(/\/+$/, "");
  return {
    url,
    publicUrl,
    report: loaded.report,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          loaded.close();
          resolve();
        });
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
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
