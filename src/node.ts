/**
 * Node.js entry: builds the settings store from built-in providers, settings files and an ISPDB
 * folder, and serves the app with @hono/node-server. Used by `mailconf serve` and by the
 * end-to-end tests (which start it on 127.0.0.1 with port 0).
 */
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createApp } from "./app.ts";
import { ConfigError, loadIspdb, loadSettingsFile } from "./config-files.ts";
import type { ProfileSigner } from "./handlers/context.ts";
import { BUILTIN_PROVIDERS } from "./providers/builtin.ts";
import { LayeredStore, MemoryStore, type SettingsStore } from "./providers/store.ts";
import {
  type ProfileSigner as CmsSigner,
  createProfileSigner,
  SigningConfigError,
} from "./signing/signer.ts";

/** What `mailconf serve` and `mailconf check` read settings from. */
export interface SettingsSources {
  /** Settings files (YAML or JSON), highest precedence first. */
  configFiles?: string[];
  /** An ISPDB folder (or one clientConfig file). */
  ispdb?: string;
  /** Serve the built-in providers (default true). */
  builtin?: boolean;
}

/** The loaded store plus what an operator should be told about it. */
export interface LoadedSettings {
  store: SettingsStore;
  /** `publicUrl` from the first settings file that sets one. */
  publicUrl?: string;
  /** Human-readable lines: what was loaded, files skipped and why. */
  report: string[];
}

/**
 * Loads every settings source into one store. Order of precedence (first wins for a domain):
 * settings files in the order given → ISPDB folder → built-in providers.
 * @throws ConfigError if a settings file is missing or invalid (ISPDB files with errors are skipped instead)
 */
export async function loadSettings(sources: SettingsSources): Promise<LoadedSettings> {
  const layers: SettingsStore[] = [];
  const report: string[] = [];
  let publicUrl: string | undefined;
  const problems: string[] = [];
  for (const file of sources.configFiles ?? []) {
    try {
      const settings = await loadSettingsFile(file);
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
  return { store: new LayeredStore(layers), publicUrl, report };
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
  log?: (message: string) => void;
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
 * Loads settings and starts listening.
 * @throws ConfigError for invalid settings (nothing is started); a listen error (EADDRINUSE …) rejects
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const loaded = await loadSettings(options);
  let publicUrl = options.publicUrl ?? loaded.publicUrl;
  // publicUrl needs the port, which is only known after listening; the app reads it lazily.
  const deps = {
    store: loaded.store,
    get publicUrl() {
      return publicUrl ?? "";
    },
    signProfile: options.signProfile,
    log: options.log,
  };
  const app = createApp(deps);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () => resolve(s));
    s.once("error", reject);
  });
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
        server.close(() => resolve());
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
