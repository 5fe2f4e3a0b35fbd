/**
 * The Cloudflare Worker (entry: src/worker/index.ts): the same app as the Node server (src/app.ts), with
 * the settings bundled at build time.
 *
 * Settings, first wins for a domain (as on Node): the settings files named in wrangler.toml's
 * `[build] command` → the built-in providers; both validated by the settings model at build time
 * and bundled by scripts/bundle-settings.ts into src/generated/bundled-settings.ts (so an isolate
 * starts without validating them again).
 *
 * With the D1 binding `DB`, the SQL store of published settings (src/store/sql-store.ts,
 * schema in migrations/) comes first, and with `MAILCONF_ADMIN_TOKENS` the admin API publishes to
 * it; resolution by MX (DNS-over-HTTPS) wraps them all, as on Node.
 *
 * Bindings (see docs/workers.md):
 * - `MAILCONF_PUBLIC_URL` (`[vars]`): the absolute http(s) URL clients reach the Worker at; used for
 *   every absolute URL in answers. Unset → the first bundled settings file's `publicUrl`.
 * - `MAILCONF_SIGN_CERT`, `MAILCONF_SIGN_KEY`, `MAILCONF_SIGN_CHAIN` (secrets, PEM text; the same
 *   names as the Node server's environment): sign Apple profiles (src/signing/signer.ts).
 * - `DB` (`[[d1_databases]]`): published settings. Pending migrations are applied on an isolate's
 *   first request (recorded in wrangler's `d1_migrations`, so `wrangler d1 migrations apply` and
 *   the Worker never apply one twice).
 * - `MAILCONF_ADMIN_TOKENS` (secret): admin API tokens, comma or newline separated, or
 *   `sha256:<hex>` hashes (as on Node). Unset → the admin API is off (404).
 * - `MAILCONF_MX` (`[vars]`): resolution by MX: a DNS-over-HTTPS JSON endpoint URL, or `off`.
 *   Unset → Cloudflare's `https://cloudflare-dns.com/dns-query`.
 *
 * Web APIs only, like everything under handlers/, providers/ and templates/.
 */
import type { Hono } from "hono";
import { createApp } from "../app.ts";
import {
  adminTokenHashes,
  ConfigError,
  choosePublicUrl,
  composeApp,
  composeSigner,
  composeStore,
  DEFAULT_DOH_URL,
  dohSetting,
  type SettingsFileSource,
} from "../compose.ts";
import { BUNDLED_BUILTIN_PROVIDERS, BUNDLED_SETTINGS } from "../generated/bundled-settings.ts";
import type { ProfileSigner } from "../handlers/context.ts";
import type { Provider } from "../providers/model.ts";
import type { MxResolver } from "../providers/mx.ts";
import type { SettingsStore } from "../providers/store.ts";
import type { ProfileSigner as CmsSigner } from "../signing/signer.ts";
import { type D1DatabaseLike, d1Driver } from "../store/d1.ts";
import { MIGRATIONS } from "../store/migrations.ts";
import { applyMigrations, type SqlDriver } from "../store/sql.ts";

export { DEFAULT_DOH_URL };

/** The Worker's bindings (wrangler.toml `[vars]`, secrets). */
export interface WorkerEnv {
  /** Absolute http(s) URL clients reach the Worker at, e.g. `https://autoconfig.example.org`. */
  MAILCONF_PUBLIC_URL?: string;
  /** Secret: the profile-signing certificate, PEM (a fullchain.pem's intermediates are used too). */
  MAILCONF_SIGN_CERT?: string;
  /** Secret: its private key, unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  MAILCONF_SIGN_KEY?: string;
  /** Secret (optional): intermediate certificates, PEM. */
  MAILCONF_SIGN_CHAIN?: string;
  /** D1 binding of the published settings (`[[d1_databases]] binding = "DB"`). */
  DB?: D1DatabaseLike;
  /** Secret: admin API tokens, comma or newline separated, or `sha256:<hex>` hashes. */
  MAILCONF_ADMIN_TOKENS?: string;
  /** Resolution by MX: a DNS-over-HTTPS JSON endpoint (https URL) or `off`; unset → Cloudflare's. */
  MAILCONF_MX?: string;
}

