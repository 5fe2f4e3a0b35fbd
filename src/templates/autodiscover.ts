/**
 * Outlook Autodiscover POX answers (MS-OXDSCLI; reference/autodiscover.md §0, §1.3-1.7).
 *
 * Namespaces are always the `http://` ones, whatever the request used. Each server becomes one
 * `Protocol`, `Type` first, in the provider's order of preference, with the TLS mapping of
 * DESIGN.md: SSL → `<SSL>on</SSL><Encryption>SSL</Encryption>`, STARTTLS → `on`/`TLS`,
 * plain → `off`/`None`; `SPA off` (on would mean NTLM; only a server whose preferred authentication
 * is NTLM gets `on`), `AuthRequired on` (`off` only for servers without authentication),
 * `DomainRequired off` and an explicit, expanded `LoginName` (absent, Outlook would use the local
 * part). Every inserted value is XML-escaped; nothing from the request is written except the
 * validated address.
 */
import { type AccountSettings, davServerUrl } from "../providers/account.ts";
import type { DavServer, IncomingServer, OutgoingServer, SocketType } from "../providers/model.ts";
import { element, escapeXml } from "./xml.ts";

/** Root namespace of every Autodiscover response. */
export const AUTODISCOVER_RESPONSE_NS =
  "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
/** Outlook payload namespace (AcceptableResponseSchema of Outlook requests). */
export const OUTLOOK_RESPONSE_NS =
  "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
/** ActiveSync payload namespace (AcceptableResponseSchema of mobilesync requests). */
export const MOBILESYNC_RESPONSE_NS =
  "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006";

/** `<SSL>`/`<Encryption>` per socketType (MS-OXDSCLI §2.2.4.1.1.2.6.22; reference/autodiscover.md §0 item 5). */
export const TLS_MAPPING: Record<SocketType, { ssl: "on" | "off"; encryption: "SSL" | "TLS" | "None" }> = {
  SSL: { ssl: "on", encryption: "SSL" },
  STARTTLS: { ssl: "on", encryption: "TLS" },
  plain: { ssl: "off", encryption: "None" },
};

const PROTOCOL_TYPE = { imap: "IMAP", pop3: "POP3", smtp: "SMTP" } as const;

function head(payloadNs?: string): string[] {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${AUTODISCOVER_RESPONSE_NS}">`,
    payloadNs ? `  <Response xmlns="${payloadNs}">` : "  <Response>",
  ];
}
const TAIL = ["  </Response>", "</Autodiscover>", ""];

function protocol(s: IncomingServer | OutgoingServer, loginName: string, ttlHours: number): string[] {
  const tls = TLS_MAPPING[s.socketType];
  const i = "        ";
  const noAuth = s.authentication.every(
    (a) => a === "none" || a === "client-IP-address" || a === "smtp-after-pop",
  );
  const out = [
    "      <Protocol>",
    element("Type", PROTOCOL_TYPE[s.type], i),
    element("TTL", ttlHours, i),
    element("Server", s.hostname, i),
    element("Port", s.port, i),
    element("LoginName", loginName, i),
    element("DomainRequired", "off", i),
    element("SPA", s.authentication[0] === "NTLM" ? "on" : "off", i),
    element("SSL", tls.ssl, i),
    element("Encryption", tls.encryption, i),
    element("AuthRequired", noAuth ? "off" : "on", i),
  ];
  if (s.type === "smtp") {
    // SMTPLast: send after receiving, i.e. SMTP-after-POP (ttl-pox, smtplast-pox pages).
    const afterPop = s.authentication[0] === "smtp-after-pop";
    out.push(element("UsePOPAuth", "off", i), element("SMTPLast", afterPop ? "on" : "off", i));
  }
  out.push("      </Protocol>");
  return out;
}

