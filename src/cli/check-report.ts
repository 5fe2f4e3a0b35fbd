/**
 * `mailconf check <address>`: what each client would receive for an address, read back from the
 * documents the server would really send (so the report cannot drift from the templates).
 */
import { XMLParser } from "fast-xml-parser";
import { accountSettings } from "../providers/account.ts";
import type { DirectoryLookup } from "../providers/directory.ts";
import { parseEmailAddress } from "../providers/domain.ts";
import type { SettingsStore } from "../providers/store.ts";
import { renderAutoconfig } from "../templates/autoconfig.ts";
import { renderOutlookSettings } from "../templates/autodiscover.ts";
import { profileProblem, renderMobileconfig } from "../templates/mobileconfig.ts";
import { PACC_DRAFT, PACC_PATH, PACC_TEXT_PORTS, type PaccDocument, paccAnswer } from "../templates/pacc.ts";
import { appleAddAccountPath } from "../templates/profile-page.ts";

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  isArray: (name) =>
    ["incomingServer", "outgoingServer", "authentication", "Protocol", "key", "dict"].includes(name),
});

type Rec = Record<string, unknown>;
const SECURITY = { SSL: "SSL/TLS", STARTTLS: "STARTTLS", plain: "none (plain text)" } as Record<
  string,
  string
>;

/** Reads a plist `<dict>` (as parsed by fast-xml-parser with ordered keys lost) back into key → value. */
function plistDict(dictXml: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /<key>([^<]*)<\/key>\s*(?:<(string|integer)>([^<]*)<\/\2>|<(true|false)\/>)/g;
  for (const m of dictXml.matchAll(re)) out[m[1] as string] = m[3] ?? (m[4] as string);
  return out;
}

/**
 * Builds the report for one address.
 * @returns lines to print, and whether the address's domain is known
 */
