/**
 * Serving Apple profiles on the real Node server (127.0.0.1, free port): signed downloads, the
 * headers devices need (reference/mobileconfig.md §8), the 400/404 pages, and `mailconf serve`
 * with signing options.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadProfileSigner, type RunningServer } from "../src/node/server.ts";
import { accountSettings } from "../src/providers/account.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { parseEmailAddress } from "../src/providers/domain.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { renderMobileconfig } from "../src/templates/mobileconfig.ts";
import { expectValidProfile } from "./helpers/checks/expect.ts";
import { cmsVerify, makeChain, openssl, type TestChain } from "./helpers/pki.ts";
import { fetchBounded, startTestServer } from "./helpers/server.ts";
import { REPO_ROOT, tempFile } from "./helpers/shared.ts";

let chain: TestChain;
let signed: RunningServer;
let unsigned: RunningServer;
const logs: string[] = [];
beforeAll(async () => {
  chain = makeChain("rsa");
  const signer = await loadProfileSigner({
    cert: chain.leafPath,
    key: chain.leafKeyPath,
    chain: chain.intermediatePath,
  });
  signed = await startTestServer({ signProfile: signer?.sign });
  unsigned = await startTestServer({
    signProfile: async () => {
      throw new Error("key store unavailable");
    },
    log: (m) => logs.push(m),
  });
});
afterAll(async () => {
  await signed.close();
  await unsigned.close();
});

async function expectedProfile(input: string): Promise<Buffer> {
  const store = new MemoryStore(BUILTIN_PROVIDERS.map((provider) => ({ provider, source: "built-in" })));
  const address = parseEmailAddress(input);
  const resolution = address && (await store.resolve(address.domain));
  if (!address || !resolution) throw new Error(input);
  return Buffer.from(await renderMobileconfig(accountSettings(resolution, address)), "utf8");
}

describe("signed profile download", () => {
  it("is DER CMS with the profile inside, verifiable to the root, with the download headers", async () => {
    const res = await fetchBounded(`${signed.url}/mobileconfig?email=jane.doe%40example.com`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-apple-aspen-config");
    expect(res.headers.get("content-disposition")).toBe(
      'attachment; filename="jane.doe-at-example.com.mobileconfig"',
    );
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = new Uint8Array(await res.arrayBuffer());
    expect(body[0]).toBe(0x30);
    const v = cmsVerify(body, chain.rootPath);
    expect(v.ok, v.output).toBe(true);
    expect(v.content.equals(await expectedProfile("jane.doe@example.com"))).toBe(true);
    expectValidProfile(body);
    // Leaf and intermediate travel with the profile; iOS shows the leaf's common name.
    const certs = openssl([
      "pkcs7",
      "-inform",
      "DER",
      "-print_certs",
      "-noout",
      "-in",
      tempFile("s.der", body),
    ]);
    expect(certs).toContain("subject=CN = autoconfig.test.example");
    expect(certs).toContain("subject=O = mailconf tests, CN = Test Intermediate CA");
  });

  it("a signing fault at request time serves the unsigned profile and logs it (never a 5xx)", async () => {
    const res = await fetchBounded(`${unsigned.url}/mobileconfig?email=jane.doe@example.com`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(await expectedProfile("jane.doe@example.com"))).toBe(
      true,
    );
    expect(logs).toContain("profile signing failed, served unsigned: key store unavailable");
  });
});

describe("a profile link that cannot be answered", () => {
  it("400 in plain text naming the email parameter, for scripts", async () => {
    const missing = await fetchBounded(`${signed.url}/mobileconfig`);
    expect(missing.status).toBe(400);
    expect(missing.headers.get("content-type")).toBe("text/plain; charset=UTF-8");
    expect(await missing.text()).toBe(
      "The email parameter is missing: open /mobileconfig?email=you@example.com with your own address.\n",
    );
    const bad = await fetchBounded(`${signed.url}/email.mobileconfig?email=nope`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe(
      'The email parameter "nope" is not an e-mail address; expected something like you@example.com.\n',
    );
  });

  it("400 as a small HTML page with an address form, for people in a browser; the value is escaped", async () => {
    const res = await fetchBounded(`${signed.url}/mobileconfig?email=%3Cscript%3Ex`, {
      headers: { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain(
      "<p>The email parameter &quot;&lt;script&gt;x&quot; is not an e-mail address; expected something like you@example.com.</p>",
    );
    expect(html).toContain('<form class="card" method="get" action="/mobileconfig">');
    expect(html).toContain('<input id="email" name="email" type="email"');
    expect(html).not.toContain("<script");
  });

  it("404 for a domain without settings", async () => {
    const res = await fetchBounded(`${signed.url}/mobileconfig?email=a@unknown-domain.test`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(
      "There are no settings for unknown-domain.test on this server, so no profile can be made for it.\n",
    );
  });
});

describe("mailconf serve", () => {
  /** Starts the CLI, collects output until it listens (or exits), then stops the process it started. */
  function serve(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "src/cli/main.ts", "serve", "--port", "0", ...args],
        {
          cwd: REPO_ROOT,
          env: { ...process.env, ...env },
        },
      );
      let out = "";
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes("mailconf listening")) child.kill("SIGTERM");
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
  }

  it("says once at start whether profiles are signed, reading PEM text from the environment", async () => {
    const plain = await serve([]);
    expect(plain.out.match(/Apple profiles are unsigned/g)).toHaveLength(1);
    const withEnv = await serve([], {
      MAILCONF_SIGN_CERT: chain.leaf,
      MAILCONF_SIGN_KEY: chain.leafKey,
      MAILCONF_SIGN_CHAIN: chain.intermediate,
    });
    expect(withEnv.out).toContain("Apple profiles are signed by CN=autoconfig.test.example (RSA 2048");
    expect(withEnv.out).not.toContain("unsigned");
  });

  it("does not start with a key that does not match the certificate (exit 2, a clear message)", async () => {
    const r = await serve(["--sign-cert", chain.leafPath, "--sign-key", join(chain.dir, "int.key")]);
    expect(r.code).toBe(2);
    expect(r.out).toContain(
      `mailconf: cannot sign Apple profiles, not starting: ${join(chain.dir, "int.key")} does not belong to ${chain.leafPath} (CN=autoconfig.test.example)`,
    );
    expect(r.out).not.toContain("listening");
  });
});