function davProtocol(kind: "CalDAV" | "CardDAV", server: DavServer, account: AccountSettings): string[] {
  const i = "        ";
  return [
    "      <Protocol>",
    element("Type", kind, i),
    element("TTL", account.provider.ttlHours, i),
    element("Server", davServerUrl(kind === "CalDAV" ? "caldav" : "carddav", server), i),
    element("Port", server.port, i),
    element("LoginName", server.username, i),
    element("DomainRequired", "off", i),
    element("SPA", "off", i),
    element("SSL", server.socketType === "SSL" ? "on" : "off", i),
    element("AuthRequired", "on", i),
    "      </Protocol>",
  ];
}

/**
 * The Outlook settings answer (`Action settings`) for one account: `User` (DisplayName,
 * AutoDiscoverSMTPAddress), one `Account`, one `Protocol` per incoming then outgoing server in the
 * provider's order of preference, then `CalDAV`/`CardDAV` Protocols when the provider configures them.
 * @param account settings expanded for the requested address (`account.address` must be set)
 * @param displayName `User/DisplayName`; defaults to the directory's display name
 *   (`account.displayName`), else the address (a provider name would become the sender name)
 */
export function renderOutlookSettings(account: AccountSettings, displayName?: string): string {
  const address = account.address?.address ?? "";
  const lines = head(OUTLOOK_RESPONSE_NS);
  lines.push("    <User>");
  lines.push(element("DisplayName", displayName ?? account.displayName ?? address, "      "));
  lines.push(element("AutoDiscoverSMTPAddress", address, "      "));
  lines.push("    </User>");
  lines.push(
    "    <Account>",
    element("AccountType", "email", "      "),
    element("Action", "settings", "      "),
  );
  for (const s of [...account.incoming, ...account.outgoing]) {
    lines.push(...protocol(s, s.username, account.provider.ttlHours));
  }
  if (account.caldav) lines.push(...davProtocol("CalDAV", account.caldav, account));
  if (account.carddav) lines.push(...davProtocol("CardDAV", account.carddav, account));
  lines.push("    </Account>", ...TAIL);
  return lines.join("\n");
}

/**
 * `Action redirectAddr` (MS-OXDSCLI §2.2.4.1.1.2.10; reference/autodiscover.md §1.6): the client should
 * repeat Autodiscover with `address`, the same local part at the domain an alias domain stands for.
 */
export function renderRedirectAddr(address: string): string {
  const lines = head(OUTLOOK_RESPONSE_NS);
  lines.push("    <Account>");
  lines.push(element("AccountType", "email", "      "), element("Action", "redirectAddr", "      "));
  lines.push(element("RedirectAddr", address, "      "));
  lines.push("    </Account>", ...TAIL);
  return lines.join("\n");
}

/** Autodiscover error codes used by mailconf (MS-OXDSCLI §2.2.4.1.1.1; reference/autodiscover.md §1.7). */
export const AUTODISCOVER_ERRORS = {
  500: "The email address can't be found.",
  600: "Invalid Request",
  601: "Provider is not available.",
  603: "Server internal error",
} as const;

/**
 * An Autodiscover `Error` document in Exchange's shape (HTTP 200; `Response` without a payload
 * namespace for Outlook, with the mobilesync namespace for ActiveSync requests).
 * `Time` is the time of day (hh:mm:ss.fraction, UTC) as Exchange sends it.
 */
export function renderAutodiscoverError(
  code: keyof typeof AUTODISCOVER_ERRORS,
  opts: { mobilesync?: boolean; now?: Date } = {},
): string {
  const time = (opts.now ?? new Date()).toISOString().slice(11, 23);
  const lines = head(opts.mobilesync ? MOBILESYNC_RESPONSE_NS : undefined);
  lines.push(`    <Error Time="${escapeXml(time)}" Id="2477272013">`);
  lines.push(element("ErrorCode", code, "      "));
  lines.push(element("Message", AUTODISCOVER_ERRORS[code], "      "));
  lines.push("      <DebugData />", "    </Error>", ...TAIL);
  return lines.join("\n");
}
