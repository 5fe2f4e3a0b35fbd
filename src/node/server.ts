/**
 * Node.js entry: reads the settings sources (src/node/settings.ts: the SQLite file of published
 * settings, settings files, an ISPDB folder, the built-in providers), the admin token file and the
 * signing material from disk and the environment, hands them to the composition root
 * (src/compose.ts), and serves the app with @hono/node-server. Used by `mailconf serve` and by the end-to-end tests
 * (which start it on 127.0.0.1 with port 0).
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type RequestListener, type ServerOptions } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
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
import { type ProfileSigner as CmsSigner, SigningConfigError } from "../signing/signer.ts";
import { loadSettings, type SettingsSources } from "./settings.ts";

export { type LoadedSettings, loadSettings, type SettingsSources } from "./settings.ts";

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
  let publicUrl = choosePublicUrl({ value: options.publicUrl, name: "--public-url" }) ?? loaded.publicUrl;
  // publicUrl needs the port, which is only known after listening; the app reads it lazily.
  const { deps, report } = composeApp(loaded, {
    publicUrl: () => publicUrl ?? "",
    signProfile: options.signProfile,
    tokenHashes,
    log: options.log,
  });
  loaded.report.push(report);
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
      "Apple profiles are unsigned (no signing certificate configured; see --sign-cert in the README).",
    ];
  const c = signer.certificate;
  return [
    `Apple profiles are signed by ${c.subject} (${signer.keyAlgorithm}, issued by ${c.issuer}, ` +
      `valid until ${c.notAfter.toISOString()}, ${signer.chain.length} intermediate certificate(s)).`,
    ...signer.warnings.map((w) => `warning: profile signing: ${w}`),
  ];
}