export async function checkAddress(
  store: SettingsStore,
  input: string,
  directory?: DirectoryLookup,
): Promise<{ ok: boolean; lines: string[] }> {
  const address = parseEmailAddress(input);
  if (!address) return { ok: false, lines: [`${JSON.stringify(input)} is not a valid e-mail address.`] };
  const resolution = await store.resolve(address.domain);
  if (!resolution) {
    return {
      ok: false,
      lines: [`${address.domain}: no settings (autoconfig 404, Autodiscover error 500, profile 404).`],
    };
  }
  const { provider } = resolution;
  const how =
    resolution.via === "alias"
      ? `alias of ${resolution.aliasOf}`
      : resolution.via === "exact"
        ? "exact domain"
        : resolution.via === "mx"
          ? `MX host ${resolution.mxHost}`
          : resolution.via;
  const lines = [
    `${address.address}: ${provider.displayName} (provider ${provider.id})`,
    `  settings from ${resolution.source}, matched by ${how}`,
  ];
  const person = provider.directory && directory ? await directory(provider.directory, address) : undefined;
  if (provider.directory)
    lines.push(
      `  directory ${provider.directory.url}: ${person?.loginName ? `login name ${person.loginName}` : `nothing found, login name from fallbackLoginName ${provider.directory.fallbackLoginName}`}${person?.displayName ? `, display name ${person.displayName}` : ""}`,
    );
  const account = accountSettings(resolution, address, person);
  const refused = profileProblem(account);
  const servers = [...provider.incoming, ...provider.outgoing];
  const signIn = provider.signIn;
  if (servers.every((s) => s.authentication.every((a) => a === "OAuth2")))
    lines.push("  sign-in: OAuth2 only (the provider's own sign-in page); a typed password is refused");
  else if (signIn?.password === "app-password")
    lines.push(
      `  sign-in: password fields take an app password, not the account password${signIn.appPasswordUrl ? `; make one at ${signIn.appPasswordUrl}` : ""}${servers.some((s) => s.authentication.includes("OAuth2")) ? " (or OAuth2 where the app offers it)" : ""}`,
    );
  if (signIn?.appleAccountType)
    lines.push(
      `  Apple devices: built-in account type ${signIn.appleAccountType}: ${appleAddAccountPath(signIn.appleAccountType)}`,
    );
  // Directory providers: user names expanded as the autoconfig handler does (%LOGINNAME%).
  const served = provider.directory
    ? { ...provider, incoming: account.incoming, outgoing: account.outgoing }
    : provider;
  lines.push("", "Thunderbird and other autoconfig clients (/mail/config-v1.1.xml):");
  const ac = xml.parse(renderAutoconfig({ provider: served, domain: address.domain })) as Rec;
  const ep = (ac.clientConfig as Rec).emailProvider as Rec;
  for (const [kind, list] of [
    ["incoming", ep.incomingServer],
    ["outgoing", ep.outgoingServer],
  ] as const) {
    for (const s of (list as Rec[]) ?? []) {
      const login = String(s.username)
        .replace(/%EMAILADDRESS%/g, address.address)
        .replace(/%EMAILLOCALPART%/g, address.localPart);
      const type = String(s["@type"]);
      if (!["imap", "pop3", "smtp"].includes(type)) {
        // Exchange-family servers: autoconfig only (Autodiscover, the profile and the page skip them).
        const where = s.url ?? `${s.hostname}:${s.port}`;
        lines.push(
          `  ${kind.padEnd(8)} ${type.toUpperCase().padEnd(4)} ${where}  login ${login}  auth ${(s.authentication as string[]).join(", ")}  (autoconfig only: Autodiscover, the profile and the page skip it)`,
        );
        continue;
      }
      lines.push(
        `  ${kind.padEnd(8)} ${type.toUpperCase().padEnd(4)} ${s.hostname}:${s.port}  ${SECURITY[String(s.socketType)]}  login ${login}  auth ${(s.authentication as string[]).join(", ")}${signIn?.password === "app-password" && (s.authentication as string[]).some((a) => a.startsWith("password-")) ? " (password = app password)" : ""}`,
      );
    }
  }
  lines.push("", "Outlook (Autodiscover POX):");
  const ad = xml.parse(renderOutlookSettings(account)) as Rec;
  const protocols = (((ad.Autodiscover as Rec).Response as Rec).Account as Rec).Protocol as Rec[];
  for (const p of protocols) {
    lines.push(
      p.Encryption === undefined // CalDAV/CardDAV: Server is a URL
        ? `  ${String(p.Type).padEnd(4)} ${p.Server}  LoginName ${p.LoginName}`
        : `  ${String(p.Type).padEnd(4)} ${p.Server}:${p.Port}  SSL=${p.SSL} Encryption=${p.Encryption}  LoginName ${p.LoginName}  SPA=${p.SPA}`,
    );
  }
  lines.push("", "iPhone, iPad and Mac (/mobileconfig profile):");
  if (refused) {
    lines.push(
      `  no profile: ${refused}; /mobileconfig answers 409 pointing to ${signIn?.appleAccountType ? `the built-in account type ${signIn.appleAccountType}` : "the device's Add Account"}`,
    );
    return { ok: true, lines };
  }
  const profile = await renderMobileconfig(account);
  const mail = plistDict(profile.slice(profile.indexOf("com.apple.mail.managed") - 200));
  lines.push(
    `  ${mail.EmailAccountType}  incoming ${mail.IncomingMailServerHostName}:${mail.IncomingMailServerPortNumber} UseSSL=${mail.IncomingMailServerUseSSL} user ${mail.IncomingMailServerUsername ?? "(asked)"} ${mail.IncomingMailServerAuthentication}`,
    `  ${"".padEnd(13)} outgoing ${mail.OutgoingMailServerHostName}:${mail.OutgoingMailServerPortNumber} UseSSL=${mail.OutgoingMailServerUseSSL} user ${mail.OutgoingMailServerUsername ?? "(asked)"} ${mail.OutgoingMailServerAuthentication}`,
  );
  for (const kind of ["CalDAV", "CardDAV"] as const) {
    const at = profile.indexOf(`com.apple.${kind.toLowerCase()}.account`);
    if (at < 0) continue;
    const d = plistDict(profile.slice(at - 200));
    lines.push(
      `  ${kind.padEnd(13)} ${d[`${kind}HostName`]}:${d[`${kind}Port`]} UseSSL=${d[`${kind}UseSSL`]} user ${d[`${kind}Username`]}`,
    );
  }
  lines.push("", ...paccLines(accountSettings(resolution), address.domain));
  return { ok: true, lines };
}

/** The PACC section: read back from the document the endpoint serves, plus what it leaves out. */
function paccLines(domainAccount: ReturnType<typeof accountSettings>, domain: string): string[] {
  const answer = paccAnswer(domainAccount);
  const lines = [`PACC clients (IETF ${PACC_DRAFT}, https://ua-auto-config.${domain}${PACC_PATH}):`];
  if (answer.json !== undefined) {
    const doc = JSON.parse(answer.json) as PaccDocument;
    for (const [name, server] of Object.entries(doc.protocols)) {
      const port = PACC_TEXT_PORTS[name as keyof typeof PACC_TEXT_PORTS];
      lines.push(
        "host" in server
          ? `  ${name.toUpperCase().padEnd(7)} ${server.host}:${port}  SSL/TLS  login = the e-mail address`
          : `  ${name.toUpperCase().padEnd(7)} ${server.url}`,
      );
    }
    const oauth = doc.authentication["oauth-public"];
    lines.push(
      `  sign-in: password ${doc.authentication.password ? "yes" : "no"}${oauth ? `, OAuth (open public clients) issuer ${oauth.issuer}` : ""}`,
    );
  }
  for (const reason of answer.omitted) lines.push(`  not in PACC: ${reason}`);
  return lines;
}
