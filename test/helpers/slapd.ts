/**
 * A throw-away OpenLDAP server for tests: Debian's `slapd` with a temporary slapd.conf and MDB
 * database under a temporary directory, loaded with `slapadd`, listening on 127.0.0.1 only.
 * `stop()` stops it and deletes the directory.
 *
 * {@link slapdUnavailable} says why the tests must skip (no slapd); `.ci/run` installs it.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./wrangler-dev.ts";

const run = promisify(execFile);
const SLAPD = "/usr/sbin/slapd";
const SLAPADD = "/usr/sbin/slapadd";
const SCHEMA = "/etc/ldap/schema";

/** Why LDAP tests cannot run here (undefined: they can). */
export const slapdUnavailable: string | undefined =
  existsSync(SLAPD) &&
  existsSync(SLAPADD) &&
  existsSync("/usr/bin/ldapsearch") &&
  existsSync(join(SCHEMA, "inetorgperson.schema"))
    ? undefined
    : "slapd or ldapsearch not found (Debian packages slapd and ldap-utils; .ci/run installs them)";

/** The test directory's suffix, service account and its password. */
export const LDAP_BASE = "dc=example,dc=org";
export const LDAP_BIND_DN = `cn=mailconf,ou=services,${LDAP_BASE}`;
export const LDAP_BIND_PASSWORD = "directory-test-secret";

/** A person to load: uid (the login name), cn (the display name), mail. */
export interface LdapPerson {
  uid: string;
  cn: string;
  mail: string;
  /** Windows-style login name attribute (stored as `description` here: a plain attribute every schema has). */
  description?: string;
}

/** A running test server. */
export interface TestSlapd {
  /** `ldap://127.0.0.1:<port>` */
  url: string;
  stop(): Promise<void>;
}

function ldif(people: LdapPerson[]): string {
  const entries = [
    `dn: ${LDAP_BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example Org`,
    `dn: ou=people,${LDAP_BASE}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ou=services,${LDAP_BASE}\nobjectClass: organizationalUnit\nou: services`,
    `dn: ${LDAP_BIND_DN}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: mailconf\nsn: mailconf\nuserPassword: ${LDAP_BIND_PASSWORD}`,
    ...people.map(
      (p) =>
        `dn: uid=${p.uid},ou=people,${LDAP_BASE}\nobjectClass: inetOrgPerson\nuid: ${p.uid}\ncn: ${p.cn}\nsn: ${p.cn.split(" ").pop()}\nmail: ${p.mail}${p.description ? `\ndescription: ${p.description}` : ""}`,
    ),
  ];
  return `${entries.join("\n\n")}\n`;
}

/**
 * Writes a config, loads `people` and starts slapd on a free loopback port. Only the service
 * account may read entries (anonymous binds see nothing), as a real directory would be set up.
 * @throws if slapd is missing (check {@link slapdUnavailable}) or does not answer within 20 s
 */
export async function startSlapd(people: LdapPerson[]): Promise<TestSlapd> {
  const dir = mkdtempSync(join(tmpdir(), "mailconf-ldap-"));
  const data = join(dir, "data");
  mkdirSync(data);
  const conf = join(dir, "slapd.conf");
  writeFileSync(
    conf,
    [
      `include ${SCHEMA}/core.schema`,
      `include ${SCHEMA}/cosine.schema`,
      `include ${SCHEMA}/inetorgperson.schema`,
      "modulepath /usr/lib/ldap",
      "moduleload back_mdb",
      `pidfile ${join(dir, "slapd.pid")}`,
      "database mdb",
      `suffix "${LDAP_BASE}"`,
      `directory ${data}`,
      "maxsize 10485760",
      "access to attrs=userPassword by anonymous auth by * none",
      `access to * by dn.exact="${LDAP_BIND_DN}" read by * none`,
      "",
    ].join("\n"),
  );
  const input = join(dir, "people.ldif");
  writeFileSync(input, ldif(people));
  await run(SLAPADD, ["-f", conf, "-l", input], { timeout: 30_000 });
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  // -d 0: stay in the foreground (no fork), so the child is slapd itself and stops with it.
  const child = spawn(SLAPD, ["-f", conf, "-h", `${url}/`, "-d", "0"], { stdio: "ignore" });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await run("ldapsearch", ["-x", "-H", url, "-b", "", "-s", "base", "-LLL", "namingContexts"], {
        timeout: 3000,
      });
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`slapd did not start on ${url}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
