/**
 * The composition root, shared by the Node entry (src/node/server.ts, via `mailconf serve|check|…`)
 * and the Worker entry (src/worker/app.ts): sources in, the app's dependencies out. An entry only
 * reads its runtime's inputs (files, environment and flags / bindings and secrets) and hands them
 * over; the rules below exist once:
 *
 * - the order of precedence of the settings layers ({@link composeStore}): published settings (SQL)
 *   → settings files in the order given → ISPDB providers → built-in providers, each answering
 *   exact → alias → wildcard; then resolution by MX over all of them for a domain none knows;
 * - the public URL ({@link choosePublicUrl}): an absolute http(s) URL, given or from the first
 *   settings file that sets one;
 * - admin tokens ({@link adminTokenHashes}): a token file and/or `MAILCONF_ADMIN_TOKENS`, and when
 *   the admin API is on ({@link composeApp}): a SQL store and at least one token;
 * - profile signing ({@link composeSigner}): a certificate needs its key and the other way round;
 * - resolution by MX over DNS-over-HTTPS ({@link dohSetting}): `off` or an https endpoint,
 *   default {@link DEFAULT_DOH_URL}.
 *
 * Runtime-neutral: Web APIs only (it runs on Node.js and on Workers). Signing is imported when a
 * signer is made, so commands without one do not load the CMS code.
 */

import { DEFAULT_DOH_URL, dohMxResolver } from "./dns/doh.ts";
import { parseAdminTokens } from "./handlers/admin-auth.ts";
import type { AppDeps, ProfileSigner } from "./handlers/context.ts";
import type { Operations } from "./handlers/operations.ts";
import type { DirectoryLookup } from "./providers/directory.ts";
import type { Provider, SettingsFile } from "./providers/model.ts";
import { type MxResolver, MxStore, type MxStoreOptions } from "./providers/mx.ts";
import {
  LayeredStore,
  MemoryStore,
  type ProviderEntry,
  type SettingsStore,
  SwappableStore,
} from "./providers/store.ts";
import type { ProfileSigner as CmsSigner } from "./signing/signer.ts";
import type { SqlDriver } from "./store/sql.ts";
import { SqlStore, type SqlStoreOptions } from "./store/sql-store.ts";

export { DEFAULT_DOH_URL } from "./dns/doh.ts";

/**
 * A configuration that cannot work, with every problem named (`file:line: field: rule`, or the
 * flag / variable name and what it expects). Nothing is started or changed.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** A settings file as an entry hands it over: its name (shown as the source) and validated content. */
export interface SettingsFileSource {
  source: string;
  settings: SettingsFile;
}

/** The settings layers, each optional; see {@link composeStore} for their order. */
export interface StoreSources {
  /** The driver of the published settings (SQLite on Node, D1 on Workers), migrations applied. */
  sql?: SqlDriver;
  /** Settings files, highest precedence first. */
  files?: readonly SettingsFileSource[];
  /** Providers of an ISPDB folder (Node): the folder, its providers and the files skipped with why. */
  ispdb?: {
    source: string;
    entries: readonly ProviderEntry[];
    skipped?: readonly { file: string; reason: string }[];
  };
  /** The built-in providers (the entry supplies them: validated at import on Node, bundled on Workers). */
  builtin?: readonly Provider[];
  /** Resolution by MX for domains no layer knows; absent → unknown domains are not looked up in DNS. */
  mx?: { resolver: MxResolver; options?: MxStoreOptions };
  /** Operator log (database rows that no longer validate, DNS failures). */
  log?: (message: string) => void;
  /**
   * How the SQL store answers lookups (SqlStoreOptions.cache, docs/caching.md): `full` (the Node
   * server: everything in memory), `lru` (Workers: per-isolate), `off` (default; one-shot commands).
   */
  sqlCache?: "full" | "lru" | "off";
  /** With `sqlCache: "full"`: its loader (SqlStoreOptions.loadIndex; the Node entry gives it). */
  sqlLoadIndex?: SqlStoreOptions["loadIndex"];
}

/** The composed store and its parts. */
export interface ComposedStore {
  /** What the app answers from: every layer, then resolution by MX. */
  store: SettingsStore;
  /**
   * The file layers (settings files → ISPDB → built-in), replaced whole by a reload (Node, SIGHUP):
   * `files.swap(fileLayers(…).store)`; lookups see the old or the new layers, never a mix.
   */
  files: SwappableStore;
  /** Every layer, without resolution by MX (alias checks; what `mailconf dns` reads). */
  layers: SettingsStore;
  /** The SQL store of published settings, when a driver was given (the admin API writes to it). */
  sql?: SqlStore;
  /** Human-readable lines: what each layer holds. */
  report: string[];
}

