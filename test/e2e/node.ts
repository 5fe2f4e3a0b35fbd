/**
 * Node side of the shared end-to-end suite: reading its input files from disk, an HTTP target
 * (node:http, so the Host header can be set), the Node servers started with the same settings
 * files as the Worker bundle, and the profile-signing material of a run.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BUNDLED_SETTINGS } from "../../src/generated/bundled-settings.ts";
import { loadProfileSigner, type RunningServer } from "../../src/node/server.ts";
import { makeChain, type TestChain } from "../helpers/pki.ts";
import { startTestServer } from "../helpers/server.ts";
import { FIXTURE_AUTODISCOVER_DIR, REPO_ROOT } from "../helpers/shared.ts";
import type { E2EFiles } from "./cases.ts";
import type { E2ESigning } from "./files.ts";
import {
  appHeaders,
  E2E_ADMIN_TOKEN,
  E2E_PUBLIC_URL,
  type E2EAnswer,
  type E2ETarget,
  type E2ETargets,
} from "./http.ts";

function readTree(dir: string, root = dir): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(out, readTree(path, root));
    else out[relative(root, path)] = new Uint8Array(readFileSync(path));
  }
  return out;
}

/** The in-repo Autodiscover fixtures and the golden files. */
export function readE2EFiles(): E2EFiles {
  return {
    autodiscover: readTree(FIXTURE_AUTODISCOVER_DIR),
    golden: readTree(join(REPO_ROOT, "test/golden")),
  };
}

/**
 * The real Node server on 127.0.0.1 as the Worker is configured in the tests: the settings files
 * the Worker bundles (wrangler.toml), the same public URL, a fresh SQLite database of published
 * settings with the admin API on ({@link E2E_ADMIN_TOKEN}), no resolution by MX.
 */
export function startE2EServer(
  signProfile?: (content: Uint8Array) => Promise<Uint8Array>,
): Promise<RunningServer> {
  return startTestServer({
    configFiles: BUNDLED_SETTINGS.map((f) => f.source),
    publicUrl: E2E_PUBLIC_URL,
    db: join(mkdtempSync(join(tmpdir(), "mailconf-e2e-")), "published.db"),
    adminTokens: E2E_ADMIN_TOKEN,
    signProfile,
  });
}

/**
 * A throwaway RSA chain (openssl: root → intermediate → leaf) and a fixed signing time one minute
 * after it was made, whole seconds: RSA PKCS#1 v1.5 signatures are deterministic, so every runtime
 * signing with these produces the same bytes.
 */
export function makeE2ESigning(): { signing: E2ESigning; chain: TestChain } {
  const chain = makeChain("rsa");
  const time = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000).toISOString();
  return {
    chain,
    signing: { certificatePem: chain.leaf, privateKeyPem: chain.leafKey, chainPem: chain.intermediate, time },
  };
}

/** The Node servers of a run: plain, and signing profiles with `signing` at its fixed time. */
export async function startE2EServers(
  signing: E2ESigning,
): Promise<{ plain: RunningServer; signed: RunningServer; targets: E2ETargets; close(): Promise<void> }> {
  const signer = await loadProfileSigner(
    { cert: signing.certificatePem, key: signing.privateKeyPem, chain: signing.chainPem },
    () => new Date(signing.time),
  );
  const [plain, signed] = await Promise.all([startE2EServer(), startE2EServer(signer?.sign)]);
  return {
    plain,
    signed,
    targets: { plain: httpTarget(plain.url), signed: httpTarget(signed.url) },
    close: async () => {
      await Promise.all([plain.close(), signed.close()]);
    },
  };
}

/** Sends cases over HTTP to `baseUrl` with node:http (5-second bound per request). */
export function httpTarget(baseUrl: string): E2ETarget {
  return (req) =>
    new Promise<E2EAnswer>((resolve, reject) => {
      const r = httpRequest(
        new URL(req.path, baseUrl),
        { method: req.method, headers: req.headers, timeout: 5000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const headers: [string, string][] = [];
            for (let i = 0; i < res.rawHeaders.length; i += 2) {
              headers.push([res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string]);
            }
            resolve({
              status: res.statusCode ?? 0,
              headers: appHeaders(headers),
              body: new Uint8Array(Buffer.concat(chunks)),
            });
          });
          res.on("error", reject);
        },
      );
      r.on("timeout", () => r.destroy(new Error(`timeout: ${req.method} ${req.path}`)));
      r.on("error", reject);
      r.end(req.body);
    });
}
