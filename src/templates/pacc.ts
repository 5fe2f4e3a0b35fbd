/**
 * PACC: the IETF's JSON configuration document, "Automatic Configuration of Email, Calendar, and
 * Contact Server Settings" ({@link PACC_DRAFT}; docs/pacc.md says exactly what of the draft could be
 * read, and every choice). One document per mail domain, served at `https://ua-auto-config.<domain>`
 * + {@link PACC_PATH} and vouched for by the DNS TXT record `_ua-auto-config.<domain>` holding
 * `v=UAAC1; a=sha256; d=<base64 SHA-256 of the document's bytes>`.
 *
 * Shape: the members, their nesting and their order are those of the draft's §4.1 example:
 * `{ protocols: { jmap?: {url}, imap?: {host}, pop3?: {host}, smtp?: {host}, caldav?: {url}, carddav?: {url} },
 *    authentication: { "oauth-public"?: {issuer}, password: boolean },
 *    info: { provider: { name, shortName? }, help?: { documentation } } }`
 * Every name on the wire is written here once ({@link PACC_PROTOCOLS}, {@link PACC_SUBMISSION}); a
 * rename in a later revision is one edit here plus the golden files (test/golden/pacc/).
 *
 * The draft has no port, no TLS mode and no login name: text protocols are implicit TLS on their
 * default port (IMAP 993, POP3 995, SMTP submission 465), HTTP protocols are `https` URLs on port
 * 443, and the login is the e-mail address. A server our model describes otherwise is left out,
 * and {@link paccAnswer} says why (`mailconf check`, the settings guide, `/dns`).
 *
 * Pure: the same account gives the same bytes on Node and Workers (JSON.stringify in a fixed key
 * order, no whitespace). Web APIs only.
 */
import { type AccountSettings, davServerUrl } from "../providers/account.ts";
import {
  AUTHENTICATION_METHODS,
  type AuthenticationMethod,
  type DavServer,
  type IncomingServer,
  type OutgoingServer,
} from "../providers/model.ts";

/**
 * The revision mailconf follows: the newest one whose content could be read (its front matter, and
 * its §4.1 example as quoted by Stalwart); -03 and -04 exist but their text was not available
 * (docs/pacc.md, "Which revision"). Shown by `mailconf check` and the settings JSON schema.
 */
export const PACC_DRAFT = "draft-ietf-mailmaint-pacc-02";

/**
 * The member of `protocols` for SMTP submission on port 465 (RFC 8314 §3.3): `smtp` in -02's §4.1
 * example (and in the -00/-01 protocol table); automx reports -03 as naming it `submit`, which could
 * not be checked (docs/pacc.md). The one place to change if a later revision renames it.
 */
export const PACC_SUBMISSION = "smtp" as const;

/** The protocol members mailconf writes, in the order of the draft's §4.1 example. */
export const PACC_PROTOCOLS = ["jmap", "imap", "pop3", PACC_SUBMISSION, "caldav", "carddav"] as const;

/** The well-known path of the document (RFC 8615 well-known URI named by the draft). */
export const PACC_PATH = "/.well-known/user-agent-configuration.json";
/** Host name label clients ask: `https://ua-auto-config.<domain>` + {@link PACC_PATH}. */
export const PACC_HOST_LABEL = "ua-auto-config";
/** Owner label of the digest TXT record: `_ua-auto-config.<domain>`. */
export const PACC_TXT_LABEL = "_ua-auto-config";

/**
 * Default implicit-TLS ports of the text protocols, which the document cannot override (RFC 8314 §7;
 * the -00/-01 protocol table: imaps 993, pop3s 995, submissions 465).
 */
export const PACC_TEXT_PORTS = { imap: 993, pop3: 995, [PACC_SUBMISSION]: 465 } as const;

/** A text-protocol server: implicit TLS on the protocol's default port. */
export interface PaccTextServer {
  host: string;
}
/** An HTTP-protocol endpoint: an `https` URL on port 443. */
export interface PaccHttpServer {
  url: string;
}

