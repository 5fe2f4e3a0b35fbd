/**
 * Cloudflare Workers entry (wrangler.toml `main`): the same app as the Node server (src/app.ts),
 * with the settings bundled at build time.
 *
 * Settings, first wins for a domain (as on Node): the settings files named in wrangler.toml's
 * `[build] command` (validated and bundled by scripts/bundle-settings.ts into
 * src/generated/bundled-settings.ts) → the built-in providers.
 *
 * Bindings (see README "Cloudflare Workers"):
 * - `MAILCONF_PUBLIC_URL` (`[vars]`): the absolute http(s) URL clients reach the Worker at; used for
 *   every absolute URL in answers. Unset → the first bundled settings file's `publicUrl`.
 *
 * Web APIs only, like everything under handlers/, providers/ and templates/.
 */
import type { Hono } from "hono";
import { createApp } from "./app.ts";
import { BUNDLED_SETTINGS } from "./generated/bundled-settings.ts";
import { BUILTIN_PROVIDERS } from "./providers/builtin.ts";
import type { SettingsFile } from "./providers/model.ts";
import { LayeredStore, MemoryStore, type SettingsStore } from "./providers/store.ts";

/** The Worker's bindings (wrangler.toml `[vars]`, secrets). */
export interface WorkerEnv {
  /** Absolute http(s) URL clients reach the Worker at, e.g. `https://autoconfig.example.org`. */
  MAILCONF_PUBLIC_URL?: string;
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
export function bundledStore(files: BundledSettingsFile[] = BUNDLED_SETTINGS): SettingsStore {
  const layers: SettingsStore[] = files.map(
    (file) =>
      new MemoryStore(
        file.settings.providers.map((provider) => ({ provider, source: file.source })),
        file.settings.aliases,
      ),
  );
  layers.push(new MemoryStore(BUILTIN_PROVIDERS.map((provider) => ({ provider, source: "built-in" }))));
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

const store = bundledStore();
let current: { env: WorkerEnv; app: Hono } | undefined;

/** The app for these bindings; built once per isolate (bindings are fixed for an isolate's life). */
function appFor(env: WorkerEnv): Hono {
  if (current?.env !== env) {
    current = {
      env,
      app: createApp({ store, publicUrl: resolvePublicUrl(env), log: (m) => console.error(m) }),
    };
  }
  return current.app;
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
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
} satisfies ExportedHandler<WorkerEnv>;
