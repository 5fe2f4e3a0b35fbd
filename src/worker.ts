/**
 * Cloudflare Workers entry (wrangler.toml `main`): the same app as the Node server (src/app.ts),
 * with the settings bundled at build time.
 *
 * Settings, first wins for a domain (as on Node): the settings files named in wrangler.toml's
 * `[build] command` → the built-in providers; both validated by the settings model at build time
 * and bundled by scripts/bundle-settings.ts into src/generated/bundled-settings.ts (so the Worker
 * does not carry the validator).
 *
 * Bindings (see README "Cloudflare Workers"):
 * - `MAILCONF_PUBLIC_URL` (`[vars]`): the absolute http(s) URL clients reach the Worker at; used for
 *   every absolute URL in answers. Unset → the first bundled settings file's `publicUrl`.
 * - `MAILCONF_SIGN_CERT`, `MAILCONF_SIGN_KEY`, `MAILCONF_SIGN_CHAIN` (secrets, PEM text; the same
 *   names as the Node server's environment): sign Apple profiles (src/signing/signer.ts).
 *
 * Web APIs only, like everything under handlers/, providers/ and templates/.
 */
import type { Hono } from "hono";
import { createApp } from "./app.ts";
import { BUNDLED_BUILTIN_PROVIDERS, BUNDLED_SETTINGS } from "./generated/bundled-settings.ts";
import type { ProfileSigner } from "./handlers/context.ts";
import type { Provider, SettingsFile } from "./providers/model.ts";
import { LayeredStore, MemoryStore, type SettingsStore } from "./providers/store.ts";
import { createProfileSigner, SigningConfigError } from "./signing/signer.ts";

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
}

/** A bundled settings file: its name as given at build time and its validated content. */
export interface BundledSettingsFile {
  source: string;
  settings: SettingsFile;
}

/**
 * The read-only store of bundled settings: each settings file (in the order given at build
 * time) → the built-in providers. Same order of precedence as `loadSettings` in src/node.ts.
 */
export function bundledStore(
  files: BundledSettingsFile[] = BUNDLED_SETTINGS,
  builtin: Provider[] = BUNDLED_BUILTIN_PROVIDERS,
): SettingsStore {
  const layers: SettingsStore[] = files.map(
    (file) =>
      new MemoryStore(
        file.settings.providers.map((provider) => ({ provider, source: file.source })),
        file.settings.aliases,
      ),
  );
  layers.push(new MemoryStore(builtin.map((provider) => ({ provider, source: "built-in" }))));
  return new LayeredStore(layers);
}

/** A configuration mistake in the Worker's bindings, named so an operator can fix it. */
export class WorkerConfigError extends Error {
  override readonly name = "WorkerConfigError";
}

/**
 * The public URL: `MAILCONF_PUBLIC_URL` if set, else the first bundled settings file's `publicUrl`;
 * trailing slashes removed.
 * @throws WorkerConfigError if neither is set or the value is not an absolute http(s) URL
 */
export function resolvePublicUrl(env: WorkerEnv, files: BundledSettingsFile[] = BUNDLED_SETTINGS): string {
  const fromEnv = env.MAILCONF_PUBLIC_URL?.trim();
  const value = fromEnv || files.find((f) => f.settings.publicUrl)?.settings.publicUrl;
  if (!value) {
    throw new WorkerConfigError(
      "MAILCONF_PUBLIC_URL is not set: add it to [vars] in wrangler.toml, e.g. https://autoconfig.example.org",
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    url = new URL("invalid:");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new WorkerConfigError(
      `MAILCONF_PUBLIC_URL: expected an absolute http(s) URL such as https://autoconfig.example.org, got ${JSON.stringify(value)}`,
    );
  }
  return url.href.replace(/\/+$/, "");
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
  let ready: ReturnType<typeof createProfileSigner> | undefined;
  const signer = () => {
    ready ??= (async () => {
      if (!cert || !key) {
        throw new SigningConfigError(
          cert
            ? "MAILCONF_SIGN_CERT needs its private key: set the secret MAILCONF_SIGN_KEY"
            : "MAILCONF_SIGN_KEY/MAILCONF_SIGN_CHAIN need the certificate: set the secret MAILCONF_SIGN_CERT",
        );
      }
      return createProfileSigner({
        certificatePem: cert,
        privateKeyPem: key,
        chainPem: chain || undefined,
        now,
        names: {
          certificate: "MAILCONF_SIGN_CERT",
          privateKey: "MAILCONF_SIGN_KEY",
          chain: "MAILCONF_SIGN_CHAIN",
        },
      });
    })();
    ready.catch((e: Error) =>
      console.error(`mailconf: cannot sign Apple profiles, serving them unsigned: ${e.message}`),
    );
    return ready;
  };
  return async (content) => (await signer()).sign(content);
}

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  /** Clock for profile signing (validity check and signingTime). Default: the current time. */
  now?: () => Date;
}

/**
 * The Worker's fetch handler. The default export is `createWorker()`; tests build one with a fixed
 * clock so a signed profile is byte-identical to the Node server's.
 */
export function createWorker(options: WorkerOptions = {}): ExportedHandler<WorkerEnv> & {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response>;
} {
  const store = bundledStore();
  // Bindings are fixed for an isolate's life: build the app once per bindings object.
  let current: { env: WorkerEnv; app: Hono } | undefined;
  const appFor = (env: WorkerEnv): Hono => {
    if (current?.env !== env) {
      const app = createApp({
        store,
        publicUrl: resolvePublicUrl(env),
        signProfile: workerSigner(env, options.now),
        log: (m) => console.error(m),
      });
      current = { env, app };
    }
    return current.app;
  };
  return {
    async fetch(request, env, ctx) {
      let app: Hono;
      try {
        app = appFor(env);
      } catch (e) {
        if (!(e instanceof WorkerConfigError)) throw e;
        console.error(`mailconf: ${e.message}`);
        return new Response(`mailconf is not configured: ${e.message}\n`, {
          status: 500,
          headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
        });
      }
      return app.fetch(request, env, ctx);
    },
  };
}

export default createWorker();
