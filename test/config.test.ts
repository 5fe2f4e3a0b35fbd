/**
 * Settings files: a mistake is refused with the file, the line, the field path and the rule;
 * the CLI does not start on it.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ConfigError, parseSettingsText } from "../src/node/config-files.ts";
import { REPO_ROOT, tempFile } from "./helpers/shared.ts";

const VALID = `providers:
  - id: example.org
    displayName: Example Org
    domains: [example.org]
    incoming:
      - type: imap
        hostname: imap.example.org
        port: 993
        socketType: SSL
      - type: pop3
        hostname: pop.example.org
        port: 995
        socketType: SSL
    outgoing:
      - hostname: smtp.example.org
        port: 587
        socketType: STARTTLS
`;

function problems(text: string, name = "settings.yaml"): string[] {
  try {
    parseSettingsText(text, name);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("settings files", () => {
  it("accepts the example and applies defaults (username %EMAILADDRESS%, password-cleartext)", () => {
    const settings = parseSettingsText(VALID, "settings.yaml");
    const imap = settings.providers[0]?.incoming[0];
    expect(imap).toMatchObject({
      username: "%EMAILADDRESS%",
      authentication: ["password-cleartext"],
      port: 993,
    });
  });

  it("names the file, line, field path and rule for a bad port", () => {
    const text = VALID.replace("port: 995", 'port: "99x"');
    expect(problems(text)).toEqual([
      'settings.yaml:12: providers[0].incoming[1].port: expected an integer 1-65535, got "99x"',
    ]);
  });

  it("reports every mistake, each with its own line", () => {
    const text = VALID.replace(
      "socketType: SSL\n      - type: pop3",
      "socketType: ssl\n      - type: pop3",
    ).replace("port: 587", "port: 70000");
    expect(problems(text)).toEqual([
      'settings.yaml:9: providers[0].incoming[0].socketType: expected one of SSL, STARTTLS, plain (exact case), got "ssl"',
      "settings.yaml:16: providers[0].outgoing[0].port: expected an integer 1-65535, got 70000",
    ]);
  });

  it("names unknown fields (typos) and missing required fields", () => {
    const typo = problems(
      VALID.replace("displayName: Example Org", "displayName: Example Org\n    displayNmae: x"),
    );
    expect(typo).toEqual([
      'settings.yaml:4: providers[0].displayNmae: unknown field; did you mean "displayName"?',
    ]);
    const missing = problems(VALID.replace("    displayName: Example Org\n", ""));
    expect(missing).toEqual([
      "settings.yaml:2: providers[0].displayName: expected string, got nothing (the field is required)",
    ]);
  });

  it("names the bad entry of an authentication list and unknown placeholders", () => {
    const text = VALID.replace(
      "        socketType: STARTTLS\n",
      '        socketType: STARTTLS\n        username: "%EMAILADRESS%"\n        authentication: [password-cleartext, password]\n',
    );
    expect(problems(text)).toEqual([
      "settings.yaml:18: providers[0].outgoing[0].username: unknown placeholder %EMAILADRESS%: use %EMAILADDRESS%, %EMAILLOCALPART% or %EMAILDOMAIN%",
      expect.stringMatching(
        /^settings\.yaml:19: providers\[0\]\.outgoing\[0\]\.authentication\[1\]: expected one of password-cleartext, .*, got "password"$/,
      ),
    ]);
  });

  it("reports YAML syntax errors with the line", () => {
    expect(problems("providers:\n  - id: x\n    domains: [a.com\n")[0]).toMatch(/^settings\.yaml:\d+: /);
  });

  it("reads JSON with line numbers too", () => {
    const json = JSON.stringify({ providers: [{ ...JSON.parse("{}"), id: "Bad Id" }] }, null, 2);
    expect(problems(json, "s.json")[0]).toMatch(
      /^s\.json:4: providers\[0\]\.id: expected lower-case letters/,
    );
  });

  it("normalises domains: IDN to punycode, lower case, no trailing dot", () => {
    const s = parseSettingsText(
      VALID.replace("domains: [example.org]", "domains: [Bücher.Example., EXAMPLE.org]"),
      "x.yaml",
    );
    expect(s.providers[0]?.domains).toEqual(["xn--bcher-kva.example", "example.org"]);
  });
});

describe("mailconf CLI", () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 20_000,
    });

  it("serve refuses to start on a settings file with a mistake, naming file, line, path and rule", () => {
    const file = tempFile("bad.yaml", VALID.replace("port: 995", 'port: "99x"'));
    const r = cli("serve", "--port", "0", "--config", file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      `${file}:12: providers[0].incoming[1].port: expected an integer 1-65535, got "99x"`,
    );
    expect(r.stdout).not.toContain("listening");
  });

  it("check prints what each client receives and where the settings came from", () => {
    const r = cli("check", "jane@icloud.com");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("settings from built-in, matched by exact domain");
    expect(r.stdout).toMatch(
      /incoming IMAP imap\.mail\.me\.com:993 {2}SSL\/TLS {2}login jane {2}auth password-cleartext/,
    );
    expect(r.stdout).toMatch(
      /SMTP smtp\.mail\.me\.com:587 {2}SSL=on Encryption=TLS {2}LoginName jane@icloud\.com/,
    );
    expect(r.stdout).toMatch(
      /EmailTypeIMAP {2}incoming imap\.mail\.me\.com:993 UseSSL=true user jane EmailAuthPassword/,
    );
  });

  it("check uses a settings file and exits 1 for an unknown domain", () => {
    const ok = cli("check", "a@example.org", "--config", "examples/settings.yaml");
    expect(ok.stdout).toContain("settings from examples/settings.yaml");
    const unknown = cli("check", "a@unknown-domain.test");
    expect(unknown.status).toBe(1);
    expect(unknown.stdout).toContain("no settings");
  });

  it("validate accepts the example settings file", () => {
    const r = cli("validate", "examples/settings.yaml");
    expect(r.stdout).toBe("examples/settings.yaml: ok, 1 provider(s)\n");
    expect(r.status).toBe(0);
  });
});

describe("settings files: whole-file rules", () => {
  const twoProviders = `${VALID}  - id: example.org
    displayName: Again
    domains: [example.org, other.example]
    incoming: [{ type: imap, hostname: imap.other.example, port: 993, socketType: SSL }]
    outgoing: [{ hostname: smtp.other.example, port: 465, socketType: SSL }]
`;

  it("refuses a provider id or a domain used twice in one file", () => {
    expect(problems(twoProviders)).toEqual([
      'settings.yaml:18: providers[1].id: provider id "example.org" is already used by providers[0]',
    ]);
    const sameDomain = twoProviders.replace(
      "id: example.org\n    displayName: Again",
      "id: other.example\n    displayName: Again",
    );
    expect(problems(sameDomain)).toEqual([
      'settings.yaml:20: providers[1].domains[0]: example.org is already served by provider "example.org"',
    ]);
  });

  it("refuses alias names that are not domains, self-aliases and alias chains", () => {
    const text = `${VALID}aliases:\n  "not a domain!": example.org\n  self.example: self.example\n  a.example: b.example\n  b.example: example.org\n  example.org: other.example\n`;
    expect(problems(text)).toEqual([
      'settings.yaml:19: aliases["not a domain!"]: expected a domain name as the alias, got "not a domain!"',
      'settings.yaml:20: aliases["self.example"]: a domain cannot be an alias of itself',
      'settings.yaml:21: aliases["a.example"]: b.example is itself an alias: point a.example at the domain that is served',
      'settings.yaml:22: aliases["b.example"]: example.org is itself an alias: point b.example at the domain that is served',
      'settings.yaml:23: aliases["example.org"]: example.org is served by provider "example.org"; it cannot also be an alias',
    ]);
  });

  it("refuses YAML alias bombs with the file name, not a stack trace", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (const [prev, cur] of [
      ["a", "b"],
      ["b", "c"],
      ["c", "d"],
      ["d", "e"],
    ]) {
      levels.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    expect(problems(`${levels.join("\n")}\nproviders: []\n`)[0]).toMatch(
      /^settings\.yaml:1: Excessive alias count/,
    );
  });

  it("says what a wrong type was, not that it was missing", () => {
    expect(problems(VALID.replace("displayName: Example Org", "displayName: 5"))).toEqual([
      "settings.yaml:3: providers[0].displayName: expected string, got 5",
    ]);
  });

  it("refuses control characters and unpaired surrogates with the field path", () => {
    const text = VALID.replace("displayName: Example Org", 'displayName: "Example\\u0000Org"');
    expect(problems(text)).toEqual([
      "settings.yaml:3: providers[0].displayName: contains the character U+0000, which mail clients cannot show",
    ]);
  });

  it("serve refuses an alias whose target no source serves, naming file and line", async () => {
    const { loadSettings } = await import("../src/node/server.ts");
    const file = tempFile(
      "alias.yaml",
      `${VALID}aliases:\n  old.example: exampel.org\n  gm.example: gmail.com\n`,
    );
    await expect(loadSettings({ configFiles: [file] })).rejects.toMatchObject({
      problems: [
        `${file}:19: aliases["old.example"]: no settings for exampel.org: point the alias at a domain that is served`,
      ],
    });
  });
});