/** The document, keys in the order they are written. */
export interface PaccDocument {
  protocols: {
    jmap?: PaccHttpServer;
    imap?: PaccTextServer;
    pop3?: PaccTextServer;
    /** SMTP submission on 465 (RFC 8314 §3.3), under the name {@link PACC_SUBMISSION}. */
    [PACC_SUBMISSION]?: PaccTextServer;
    caldav?: PaccHttpServer;
    carddav?: PaccHttpServer;
  };
  /** `oauth-public` first, then `password`: the order of the §4.1 example. */
  authentication: { "oauth-public"?: { issuer: string }; password: boolean };
  info: {
    provider: { name: string; shortName?: string };
    help?: { documentation: string };
  };
}

/** {@link paccAnswer}'s result. */
export interface PaccAnswer {
  /** The document, or undefined when not one server can be expressed (then nothing is published). */
  document?: PaccDocument;
  /** The exact bytes served (as text; UTF-8 on the wire), or undefined with `document`. */
  json?: string;
  /** What the settings say that the document cannot: one sentence each, for admins. */
  omitted: string[];
}

const PASSWORD_METHODS: readonly AuthenticationMethod[] = ["password-cleartext", "password-encrypted"];
const NAMES = { imap: "IMAP", pop3: "POP3", [PACC_SUBMISSION]: "SMTP" } as const;
/** Our server type → the draft's protocol name. */
const KEYS = { imap: "imap", pop3: "pop3", smtp: PACC_SUBMISSION } as const;
/** Methods the draft has no word for (its `authentication` knows passwords and oauth-public only). */
const INEXPRESSIBLE = AUTHENTICATION_METHODS.filter((m) => m !== "OAuth2" && !PASSWORD_METHODS.includes(m));
/** `shortName` "MUST NOT be longer than 20 characters" (-00/-01 §2.3.1; Stalwart's -02 types keep the limit). */
const MAX_SHORT_NAME = 20;

/** True if an https URL uses the default port and carries no user info. */
function isPlainHttps(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === "https:" && u.port === "" && u.username === "" && u.password === "";
  } catch {
    return false;
  }
}

/**
 * Builds the PACC document of one mail domain.
 * @param account settings of the domain WITHOUT an address (`accountSettings(resolution)`): the
 *   document is the same for every mailbox, as its DNS digest requires
 * @returns the document and its bytes (undefined when no server can be expressed) and the list of
 *   what was left out; never throws
 */
export function paccAnswer(account: AccountSettings): PaccAnswer {
  const { provider } = account;
  const omitted: string[] = [];
  const protocols: PaccDocument["protocols"] = {};
  const methods = new Set<AuthenticationMethod>();

  if (provider.jmap) {
    if (isPlainHttps(provider.jmap.url)) protocols.jmap = { url: provider.jmap.url };
    else omitted.push(`JMAP ${provider.jmap.url}: PACC URLs are https on port 443`);
  }

  const text = (servers: readonly (IncomingServer | OutgoingServer)[], ourType: "imap" | "pop3" | "smtp") => {
    const type = KEYS[ourType];
    for (const s of servers) {
      if (s.type !== ourType) continue;
      const what = `${NAMES[type]} ${s.hostname}:${s.port} ${s.socketType}`;
      if (s.socketType !== "SSL" || s.port !== PACC_TEXT_PORTS[type]) {
        omitted.push(
          `${what}: PACC servers use implicit TLS on port ${PACC_TEXT_PORTS[type]} (no port or STARTTLS field)`,
        );
      } else if (/%EMAIL/.test(s.hostname)) {
        omitted.push(`${what}: the host name depends on the mailbox, and the document is one per domain`);
      } else if (s.username !== "%EMAILADDRESS%") {
        omitted.push(
          `${what}: login name ${s.username}; PACC has no login name field, clients sign in with the e-mail address`,
        );
      } else if (protocols[type]) {
        omitted.push(`${what}: PACC names one ${NAMES[type]} server, the first one is listed`);
      } else {
        protocols[type] = { host: s.hostname };
        for (const m of s.authentication) methods.add(m);
      }
    }
  };
  text(account.incoming, "imap");
  text(account.incoming, "pop3");
  text(account.outgoing, "smtp");

  const dav = (kind: "caldav" | "carddav", server: DavServer | undefined) => {
    if (!server) return;
    const what = `${kind === "caldav" ? "CalDAV" : "CardDAV"} ${server.hostname}:${server.port}`;
    const url = davServerUrl(kind, server);
    if (server.socketType !== "SSL" || !isPlainHttps(url)) {
      omitted.push(`${what}: PACC URLs are https on port 443`);
    } else if (/%EMAIL/.test(url)) {
      omitted.push(`${what}: the URL depends on the mailbox, and the document is one per domain`);
    } else if (server.username !== "%EMAILADDRESS%") {
      omitted.push(
        `${what}: login name ${server.username}; PACC has no login name field, clients sign in with the e-mail address`,
      );
    } else {
      protocols[kind] = { url };
      methods.add("password-cleartext"); // the model's CalDAV/CardDAV accounts sign in with the password (HTTP Basic)
    }
  };
  dav("caldav", account.caldav);
  dav("carddav", account.carddav);

  if (Object.keys(protocols).length === 0) {
    omitted.push("no server can be expressed, so no PACC document is published for this domain");
    return { omitted };
  }

  const password = PASSWORD_METHODS.some((m) => methods.has(m));
  const authentication: PaccDocument["authentication"] = provider.oauthPublic
    ? { "oauth-public": { issuer: provider.oauthPublic.issuer }, password }
    : { password };
  if (!provider.oauthPublic && methods.has("OAuth2"))
    omitted.push(
      "OAuth2 sign-in: PACC announces only OAuth for open public clients, and the settings name no oauthPublic.issuer",
    );
  const other = INEXPRESSIBLE.filter((m) => methods.has(m));
  if (other.length) omitted.push(`authentication ${other.join(", ")}: PACC has no name for it`);

  const providerInfo: PaccDocument["info"]["provider"] = { name: provider.displayName };
  if (provider.displayShortName) {
    if (provider.displayShortName.length <= MAX_SHORT_NAME)
      providerInfo.shortName = provider.displayShortName;
    else omitted.push(`displayShortName: longer than the ${MAX_SHORT_NAME} characters PACC allows`);
  }
  const info: PaccDocument["info"] = { provider: providerInfo };
  const help = provider.documentation.find((d) => d.url.startsWith("https://"));
  if (help) info.help = { documentation: help.url };

  const document: PaccDocument = { protocols, authentication, info };
  return { document, json: JSON.stringify(document), omitted };
}