/** A bundled settings file: its name as given at build time and its validated content. */
export type BundledSettingsFile = SettingsFileSource;

/**
 * The read-only store of bundled settings: each settings file (in the order given at build
 * time) → the built-in providers (composeStore in src/compose.ts, as on Node).
 */
export function bundledStore(
  files: BundledSettingsFile[] = BUNDLED_SETTINGS,
  builtin: Provider[] = BUNDLED_BUILTIN_PROVIDERS,
): SettingsStore {
  return composeStore({ files, builtin }).store;
}

/** A configuration mistake in the Worker's bindings, named so an operator can fix it. */
export class WorkerConfigError extends Error {
  override readonly name = "WorkerConfigError";
}

/**
 * The public URL: `MAILCONF_PUBLIC_URL` if set, else the first bundled settings file's `publicUrl`;
 * trailing slashes removed (choosePublicUrl in src/compose.ts).
 * @throws WorkerConfigError if neither is set or the value is not an absolute http(s) URL
 */
export function resolvePublicUrl(env: WorkerEnv, files: BundledSettingsFile[] = BUNDLED_SETTINGS): string {
  let url: string | undefined;
  try {
    url = choosePublicUrl({ value: env.MAILCONF_PUBLIC_URL, name: "MAILCONF_PUBLIC_URL" }, files);
  } catch (e) {
    workerConfigError(e);
  }
  if (!url) {
    throw new WorkerConfigError(
      "MAILCONF_PUBLIC_URL is not set: add it to [vars] in wrangler.toml, e.g. https://autoconfig.example.org",
    );
  }
  return url;
}

/** Throws a ConfigError of the composition root as a {@link WorkerConfigError}, anything else as is. */
function workerConfigError(e: unknown): never {
  if (e instanceof ConfigError) throw new WorkerConfigError(e.problems.join("; "));
  throw e;
}

/**
 * The profile signer of these bindings, or `undefined` when no signing secret is set.
 * The certificate and key are checked once per isolate, on first use. A signing configuration
 * that cannot work (a missing half, a key that does not belong to the certificate, an expired
 * certificate …) is logged once with the reason, and profiles are then served unsigned, logged per
 * request by the profile handler: autoconfig and Autodiscover keep answering.
 * @param now clock for the validity check and the CMS signingTime (tests fix it)
 */
export function workerSigner(env: WorkerEnv, now?: () => Date): ProfileSigner | undefined {
  const { MAILCONF_SIGN_CERT: cert, MAILCONF_SIGN_KEY: key, MAILCONF_SIGN_CHAIN: chain } = env;
  if (!cert && !key && !chain) return undefined;
  let ready: Promise<CmsSigner | undefined> | undefined;
  const signer = () => {
    ready ??= composeSigner({
      cert: cert ? { pem: cert, name: "MAILCONF_SIGN_CERT" } : undefined,
      key: key ? { pem: key, name: "MAILCONF_SIGN_KEY" } : undefined,
      chain: chain ? { pem: chain, name: "MAILCONF_SIGN_CHAIN" } : undefined,
      certSetting: "MAILCONF_SIGN_CERT",
      keySettings: "MAILCONF_SIGN_KEY/MAILCONF_SIGN_CHAIN",
      giveKey: "set the secret MAILCONF_SIGN_KEY",
      giveCert: "set the secret MAILCONF_SIGN_CERT",
      now,
    });
    ready.catch((e: Error) =>
      console.error(`mailconf: cannot sign Apple profiles, serving them unsigned: ${e.message}`),
    );
    return ready;
  };
  return async (content) => ((await signer()) as CmsSigner).sign(content);
}

/**
 * The MX resolver of these bindings: `MAILCONF_MX` unset → DoH at {@link DEFAULT_DOH_URL}; `off` →
 * none (unknown domains are not looked up in DNS); an https URL → that DoH JSON endpoint
 * (dohSetting in src/compose.ts).
 * @throws WorkerConfigError for any other value
 */
