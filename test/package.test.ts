/**
 * The installable package (issue 12): `npm pack` of the dist/ that `npm test` builds first (packed
 * with --ignore-scripts, so dist/ is not rebuilt under the other tests that run bin/mailconf.js), then
 * `npm i -g --prefix <tmp> ./mailconf-<version>.tgz` with npm's cache first (`--prefer-offline`:
 * after `npm ci` the cache holds every dependency), and the installed `mailconf` run from a
 * directory outside the repository: --version, check, and serve answering autoconfig, Autodiscover
 * and a profile on 127.0.0.1. No tsx and no TypeScript may be installed or loaded at run time. The
 * README's links (docs/) and the example files its commands read are in the package.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outlookRequest } from "./e2e/cases.ts";
import { REPO_ROOT } from "./helpers/shared.ts";

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
};
const work = mkdtempSync(join(tmpdir(), "mailconf-package-"));
const prefix = join(work, "prefix");
const home = join(work, "somewhere-else");
const installed = join(prefix, "lib/node_modules", pkg.name);
const mailconf = join(prefix, "bin/mailconf");

/** The environment of a user's shell: no npm lifecycle variables of the `npm test` running us, no NODE_OPTIONS. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^npm_/i.test(k) && k !== "NODE_OPTIONS" && !k.startsWith("VITEST")) env[k] = v;
  return { ...env, PATH: `${join(prefix, "bin")}:${env.PATH ?? ""}` };
}

function run(command: string, args: string[], cwd: string) {
  const r = spawnSync(command, args, { cwd, env: userEnv(), encoding: "utf8", timeout: 240_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let server: ChildProcess | undefined;

beforeAll(() => {
  // Run alone (`npx vitest run test/package.test.ts`) on a checkout never built: build once.
  if (!existsSync(join(REPO_ROOT, "dist/cli/main.js")))
    expect(run("npm", ["run", "build"], REPO_ROOT).status).toBe(0);
  const packed = run("npm", ["pack", "--ignore-scripts", "--pack-destination", work], REPO_ROOT);
  expect(packed.stderr + packed.stdout).toContain(`${pkg.name}-${pkg.version}.tgz`);
  expect(packed.status).toBe(0);
  const tarball = join(work, `${pkg.name}-${pkg.version}.tgz`);
  const install = run(
    "npm",
    ["i", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball],
    work,
  );
  expect(install.stderr).not.toMatch(/ERR!/);
  expect(install.status).toBe(0);
  mkdirSync(home, { recursive: true });
}, 600_000);

afterAll(() => {
  server?.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

describe("the packed package, installed globally", () => {
  it("holds compiled JavaScript only, and installs neither tsx nor TypeScript", () => {
    const files = readdirSync(installed, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(installed.length + 1))
      .filter((f) => !f.startsWith("node_modules/"));
    expect(files).toContain("dist/cli/main.js");
    // One bundle (scripts/build.ts): main.js and the chunks it imports, JavaScript only.
    const dist = files.filter((f) => f.startsWith("dist/"));
    expect(dist.filter((f) => !/^dist\/cli\/[\w-]+\.js$/.test(f))).toEqual([]);
    // The built-in providers, the SQL migrations and the templates travel inside it.
    const bundled = dist.map((f) => readFileSync(join(installed, f), "utf8")).join("\n");
    for (const inside of ["imap.gmail.com", "CREATE TABLE", "com.apple.mail.managed", "<clientConfig"])
      expect(bundled, inside).toContain(inside);
    expect(files.filter((f) => f.endsWith(".ts"))).toEqual([]);
    // What the README points at is inside: its links (docs/*.md) and the files its commands read.
    const readme = readFileSync(join(installed, "README.md"), "utf8");
    const linked = [...readme.matchAll(/\]\(([^)#:]+)(?:#[^)]*)?\)/g)].map((m) => m[1] as string);
    const read = [...readme.matchAll(/@?(examples\/[\w.-]+\.\w+)/g)].map((m) => m[1] as string);
    expect(linked).toContain("docs/install.md");
    expect(read).toEqual(
      expect.arrayContaining(["examples/settings.yaml", "examples/autodiscover-request.xml"]),
    );
    expect([...new Set([...linked, ...read])].filter((f) => !files.includes(f))).toEqual([]);
    // The docs' links to each other resolve inside the package too.
    for (const doc of files.filter((f) => /^docs\/[\w-]+\.md$/.test(f)))
      for (const m of readFileSync(join(installed, doc), "utf8").matchAll(/\]\(([\w-]+\.md)(?:#[^)]*)?\)/g))
        expect(files, `${doc} links to docs/${m[1]}`).toContain(`docs/${m[1]}`);
    expect(files.some((f) => f.startsWith("src/") || f.startsWith("test/"))).toBe(false);
    for (const dev of ["tsx", "typescript", "esbuild", "vitest", "wrangler"])
      expect(existsSync(join(installed, "node_modules", dev)), dev).toBe(false);
  });

  it("mailconf --version prints the package version", () => {
    expect(run(mailconf, ["--version"], home)).toMatchObject({ status: 0, stdout: `${pkg.version}\n` });
  });

  it("mailconf check jane@example.com reports the built-in example.com settings", () => {
    const r = run(mailconf, ["check", "jane@example.com", "--no-mx"], home);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("jane@example.com: Example Company Mail (provider example.com)");
    expect(r.stdout).toContain("incoming IMAP mail.example.com:993  SSL/TLS  login jane@example.com");
  });

  it("mailconf serve answers autoconfig, Autodiscover and a profile on 127.0.0.1", async () => {
    const child = spawn(mailconf, ["serve", "--port", "0", "--no-mx", "--db", join(home, "mailconf.db")], {
      cwd: home,
      env: userEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    server = child;
    let output = "";
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${output}`)), 60_000);
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        const m = /mailconf listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout.on("data", read);
      child.stderr.on("data", read);
      child.once("exit", (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    const autoconfig = await fetch(`${base}/mail/config-v1.1.xml?emailaddress=jane@example.com`);
    expect(autoconfig.status).toBe(200);
    expect(autoconfig.headers.get("content-type")).toMatch(/xml/);
    expect(await autoconfig.text()).toContain("<hostname>mail.example.com</hostname>");
    const autodiscover = await fetch(`${base}/autodiscover/autodiscover.xml`, {
      method: "POST",
      headers: { "Content-Type": "text/xml" },
      body: outlookRequest("jane@example.com"),
    });
    expect(autodiscover.status).toBe(200);
    const pox = await autodiscover.text();
    expect(pox).toContain("<Type>IMAP</Type>");
    expect(pox).toContain("<Server>mail.example.com</Server>");
    const profile = await fetch(`${base}/mobileconfig?email=jane@example.com`);
    expect(profile.status).toBe(200);
    expect(profile.headers.get("content-type")).toBe("application/x-apple-aspen-config");
    const plist = await profile.text();
    expect(plist).toContain("<string>com.apple.mail.managed</string>");
    expect(plist).toContain("<string>mail.example.com</string>");
    child.kill("SIGTERM");
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    server = undefined;
  });
});