/**
 * Builds the settings store from its layers. Order of precedence, the first layer that knows a
 * domain answers (within a layer: exact → alias → wildcard): published settings (SQL) → settings
 * files in the order given → ISPDB providers → built-in providers; then, for a domain none of them
 * knows, resolution by MX over all of them (DESIGN.md "The settings model"; test/precedence.test.ts
 * on Node, test/workers/precedence.test.ts on Workers).
 * A provider id of a lower layer can be named by a published domain (`fallback` of the SQL store).
 */
export function composeStore(sources: StoreSources): ComposedStore {
  const read = fileLayers(sources);
  const report = read.report;
  const files = new SwappableStore(read.store);
  const sql = sources.sql
    ? new SqlStore(sources.sql, {
        fallback: files,
        log: sources.log,
        cache: sources.sqlCache,
        loadIndex: sources.sqlLoadIndex,
      })
    : undefined;
  const layers = sql ? new LayeredStore([sql, files]) : files;
  let store: SettingsStore = layers;
  if (sources.mx) {
    store = new MxStore(layers, sources.mx.resolver, { log: sources.log, ...sources.mx.options });
    report.push("resolution by MX: on (for domains no source knows, when a provider declares mxHosts)");
  }
  return { store, files, layers, sql, report };
}

/**
 * The file layers of {@link composeStore}: settings files in the order given → ISPDB providers →
 * built-in providers, and a report line for each.
 */
export function fileLayers(sources: Pick<StoreSources, "files" | "ispdb" | "builtin">): {
  store: SettingsStore;
  report: string[];
} {
  const report: string[] = [];
  const read: SettingsStore[] = [];
  // A file's assigned domains may name a provider of any file layer (looked up once all exist).
  const findProvider = (id: string) => store.findProvider(id);
  for (const { source, settings } of sources.files ?? []) {
    read.push(
      new MemoryStore(
        settings.providers.map((provider) => ({ provider, source })),
        settings.aliases,
        { assigned: settings.assignedDomains ?? {}, findProvider },
      ),
    );
    report.push(`settings: ${source}: ${settings.providers.length} provider(s)`);
  }
  if (sources.ispdb) {
    const { source, entries, skipped = [] } = sources.ispdb;
    read.push(new MemoryStore([...entries]));
    report.push(`ispdb: ${source}: ${entries.length} provider(s) loaded, ${skipped.length} skipped`);
    for (const s of skipped) report.push(`ispdb: skipped ${s.file}: ${s.reason}`);
  }
  if (sources.builtin) {
    read.push(new MemoryStore(sources.builtin.map((provider) => ({ provider, source: "built-in" }))));
    report.push(`built-in: ${sources.builtin.length} provider(s)`);
  }
  const store = new LayeredStore(read);
  return { store, report };
}

/**
 * An absolute http(s) URL, trailing slashes removed.
 * @returns `undefined` for anything else (a bare host name, ftp:, text)
 */
export function absoluteHttpUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  return url.href.replace(/\/+$/, "");
}

/**
 * The public URL clients reach mailconf at (every absolute URL in answers; never the Host header):
 * the given value (a flag or variable, blank = unset), else the first settings file's `publicUrl`.
 * @param given the value and its name for errors, e.g. `MAILCONF_PUBLIC_URL` or `--public-url`
 * @returns the URL without trailing slash, or `undefined` when neither is set
 * @throws ConfigError naming `given.name` if the value is not an absolute http(s) URL
 */
export function choosePublicUrl(
  given: { value?: string; name: string },
  files: readonly SettingsFileSource[] = [],
): string | undefined {
  const value = given.value?.trim() || files.find((f) => f.settings.publicUrl)?.settings.publicUrl;
  if (!value) return undefined;
  const url = absoluteHttpUrl(value);
  if (!url)
    throw new ConfigError([
      `${given.name}: expected an absolute http(s) URL such as https://autoconfig.example.org, got ${JSON.stringify(value)}`,
    ]);
  return url;
}

/** The environment variable (Node) and secret (Workers) of admin API tokens. */
export const ADMIN_TOKENS_ENV = "MAILCONF_ADMIN_TOKENS";

/**
 * The SHA-256 hashes of the admin API tokens: a token file (one token or `sha256:<hex>` a line)
 * and/or {@link ADMIN_TOKENS_ENV} (comma or newline separated). See src/handlers/admin-auth.ts.
 * @param file the token file's name and text, read by the entry
 * @param env the value of MAILCONF_ADMIN_TOKENS (blank = unset)
 * @returns the hashes (empty: the admin API stays off)
 * @throws ConfigError naming every refused line (its file or the variable)
 */
export async function adminTokenHashes(
  file: { name: string; text: string } | undefined,
  env: string | undefined,
): Promise<Uint8Array[]> {
  const hashes: Uint8Array[] = [];
  const problems: string[] = [];
  const add = (parsed: { hashes: Uint8Array[]; problems: string[] }) => {
    hashes.push(...parsed.hashes);
    problems.push(...parsed.problems);
  };
  if (file) add(await parseAdminTokens(file.text, file.name));
  if (env?.trim()) add(await parseAdminTokens(env, ADMIN_TOKENS_ENV, "comma-or-newline"));
  if (problems.length > 0) throw new ConfigError(problems);
  return hashes;
}

