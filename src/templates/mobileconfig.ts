/**
 * Apple configuration profile (.mobileconfig) for one account (reference/mobileconfig.md §0-§7).
 *
 * Payloads: one `com.apple.mail.managed` (IMAP preferred, else POP3; the implicit-TLS entry of
 * that protocol preferred), plus `com.apple.caldav.account` / `com.apple.carddav.account` where
 * the provider configures them. Never a password: iOS prompts during installation.
 * Identity: PayloadIdentifier `<prefix>.<address-slug>-<hash>` per account and `.mail`/`.caldav`/
 * `.carddav` per payload; PayloadUUIDs are UUIDv5 of those identifiers, so a re-download
 * replaces the installed profile and updates its payloads in place.
 */
import { type AccountSettings, davUrl } from "../providers/account.ts";
import type { AuthenticationMethod, DavServer, IncomingServer, OutgoingServer } from "../providers/model.ts";
import { sha1Hex, uuidV5 } from "./identity.ts";
import { buildPlist, type PlistValue } from "./plist.ts";

/** Apple `*MailServerAuthentication` value per clientConfig method (mobileconfig.md §3 mapping). */
const APPLE_AUTH: Partial<Record<AuthenticationMethod, string>> = {
  "password-cleartext": "EmailAuthPassword",
  "password-encrypted": "EmailAuthCRAMMD5",
  NTLM: "EmailAuthNTLM",
  none: "EmailAuthNone",
  "client-IP-address": "EmailAuthNone",
  "smtp-after-pop": "EmailAuthNone",
};

/**
 * Why no profile can sign this account in, or `undefined` when one can: Apple Mail's profile keys
 * know passwords (plain, CRAM-MD5), NTLM and none (com.apple.mail.managed.yaml
 * `*MailServerAuthentication`), but not OAuth2. When the servers a profile would use (see
 * {@link preferredServer}) take none of those, as at Outlook.com (OAuth2 only), a profile would ask
 * for a password the server refuses, so none is served.
 */
export function profileProblem(account: AccountSettings): string | undefined {
  const servers = [preferredServer(account.incoming), preferredServer(account.outgoing)];
  const blocked = servers.filter((s) => s && !s.authentication.some((m) => APPLE_AUTH[m] !== undefined));
  if (blocked.length === 0) return undefined;
  const methods = [...new Set(blocked.flatMap((s) => s?.authentication ?? []))].join(", ");
  return `${account.provider.displayName} accepts only ${methods} sign-in, which a configuration profile cannot set up`;
}

/** The first method Apple Mail supports; OAuth2-only servers fall back to a password prompt. */
export function appleAuthentication(methods: readonly AuthenticationMethod[]): string {
  for (const m of methods) {
    const apple = APPLE_AUTH[m];
    if (apple) return apple;
  }
  return "EmailAuthPassword";
}

/** Picks the server of the preferred protocol, implicit TLS first (mobileconfig.md §3 "Mapping"). */
export function preferredServer<S extends IncomingServer | OutgoingServer>(
  servers: readonly S[],
): S | undefined {
  const first = servers[0];
  if (!first) return undefined;
  const sameType = servers.filter((s) => s.type === (servers.find((x) => x.type === "imap") ?? first).type);
  return sameType.find((s) => s.socketType === "SSL") ?? sameType[0];
}

/**
 * S/MIME keys of `com.apple.mail.managed` (com.apple.mail.managed.yaml; iOS 12+, macOS n/a).
 * `signing`/`encryption` are the defaults; the person may switch both (`…UserOverrideable`) and
 * chooses their own certificate (`…CertificateUUIDUserOverrideable`), because a downloadable profile
 * carries no identity payload (`SMIME…CertificateUUID` would have to name one). The deprecated
 * `SMIMEEnabled`, `SMIMEEncryptionEnabled` and `SMIMEEnablePerMessageSwitch` are not written.
 */
export function smimeKeys(smime: { signing: boolean; encryption: boolean }): Record<string, boolean> {
  return {
    SMIMESigningEnabled: smime.signing,
    SMIMESigningUserOverrideable: true,
    SMIMESigningCertificateUUIDUserOverrideable: true,
    SMIMEEncryptByDefault: smime.encryption,
    SMIMEEncryptByDefaultUserOverrideable: true,
    SMIMEEncryptionCertificateUUIDUserOverrideable: true,
    SMIMEEnableEncryptionPerMessageSwitch: true,
  };
}

/** The reverse-DNS PayloadIdentifier of the whole profile for one account. */
export async function profileIdentifier(account: AccountSettings): Promise<string> {
  const prefix =
    account.provider.profile.identifierPrefix ??
    `${account.provider.id.split(".").reverse().join(".")}.mailconf`;
  const address = (account.address?.address ?? account.domain).toLowerCase();
  const slug = address
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
  return `${prefix}.${slug || "account"}-${(await sha1Hex(address)).slice(0, 8)}`;
}

