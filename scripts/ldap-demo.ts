/**
 * `npm run demo:ldap`: a throw-away LDAP directory and mailconf using it, to try login names from a
 * directory (docs/ldap.md). Starts slapd (Debian's `slapd` package) on 127.0.0.1 with a temporary
 * database holding two people, writes a settings file naming it, and serves it with
 * `mailconf serve` on 127.0.0.1:8080 (`--port` to change). Ctrl-C stops both and deletes the files.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startServer } from "../src/node/server.ts";
import {
  LDAP_BASE,
  LDAP_BIND_DN,
  LDAP_BIND_PASSWORD,
  slapdUnavailable,
  startSlapd,
} from "../test/helpers/slapd.ts";

const { values } = parseArgs({ options: { port: { type: "string", default: "8080" } } });
if (slapdUnavailable) {
  console.error(
    `demo:ldap: ${slapdUnavailable}; install them with: sudo apt-get install -y slapd ldap-utils`,
  );
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), "mailconf-ldap-demo-"));
const slapd = await startSlapd([
  { uid: "jdoe", cn: "Jane Doe", mail: "jane.doe@example.org" },
  { uid: "rroe", cn: "Richard Roe", mail: "richard.roe@example.org" },
]);
const passwordFile = join(dir, "ldap-password");
writeFileSync(passwordFile, `${LDAP_BIND_PASSWORD}\n`, { mode: 0o600 });
const settings = join(dir, "settings.yaml");
writeFileSync(
  settings,
  `providers:
  - id: example.org
    displayName: Example Org Mail
    domains: [example.org]
    directory:
      url: ${slapd.url}
      bindDn: ${LDAP_BIND_DN}
      passwordFile: ${passwordFile}
      base: ou=people,${LDAP_BASE}
      filter: "(&(objectClass=inetOrgPerson)(mail=%EMAILADDRESS%))"
      loginNameAttribute: uid
      displayNameAttribute: cn
    incoming:
      - { type: imap, hostname: imap.example.org, port: 993, socketType: SSL, username: "%LOGINNAME%" }
    outgoing:
      - { hostname: smtp.example.org, port: 465, socketType: SSL, username: 'EXAMPLE\\%LOGINNAME%' }
`,
);
const server = await startServer({
  port: Number(values.port),
  host: "127.0.0.1",
  configFiles: [settings],
  log: (m) => console.error(m),
});
console.log(`slapd (people: jane.doe@example.org, richard.roe@example.org) on ${slapd.url}`);
console.log(`settings file: ${settings}`);
console.log(`mailconf listening on ${server.url}; try:`);
console.log(`  curl '${server.url}/mail/config-v1.1.xml?emailaddress=jane.doe%40example.org'`);
console.log(`  curl '${server.url}/api/v1/settings?email=richard.roe%40example.org'`);
console.log(`  curl '${server.url}/api/v1/settings?email=nobody%40example.org'    # unknown: the fallback`);
console.log("Ctrl-C stops both.");
const stop = async () => {
  await server.close();
  await slapd.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