/** One piece of signing material as the entry read it: PEM text and the name to show for it. */
export interface PemSource {
  pem: string;
  name: string;
}

/**
 * Signing material and how to name what is missing: on Node the flags (`--sign-cert`, …, and
 * their variables), on Workers the secrets.
 */
export interface SigningSources {
  cert?: PemSource;
  key?: PemSource;
  chain?: PemSource;
  /** E.g. `--sign-cert` / `MAILCONF_SIGN_CERT`: the certificate's setting. */
  certSetting: string;
  /** E.g. `--sign-key/--sign-chain`: the settings that need the certificate. */
  keySettings: string;
  /** What to do for a missing key, e.g. `give --sign-key (or MAILCONF_SIGN_KEY)`. */
  giveKey: string;
  /** What to do for a missing certificate, e.g. `set the secret MAILCONF_SIGN_CERT`. */
  giveCert: string;
  /** Clock for the validity check and the CMS signingTime (tests fix it). */
  now?: () => Date;
}

/**
 * The profile signer of this material (src/signing/signer.ts, createProfileSigner).
 * @returns `undefined` when no material is given (profiles are served unsigned)
 * @throws SigningConfigError for a missing half (a certificate without its key, a key or chain
 *   without the certificate) or anything createProfileSigner rejects (mismatch, expiry, format)
 */
export async function composeSigner(sources: SigningSources): Promise<CmsSigner | undefined> {
  const { cert, key, chain } = sources;
  if (!cert && !key && !chain) return undefined;
  const { createProfileSigner, SigningConfigError } = await import("./signing/signer.ts");
  if (!cert || !key)
    throw new SigningConfigError(
      cert
        ? `${sources.certSetting} needs its private key: ${sources.giveKey}`
        : `${sources.keySettings} need the certificate: ${sources.giveCert}`,
    );
  return createProfileSigner({
    certificatePem: cert.pem,
    privateKeyPem: key.pem,
    chainPem: chain?.pem,
    now: sources.now,
    names: { certificate: cert.name, privateKey: key.name, chain: chain?.name },
  });
}

/**
 * Resolution by MX over DNS-over-HTTPS from a setting (Workers' `MAILCONF_MX`): unset or blank →
 * {@link DEFAULT_DOH_URL}; `off` → none; an https URL → that DoH JSON endpoint.
 * @throws ConfigError naming `name` for any other value
 */
export function dohSetting(value: string | undefined, name: string): MxResolver | undefined {
  const text = value?.trim() ?? "";
  if (text.toLowerCase() === "off") return undefined;
  if (text === "") return dohMxResolver();
  const url = absoluteHttpUrl(text);
  if (!url?.startsWith("https:"))
    throw new ConfigError([
      `${name}: expected "off" or a DNS-over-HTTPS URL such as ${DEFAULT_DOH_URL}, got ${JSON.stringify(text)}`,
    ]);
  return dohMxResolver({ url: new URL(text).href });
}

/** What {@link composeApp} needs beyond the store. */
export interface AppSources {
  /** The absolute base URL, or a getter when it is known only after listening (Node, port 0). */
  publicUrl: string | (() => string);
  signProfile?: ProfileSigner;
  /** Admin token hashes ({@link adminTokenHashes}). */
  tokenHashes?: readonly Uint8Array[];
  log?: (message: string) => void;
  /** How request bodies are read (AppDeps.readBody): the Node entry reads the Node request. */
  readBody?: AppDeps["readBody"];
  /** Client address, rate limits, access log and metrics, readiness (src/handlers/operations.ts). */
  ops?: Operations;
  /** Directory lookups (Node: src/node/ldap.ts); absent on Workers (docs/ldap.md). */
  directory?: DirectoryLookup;
}

/**
 * The app's dependencies (src/app.ts createApp): the store, public URL, signer, log, and the admin
 * API, on only with a SQL store and at least one token.
 * @returns the deps and a report line on the admin API (on, or off and why)
 */
export function composeApp(store: ComposedStore, sources: AppSources): { deps: AppDeps; report: string } {
  const tokenHashes = sources.tokenHashes ?? [];
  const admin = store.sql && tokenHashes.length > 0 ? { store: store.sql, tokenHashes } : undefined;
  const report = admin
    ? `admin API: on at /api/v1/ (${tokenHashes.length} token(s))`
    : tokenHashes.length > 0
      ? "admin API: off (no database)"
      : "admin API: off (no admin token configured)";
  const url = sources.publicUrl;
  const deps: AppDeps = {
    store: store.store,
    get publicUrl() {
      return typeof url === "string" ? url : url();
    },
    signProfile: sources.signProfile,
    log: sources.log,
    admin,
    readBody: sources.readBody,
    ops: sources.ops,
    directory: sources.directory,
  };
  return { deps, report };
}
