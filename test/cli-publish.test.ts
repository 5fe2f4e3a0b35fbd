/**
 * The publishing commands (`mailconf providers|domains|import-ispdb|hash-token`) on a temporary
 * SQLite file: run in-process through the real commander program (fast), plus one real process.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { tokenHashLine } from "../src/handlers/admin-auth.ts";
import { loadIspdb, parseSettingsText } from "../src/node/config-files.ts";
import { loadSettings } from "../src/node/server.ts";
import { cli } from "./helpers/cli.ts";
import { describeShared } from "./helpers/external.ts";
import { FIXTURE_ISPDB_DIR, ISPDB_DIR, REPO_ROOT } from "./helpers/shared.ts";

const dir = mkdtempSync(join(tmpdir(), "mailconf-cli-"));
const EXAMPLE = join(REPO_ROOT, "examples/settings.yaml");

afterEach(() => {
  process.exitCode = undefined;
});

describe("mailconf providers / domains", () => {
  const db = join(dir, "providers.db");

  it("adds a settings file, lists it, and exports a settings file that validates and round-trips", async () => {
    expect(await cli("providers", "add", EXAMPLE, "--db", db)).toMatchObject({
      out: "created: example.org\naliases: 1",
      code: 0,
    });
    const list = await cli("providers", "list", "--db", db);
    expect(list.out).toMatch(/^example\.org\tExample Org Mail\texample\.org, example\.net\t\d{4}-\d\d-\d\dT/);
    const exported = await cli("providers", "export", "--db", db);
    const file = join(dir, "exported.yaml");
    writeFileSync(file, exported.out);
    const original = parseSettingsText(readFileSync(EXAMPLE, "utf8"), EXAMPLE);
    const again = parseSettingsText(exported.out, file);
    expect(again.providers).toEqual(original.providers);
    expect(again.aliases).toEqual(original.aliases);
    expect(await cli("validate", file)).toMatchObject({ out: `${file}: ok, 1 provider(s)`, code: 0 });
    // Adding it again replaces.
    expect((await cli("providers", "add", EXAMPLE, "--db", db)).out).toBe(
      "replaced: example.org\naliases: 1",
    );
  });

  it("assigns, aliases, lists and removes domains; refusals exit 1 and change nothing", async () => {
    expect((await cli("domains", "add", "Acme-Corp.ORG", "googlemail.com", "--db", db)).out).toBe(
      "added acme-corp.org: provider googlemail.com",
    );
    expect((await cli("domains", "add", "old-corp.org", "--alias-of", "example.org", "--db", db)).out).toBe(
      "added old-corp.org: alias of example.org",
    );
    const listed = JSON.parse((await cli("domains", "list", "--json", "--db", db)).out) as {
      domain: string;
      origin: string;
    }[];
    expect(listed.map((d) => [d.domain, d.origin])).toEqual([
      ["acme-corp.org", "assigned"],
      ["example-old.org", "assigned"],
      ["example.net", "provider"],
      ["example.org", "provider"],
      ["old-corp.org", "assigned"],
    ]);
    const unknown = await cli("domains", "add", "x-corp.org", "nobody.example", "--db", db);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toBe(
      "provider: no provider nobody.example (published, in a settings file, the ISPDB folder or built in)\n" +
        "hint: a provider defined in a settings file is known only with --config <file> (as for mailconf serve)",
    );
    const own = await cli("domains", "remove", "example.org", "--db", db);
    expect(own.code).toBe(1);
    // The CLI names its own way to do it, not the admin API's HTTP call.
    expect(own.err).toBe(
      "domain: example.org is listed in provider example.org's domains; publish example.org again without it: mailconf providers add example.org.yaml, with a settings file whose domains leave example.org out",
    );
    expect(await cli("domains", "remove", "acme-corp.org", "--db", db)).toMatchObject({
      out: "removed acme-corp.org",
      code: 0,
    });
    // The export carries what a settings file can: the provider, and the aliases.
    const doc = parse((await cli("providers", "export", "--db", db)).out);
    expect(doc.aliases).toEqual({ "example-old.org": "example.org", "old-corp.org": "example.org" });
    const after = JSON.parse((await cli("domains", "list", "--json", "--db", db)).out) as unknown[];
    expect(after).toHaveLength(4);
  });

  it("domains add --provider of a settings file's provider needs --config, and says so without it", async () => {
    const fresh = join(dir, "config-hint.db");
    const without = await cli(
      "domains",
      "add",
      "--provider",
      "example.org",
      "customer-1.test",
      "--db",
      fresh,
    );
    expect(without).toMatchObject({
      code: 1,
      err:
        "provider: no provider example.org (published, in a settings file, the ISPDB folder or built in)\n" +
        "hint: a provider defined in a settings file is known only with --config <file> (as for mailconf serve)",
    });
    const args = ["domains", "add", "--provider", "example.org", "--config", EXAMPLE, "--db", fresh];
    expect(await cli(...args, "customer-1.test", "customer-2.test")).toMatchObject({
      code: 0,
      out: "provider example.org: 2 added, 0 updated, 0 already in its own domains",
    });
    // Given --config, an id in none of the sources is only refused: the hint would mislead.
    const unknown = await cli(
      "domains",
      "add",
      "--provider",
      "nobody.example",
      "--config",
      EXAMPLE,
      "--db",
      fresh,
      "x.test",
    );
    expect(unknown).toMatchObject({
      code: 1,
      err: "provider: no provider nobody.example (published, in a settings file, the ISPDB folder or built in)",
    });
  });

  it("a settings file with a mistake is refused with file:line and publishes nothing", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, readFileSync(EXAMPLE, "utf8").replace("port: 587", 'port: "58x"'));
    const result = await cli("providers", "add", bad, "--db", join(dir, "untouched.db"));
    expect(result.code).toBe(2);
    expect(result.err).toBe(
      `${bad}:18: providers[0].outgoing[0].port: expected an integer 1-65535, got "58x"`,
    );
    const loaded = await loadSettings({ db: join(dir, "untouched.db") });
    expect(await loaded.sql?.providers()).toEqual([]);
    loaded.close();
  });

  it("removes a provider with its own domains; aliases pointing at them are refused unless --cascade", async () => {
    await cli("domains", "remove", "old-corp.org", "--db", db);
    const refused = await cli("providers", "remove", "example.org", "--db", db);
    expect(refused.code).toBe(1);
    expect(refused.err).toBe(
      "id: domains still point at example.org: example-old.org (alias of example.org); delete or reassign them first, or delete with cascade (?cascade=true, mailconf providers remove --cascade) to delete them too",
    );
    expect(JSON.parse((await cli("domains", "list", "--json", "--db", db)).out)).toHaveLength(3);
    expect((await cli("providers", "remove", "example.org", "--cascade", "--db", db)).out).toBe(
      "removed example.org",
    );
    // The alias went with it: nothing is left dangling.
    expect(JSON.parse((await cli("domains", "list", "--json", "--db", db)).out)).toEqual([]);
  });
});

describe("mailconf domains add --provider (bulk, one transaction)", () => {
  const db = join(dir, "bulk.db");
  const domainsOf = async () =>
    (JSON.parse((await cli("domains", "list", "--json", "--db", db)).out) as { domain: string }[]).map(
      (d) => d.domain,
    );

  it("adds the domains of the arguments and a file (comments, blank lines, repeats) to one provider", async () => {
    expect((await cli("providers", "add", EXAMPLE, "--db", db)).code).toBe(0);
    const file = join(dir, "bulk-domains.txt");
    writeFileSync(
      file,
      "# customers\nShop-A.test\n\n*.shop-b.test   # every subdomain\nshop-c.test\r\nshop-a.test\n",
    );
    expect(
      await cli(
        "domains",
        "add",
        "--provider",
        "googlemail.com",
        "arg.test",
        "--from-file",
        file,
        "--db",
        db,
      ),
    ).toMatchObject({
      out: "provider googlemail.com: 4 added, 0 updated, 0 already in its own domains",
      code: 0,
    });
    expect(await domainsOf()).toEqual(
      expect.arrayContaining(["arg.test", "shop-a.test", "*.shop-b.test", "shop-c.test"]),
    );
    // Again, plus a domain the provider lists itself: updated and unchanged, nothing new.
    expect(
      await cli("domains", "add", "--provider", "example.org", "arg.test", "example.net", "--db", db),
    ).toMatchObject({
      out: "provider example.org: 0 added, 1 updated, 1 already in its own domains",
      code: 0,
    });
  });

  it("refuses the whole list, naming each bad entry, and changes nothing", async () => {
    const before = await domainsOf();
    const bad = await cli(
      "domains",
      "add",
      "--provider",
      "googlemail.com",
      "new-1.test",
      "not a domain",
      "new-2.test",
      "--db",
      db,
    );
    expect(bad).toMatchObject({
      code: 1,
      err: 'domains[1]: expected a domain name (or *.domain), got "not a domain"',
    });
    const listed = await cli(
      "domains",
      "add",
      "--provider",
      "googlemail.com",
      "new-1.test",
      "example.net",
      "--db",
      db,
    );
    expect(listed).toMatchObject({
      code: 1,
      err: "domains[1]: example.net is listed in provider example.org's domains; change that provider instead",
    });
    const unknown = await cli("domains", "add", "--provider", "nobody.example", "new-1.test", "--db", db);
    expect(unknown.code).toBe(1);
    expect(await domainsOf()).toEqual(before);
  });

  it("bad usage exits 2; the two-argument form still works", async () => {
    expect((await cli("domains", "add", "lonely.test", "--db", db)).code).toBe(2);
    expect((await cli("domains", "add", "--from-file", "x.txt", "--db", db)).code).toBe(2);
    expect((await cli("domains", "add", "--provider", "googlemail.com", "--db", db)).code).toBe(2);
    expect((await cli("domains", "add", "a.test", "b.test", "c.test", "--db", db)).code).toBe(2);
    expect(
      (await cli("domains", "add", "--from-file", join(dir, "missing.txt"), "--provider", "x", "--db", db))
        .code,
    ).toBe(2);
    expect((await cli("domains", "add", "pair.test", "googlemail.com", "--db", db)).out).toBe(
      "added pair.test: provider googlemail.com",
    );
  });

  it("1,000 domains from standard input in one run (real process)", () => {
    const thousand = Array.from({ length: 1000 }, (_, i) => `customer-${i}.example.net`).join("\n");
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/main.ts",
        "domains",
        "add",
        "--provider",
        "googlemail.com",
        "--from-file",
        "-",
        "--db",
        db,
      ],
      { cwd: REPO_ROOT, input: thousand, encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("provider googlemail.com: 1000 added, 0 updated, 0 already in its own domains\n");
    expect(r.status).toBe(0);
  });
});

describe("mailconf import-ispdb", () => {
  it("publishes the ISPDB-style fixtures into the SQL store; importing again replaces", async () => {
    const db = join(dir, "fixtures-ispdb.db");
    const first = await cli("import-ispdb", FIXTURE_ISPDB_DIR, "--db", db);
    expect(first.code).toBe(0);
    expect(first.out).toContain("imported 7 provider(s)");
    expect(first.out).toContain("7 created, 0 replaced, 0 file(s) skipped");
    // bigmail.example.at is claimed by two files: the first published keeps it, and that is reported.
    expect(first.err).toContain("minimal.example.xml:5: bigmail.example.at: it stays with bigmail.example");
    const second = await cli("import-ispdb", FIXTURE_ISPDB_DIR, "--db", db);
    expect(second.out).toContain("0 created, 7 replaced");
    const loaded = await loadSettings({ db, builtin: false });
    const hit = await loaded.store.resolve("lp.example");
    expect(hit?.source).toBe("database");
    expect(hit?.provider.incoming.map((s) => [s.type, s.hostname, s.username])).toEqual([
      ["pop3", "pop3.%EMAILDOMAIN%", "%EMAILLOCALPART%"],
      ["imap", "imap.%EMAILDOMAIN%", "%EMAILLOCALPART%"],
    ]);
    expect((await loaded.store.resolve("latin1.example"))?.provider.displayName).toBe(
      "Société Générale de Messagerie",
    );
    expect((await loaded.store.resolve("bigmail.example.at"))?.provider.id).toBe("bigmail.example");
    loaded.close();
  });
});

describeShared("mailconf import-ispdb with Mozilla's ISPDB (../shared/corpus/ispdb)", () => {
  it("publishes the ISPDB corpus into the SQL store; importing again replaces", async () => {
    const db = join(dir, "ispdb.db");
    const folder = await loadIspdb(ISPDB_DIR);
    const first = await cli("import-ispdb", ISPDB_DIR, "--db", db);
    expect(first.code).toBe(0);
    const imported = Number(/imported (\d+) provider/.exec(first.out)?.[1]);
    expect(imported).toBeGreaterThan(100);
    expect(imported).toBeLessThanOrEqual(folder.entries.length);
    expect(first.out).toContain(`${imported} created, 0 replaced, ${folder.skipped.length} file(s) skipped`);
    const second = await cli("import-ispdb", ISPDB_DIR, "--db", db);
    expect(second.out).toContain(`0 created, ${imported} replaced`);
    const loaded = await loadSettings({ db, builtin: false });
    const gmail = folder.entries.find((e) => e.provider.domains.includes("gmail.com"));
    const hit = await loaded.store.resolve("gmail.com");
    expect(hit?.source).toBe("database");
    expect(hit?.provider.incoming).toEqual(gmail?.provider.incoming);
    loaded.close();
  });
});

describe("mailconf hash-token", () => {
  it("prints the sha256: line the token file takes (real process)", async () => {
    const r = spawnSync(process.execPath, ["bin/mailconf.js", "hash-token", "my-admin-token-0123456789"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(await tokenHashLine("my-admin-token-0123456789"));
    expect(r.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("refuses a token shorter than a token file accepts, printing no hash", () => {
    const r = spawnSync(process.execPath, ["bin/mailconf.js", "hash-token", "short"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("a token needs at least 16 characters");
  });
});