/**
 * The RDATA of the `_ua-auto-config.<domain>` TXT record for a document: `v=UAAC1; a=sha256; d=`
 * and the standard base64 (RFC 4648 §4, padded) of the SHA-256 of the document's UTF-8 bytes.
 * @param json exactly the served body ({@link PaccAnswer.json})
 * @returns e.g. `v=UAAC1; a=sha256; d=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=` (unquoted)
 */
export async function paccDigestRecord(json: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(json)));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return `v=UAAC1; a=sha256; d=${btoa(binary)}`;
}

/**
 * The PACC fields of `dnsRecords` input for a domain: the digest record of its document, or why
 * there is none. Async because SHA-256 is WebCrypto's.
 * @param account settings of the domain without an address, as the endpoint renders them
 */
export async function paccDnsInput(
  account: AccountSettings,
): Promise<{ paccTxt?: string; paccOmitted?: string }> {
  const answer = paccAnswer(account);
  if (answer.json === undefined) return { paccOmitted: answer.omitted.at(-1) };
  return { paccTxt: await paccDigestRecord(answer.json) };
}

/**
 * Reads one `_ua-auto-config` TXT record the way a PACC client of -02 does (pimalaya io-discovery,
 * `src/pacc/coroutine.rs`, the only client reading that could be read; the draft's own text on it
 * could not be, docs/pacc.md): `name=value` tags split by `;`, names and the `v` and `a` values
 * compared without regard to letter case, whitespace around names and values ignored, a part without
 * `=` and an unknown tag skipped, a repeated tag replacing the earlier one; `v` must be `UAAC1`, `a`
 * `sha256`, `d` the padded standard base64 (RFC 4648 §4) of 32 bytes.
 * @param text the record's character-strings joined without separator, unquoted, e.g. `v=UAAC1; a=sha256; d=…`
 * @returns the digest as its canonical base64, or undefined if a client would not take the record
 */
export function uaacDigest(text: string): string | undefined {
  const tags = new Map<string, string>();
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const d = tags.get("d");
  if (tags.get("v")?.toUpperCase() !== "UAAC1" || tags.get("a")?.toLowerCase() !== "sha256" || !d)
    return undefined;
  if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(d)) return undefined; // 32 bytes, canonical padded base64
  return d;
}