export function workerMxResolver(env: WorkerEnv): MxResolver | undefined {
  try {
    return dohSetting(env.MAILCONF_MX, "MAILCONF_MX");
  } catch (e) {
    workerConfigError(e);
  }
}

/**
 * The admin token hashes of these bindings (empty: the admin API is off).
 * @throws WorkerConfigError naming each refused entry of MAILCONF_ADMIN_TOKENS
 */
export async function workerAdminTokens(env: WorkerEnv): Promise<Uint8Array[]> {
  try {
    return await adminTokenHashes(undefined, env.MAILCONF_ADMIN_TOKENS);
  } catch (e) {
    workerConfigError(e);
  }
}

/** The settings database could not be prepared (migrations failed); the request is answered 503. */
export class DatabaseUnavailableError extends Error {
  override readonly name = "DatabaseUnavailableError";
}

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  /** Clock for profile signing (validity check and signingTime). Default: the current time. */
  now?: () => Date;
}

const log = (message: string) => console.error(message);

/**
 * Builds the app for one set of bindings: the store (published settings in D1 → bundled settings
 * files → built-in providers, resolution by MX around them), the admin API, signing.
 * @throws WorkerConfigError for a binding that cannot work; DatabaseUnavailableError if D1 fails
 */
async function buildApp(env: WorkerEnv, options: WorkerOptions): Promise<Hono> {
  const publicUrl = resolvePublicUrl(env);
  const mx = workerMxResolver(env);
  const tokenHashes = await workerAdminTokens(env);
  let sql: SqlDriver | undefined;
  if (env.DB) {
    sql = d1Driver(env.DB);
    try {
      const applied = await applyMigrations(sql, MIGRATIONS);
      // Information, not an error: wrangler prints console.error as "✘ [ERROR]".
      if (applied.length > 0) console.log(`mailconf: D1 migrations applied: ${applied.join(", ")}`);
    } catch (e) {
      throw new DatabaseUnavailableError(`D1 migrations failed: ${(e as Error).message}`);
    }
  } else if (tokenHashes.length > 0) {
    log("mailconf: MAILCONF_ADMIN_TOKENS is set but there is no D1 binding DB: the admin API is off");
  }
  const store = composeStore({
    sql,
    files: BUNDLED_SETTINGS,
    builtin: BUNDLED_BUILTIN_PROVIDERS,
    mx: mx ? { resolver: mx } : undefined,
    log,
  });
  const { deps } = composeApp(store, {
    publicUrl,
    signProfile: workerSigner(env, options.now),
    tokenHashes,
    log,
  });
  return createApp(deps);
}

function textResponse(status: number, text: string): Response {
  return new Response(`${text}\n`, {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
  });
}

/**
 * The Worker's fetch handler. The default export is `createWorker()`; tests build one with a fixed
 * clock so a signed profile is byte-identical to the Node server's.
 *
 * The app is built once per bindings object (bindings are fixed for an isolate's life), on the
 * first request. A binding that cannot work → every answer is a plain-text 500 naming it; D1 failing
 * while migrations are applied → 503 for that request, and the next request tries again.
 */
export function createWorker(options: WorkerOptions = {}): ExportedHandler<WorkerEnv> & {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response>;
} {
  let current: { env: WorkerEnv; app: Promise<Hono> } | undefined;
  const appFor = (env: WorkerEnv): Promise<Hono> => {
    if (current?.env !== env) {
      const app = buildApp(env, options);
      const entry = { env, app };
      current = entry;
      // A failed build is not kept: the next request tries again (D1 may be back).
      app.catch(() => {
        if (current === entry) current = undefined;
      });
    }
    return current.app;
  };
  return {
    async fetch(request, env, ctx) {
      let app: Hono;
      try {
        app = await appFor(env);
      } catch (e) {
        if (e instanceof WorkerConfigError) {
          log(`mailconf: ${e.message}`);
          return textResponse(500, `mailconf is not configured: ${e.message}`);
        }
        if (e instanceof DatabaseUnavailableError) {
          log(`mailconf: ${e.message}`);
          return textResponse(503, "The settings database is unavailable; try again shortly.");
        }
        throw e;
      }
      return app.fetch(request, env, ctx);
    },
  };
}