/**
 * Renders the unsigned profile (XML plist, UTF-8).
 * @param account settings expanded for one address (`account.address` should be set; without it
 *   the address and user names are omitted and iOS asks for them)
 * @returns the plist text; sign its UTF-8 bytes for a signed profile
 */
export async function renderMobileconfig(account: AccountSettings): Promise<string> {
  const { provider } = account;
  const address = account.address?.address;
  const identifier = await profileIdentifier(account);
  const incoming = preferredServer(account.incoming);
  const outgoing = preferredServer(account.outgoing);
  if (!incoming || !outgoing) throw new Error(`provider ${provider.id} has no incoming or outgoing server`);
  const known = (s: string) => (/%EMAIL[A-Z]+%/.test(s) ? undefined : s);
  const who = address ?? account.domain;
  const options = provider.profile;

  const mail: Record<string, PlistValue | undefined> = {
    PayloadType: "com.apple.mail.managed",
    PayloadVersion: 1,
    PayloadIdentifier: `${identifier}.mail`,
    PayloadUUID: await uuidV5(`${identifier}.mail`),
    PayloadDisplayName: `${provider.displayName} (${who})`,
    EmailAccountDescription: address
      ? `${provider.displayShortName ?? provider.displayName} (${address})`
      : provider.displayName,
    EmailAccountType: incoming.type === "imap" ? "EmailTypeIMAP" : "EmailTypePOP",
    EmailAddress: address,
    // The person's name, from the provider's directory (or the address): providers with a directory only.
    EmailAccountName: account.displayName,
    IncomingMailServerHostName: incoming.hostname,
    IncomingMailServerPortNumber: incoming.port,
    IncomingMailServerUseSSL: incoming.socketType !== "plain",
    IncomingMailServerAuthentication: appleAuthentication(incoming.authentication),
    IncomingMailServerUsername: known(incoming.username),
    OutgoingMailServerHostName: outgoing.hostname,
    OutgoingMailServerPortNumber: outgoing.port,
    OutgoingMailServerUseSSL: outgoing.socketType !== "plain",
    OutgoingMailServerAuthentication: appleAuthentication(outgoing.authentication),
    OutgoingMailServerUsername: known(outgoing.username),
    OutgoingPasswordSameAsIncomingPassword: incoming.username === outgoing.username,
  };
  if (options.smime) Object.assign(mail, smimeKeys(options.smime));
  const content: PlistValue[] = [mail];
  const dav = async (kind: "CalDAV" | "CardDAV", server: DavServer) => {
    const id = `${identifier}.${kind.toLowerCase()}`;
    return {
      PayloadType: `com.apple.${kind.toLowerCase()}.account`,
      PayloadVersion: 1,
      PayloadIdentifier: id,
      PayloadUUID: await uuidV5(id),
      PayloadDisplayName: `${provider.displayName} ${kind === "CalDAV" ? "calendars" : "contacts"} (${who})`,
      [`${kind}AccountDescription`]: `${provider.displayShortName ?? provider.displayName} ${kind === "CalDAV" ? "Calendar" : "Contacts"}`,
      [`${kind}HostName`]: server.hostname,
      [`${kind}Port`]: server.port,
      [`${kind}UseSSL`]: server.socketType === "SSL",
      [`${kind}Username`]: known(server.username),
      [`${kind}PrincipalURL`]: server.principalUrl && known(davUrl(server, server.principalUrl)),
    } satisfies Record<string, PlistValue | undefined>;
  };
  if (account.caldav) content.push(await dav("CalDAV", account.caldav));
  if (account.carddav) content.push(await dav("CardDAV", account.carddav));

  return buildPlist({
    PayloadType: "Configuration",
    PayloadVersion: 1,
    PayloadIdentifier: identifier,
    PayloadUUID: await uuidV5(identifier),
    PayloadDisplayName: `${provider.displayName}: ${who}`,
    PayloadDescription: options.description ?? defaultDescription(who, account),
    PayloadOrganization: options.organization ?? provider.displayName,
    PayloadRemovalDisallowed: false,
    ConsentText: options.consentText,
    TargetDeviceType: options.targetDeviceType,
    PayloadContent: content,
  });
}

function defaultDescription(who: string, account: AccountSettings): string {
  const extras = [account.caldav && "calendars", account.carddav && "contacts"].filter(Boolean);
  if (extras.length === 0) return `Sets up the mail account ${who} on this device.`;
  return `Sets up mail, ${extras.join(" and ")} for ${who} on this device.`;
}
