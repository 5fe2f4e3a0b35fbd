/**
 * Building the Worker: settings files are validated at build time (a mistake fails
 * `wrangler deploy`/`wrangler dev` with `file:line: field.path: rule`), and the bundle-size check
 * reads wrangler's own size line.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readBundledSettings, renderBundledSettingsModule } from "../scripts/bundle-settings.ts";
import { judgeBundle, MAX_GZIP_KIB, parseUploadSize, WRANGLER_OFFLINE_ENV } from "../scripts/check-bundle.ts";
import { BUNDLED_BUILTIN_PROVIDERS, BUNDLED_SETTINGS } from "../src/generated/bundled-settings.ts";
import { loadSettingsFile } from "../src/node/config-files.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { REPO_ROOT } from "./helpers/shared.ts";

const example = readFileSync(join(REPO_ROOT, "examples/settings.yaml"), "utf8");
const scratch = mkdtempSync(join(tmpdir(), "mailconf-build-"));
const BAD_PORT = example.replace("port: 587", 'port: "58x"');
const BAD_LINE = example.split("\n").findIndex((l) => l.includes("port: 587")) + 1;

function write(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

const WRANGLER_ENV = { ...process.env, ...WRANGLER_OFFLINE_ENV };

describe("settings bundled at build time (scripts/bundle-settings.ts)", () => {
  it("the generated module holds wrangler.toml's settings files and the built-in providers as Node loads them", async () => {
    const toml = readFileSync(join(REPO_ROOT, "wrangler.toml"), "utf8");
    const command = /^command = "(.*)"$/m.exec(toml)?.[1] ?? "";
    const files = command.split(" ").filter((w) => /\.(ya?ml|json)$/.test(w));
    expect(files).toEqual(["examples/settings.yaml"]);
    expect(BUNDLED_SETTINGS.map((f) => f.source)).toEqual(files);
    // JSON round trip: what the Worker imports equals what `mailconf serve --config` validates.
    expect(BUNDLED_SETTINGS[0]?.settings).toEqual(
      JSON.parse(JSON.stringify(await loadSettingsFile(join(REPO_ROOT, "examples/settings.yaml")))),
    );
    expect(BUNDLED_BUILTIN_PROVIDERS).toEqual(JSON.parse(JSON.stringify(BUILTIN_PROVIDERS)));
    expect(BUNDLED_BUILTIN_PROVIDERS.map((p) => p.id)).toContain("googlemail.com");
  });

  it("refuses a file with a mistake: exit 1, file:line: field.path: rule, nothing written", () => {
    const bad = write("bad.yaml", BAD_PORT);
    const out = join(scratch, "not-written.ts");
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "scripts/bundle-settings.ts", "--out", out, "examples/settings.yaml", bad],
      { cwd: REPO_ROOT, encoding: "utf8", timeout: 30_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `${bad}:${BAD_LINE}: providers[0].outgoing[0].port: expected an integer 1-65535, got "58x"`,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("reports every problem of every file, and a missing file by name", async () => {
    const bad = write("two.yaml", BAD_PORT.replace("socketType: SSL", "socketType: ssl"));
    await expect(readBundledSettings([bad, join(scratch, "missing.yaml")])).rejects.toMatchObject({
      problems: [
        expect.stringMatching(
          /two\.yaml:\d+: providers\[0\]\.incoming\[0\]\.socketType: expected one of SSL/,
        ),
        expect.stringContaining("providers[0].outgoing[0].port"),
        expect.stringMatching(/missing\.yaml: cannot read the file \(ENOENT\)/),
      ],
    });
  });

  it("wrangler deploy --dry-run fails on that file with the same message", () => {
    const bad = write("bad-for-wrangler.yaml", BAD_PORT);
    const generated = join(scratch, "generated.ts");
    const config = write(
      "wrangler.toml",
      [
        'name = "mailconf-build-test"',
        `main = "${join(REPO_ROOT, "src/worker/index.ts")}"`,
        'compatibility_date = "2026-04-01"',
        "[build]",
        `command = "node --import tsx ${join(REPO_ROOT, "scripts/bundle-settings.ts")} --out ${generated} ${bad}"`,
        "",
      ].join("\n"),
    );
    const r = spawnSync(
      join(REPO_ROOT, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--config", config, "--outdir", join(scratch, "dist")],
      { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000, env: WRANGLER_ENV },
    );
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain(
      `${bad}:${BAD_LINE}: providers[0].outgoing[0].port: expected an integer 1-65535, got "58x"`,
    );
    expect(`${r.stdout}${r.stderr}`).not.toContain("Total Upload");
  });

  it("the generated module is plain data typed by the settings model", () => {
    const text = renderBundledSettingsModule(
      [{ source: "a.yaml", settings: { providers: [], aliases: {}, assignedDomains: {} } }],
      [],
    );
    expect(text).toContain('import type { Provider, SettingsFile } from "../providers/model.ts";');
    expect(text).toContain("export const BUNDLED_BUILTIN_PROVIDERS: Provider[] = [];");
    expect(text).toContain('"source": "a.yaml"');
  });
});

describe("bundle-size check (scripts/check-bundle.ts)", () => {
  it("reads wrangler's size line, colours and all", () => {
    const line = "Total Upload: \x1b[32m217.27 KiB / gzip: 70.41 KiB\x1b[39m\n";
    expect(parseUploadSize(`[custom build] ok\n${line}--dry-run: exiting now.`)).toEqual({
      totalKiB: 217.27,
      gzipKiB: 70.41,
    });
    expect(parseUploadSize("--dry-run: exiting now.")).toBeUndefined();
  });

  it(`passes at or under ${MAX_GZIP_KIB} KiB gzip, fails over it or without the line`, () => {
    expect(judgeBundle(`Total Upload: 400.00 KiB / gzip: ${MAX_GZIP_KIB}.00 KiB`).ok).toBe(true);
    const over = judgeBundle(`Total Upload: 400.00 KiB / gzip: ${MAX_GZIP_KIB}.01 KiB`);
    expect(over).toEqual({
      ok: false,
      message: `check-bundle: Worker bundle 400 KiB, gzip ${MAX_GZIP_KIB}.01 KiB: OVER the ${MAX_GZIP_KIB} KiB budget`,
    });
    expect(judgeBundle("Your Worker has access to the following bindings").ok).toBe(false);
    expect(judgeBundle("Total Upload: 50.00 KiB / gzip: 20.00 KiB", 10).ok).toBe(false);
  });
});
