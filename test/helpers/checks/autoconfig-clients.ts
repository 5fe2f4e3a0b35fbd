/**
 * Would Thunderbird desktop and Thunderbird for Android (K-9 Mail) accept an autoconfig document
 * (clientConfig 1.1)? Approximations of the two real parsers' acceptance rules, as documented in
 * the project's reference notes on autoconfig (§2 clients, §6 what each parser requires):
 *
 * - Thunderbird desktop, `readFromXML` (comm-central): the first `emailProvider` counts; it needs
 *   a `domain`; every `port` must be an integer 1-65535; no child elements inside hostname, port,
 *   socketType, username; at least one usable incoming server (pop3/imap/nntp/exchange/ews/owa with
 *   a hostname or URL, a known socketType unless it has a URL, and an authentication method
 *   Thunderbird knows; OAuth2 only for hosts Thunderbird has OAuth2 details for) and one usable
 *   SMTP server (hostname, port, known socketType, known authentication).
 * - Thunderbird for Android, `RealAutoconfigParser` (the strictest known parser): no UTF-8 BOM;
 *   every `emailProvider` is validated (the last one is used); it needs an `id` and a valid domain;
 *   for every IMAP and SMTP server each of hostname, port, username, socketType must be present;
 *   host names must be valid without surrounding whitespace (after %EMAILDOMAIN% is replaced);
 *   ports digits only, 1-65535; socketType only SSL or STARTTLS (plain is refused); and one of
 *   OAuth2, password-cleartext, password-encrypted; at least one IMAP and one SMTP server.
 *
 * Both ignore namespaces. The verdict is "OK" or the reason the client would reject the document.
 */
import { childrenNamed, descendants, type Element, parseElementTree } from "./element-tree.ts";

/** One verdict per client: "OK" or why it rejects the document. */
export interface AutoconfigVerdicts {
  thunderbirdDesktop: string;
  thunderbirdAndroid: string;
}

const HOST_RE =
  /^(([a-z0-9]|[a-z0-9][a-z0-9-]{0,61}[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]{0,61}[a-z0-9])\.?$/i;

const TEXT_ONLY_ANDROID = ["hostname", "port", "username", "socketType", "domain", "authentication"];
const TEXT_ONLY_DESKTOP = ["hostname", "port", "socketType", "username"];

const TB_SOCKET_TYPES = ["plain", "SSL", "STARTTLS"];
const TB_INCOMING_AUTH = [
  "password-cleartext",
  "plain",
  "password-encrypted",
  "secure",
  "GSSAPI",
  "NTLM",
  "OAuth2",
];
const TB_OUTGOING_AUTH = [...TB_INCOMING_AUTH, "none", "client-IP-address", "smtp-after-pop"];
/** Host names (matched with their parent domains) Thunderbird has built-in OAuth2 details for (OAuth2Providers.sys.mjs). */
const TB_OAUTH2_HOSTS = [
  "googlemail.com",
  "gmail.com",
  "imap.mail.ru",
  "smtp.mail.ru",
  "imap.yandex.com",
  "smtp.yandex.com",
  "yahoo.com",
  "att.net",
  "aol.com",
  "office365.com",
  "graph.microsoft.com",
  "outlook.com",
  "hotmail.com",
  "imap.fastmail.com",
  "pop.fastmail.com",
  "smtp.fastmail.com",
  "imap.comcast.net",
  "pop.comcast.net",
  "smtp.comcast.net",
  "thundermail.com",
];

function thunderbirdKnowsOAuth2(host: string): boolean {
  let h = host.toLowerCase();
  while (h.includes(".")) {
    if (TB_OAUTH2_HOSTS.includes(h)) return true;
    h = h.slice(h.indexOf(".") + 1);
  }
  return false;
}

const firstText = (e: Element, name: string) => childrenNamed(e, name)[0]?.text;

/** Thunderbird desktop (readFromXML). */
export function thunderbirdDesktop(root: Element): string {
  if (root.name !== "clientConfig") return "root element is not 'clientConfig'";
  const ep = childrenNamed(root, "emailProvider")[0];
  if (!ep) return "no_emailProvider";
  if (childrenNamed(ep, "domain").length === 0) return "need proper <domain>";
  for (const e of descendants(ep))
    if (TEXT_ONLY_DESKTOP.includes(e.name) && e.children.length) return `child element in <${e.name}>`;
  for (const p of descendants(ep).filter((e) => e.name === "port")) {
    const t = p.text.trim();
    if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 65535) return `bad port ${JSON.stringify(p.text)}`;
  }
  const authOk = (s: Element, allowed: string[]) => {
    const host = (firstText(s, "hostname") ?? "").trim();
    return childrenNamed(s, "authentication").some(
      (a) => allowed.includes(a.text) && (a.text !== "OAuth2" || thunderbirdKnowsOAuth2(host)),
    );
  };
  const incomingOk = childrenNamed(ep, "incomingServer").some((s) => {
    if (!["pop3", "imap", "nntp", "exchange", "ews", "owa"].includes(s.attrs.type ?? "")) return false;
    const hasUrl = childrenNamed(s, "url").length > 0;
    if (!childrenNamed(s, "hostname").length && !hasUrl) return false;
    if (!hasUrl && !childrenNamed(s, "socketType").some((t) => TB_SOCKET_TYPES.includes(t.text)))
      return false;
    return authOk(s, TB_INCOMING_AUTH);
  });
  if (!incomingOk) return "Need proper <incomingServer>";
  const outgoingOk = childrenNamed(ep, "outgoingServer").some(
    (s) =>
      s.attrs.type === "smtp" &&
      childrenNamed(s, "hostname").length > 0 &&
      childrenNamed(s, "port").length > 0 &&
      childrenNamed(s, "socketType").some((t) => TB_SOCKET_TYPES.includes(t.text)) &&
      authOk(s, TB_OUTGOING_AUTH),
  );
  if (!outgoingOk) return "Need proper <outgoingServer>";
  return "OK";
}

function androidProvider(ep: Element): string {
  const id = ep.attrs.id;
  if (id === undefined) return "Missing 'emailProvider.id'";
  if (!HOST_RE.test(id.trim())) return "Invalid 'emailProvider.id'";
  const domains = childrenNamed(ep, "domain");
  if (!domains.some((d) => HOST_RE.test(d.text.trim()))) return "Valid 'domain' element required";
  const firstDomain = (domains[0]?.text ?? "example.com").trim();
  let incoming = 0;
  let outgoing = 0;
  for (const [kind, wanted] of [
    ["incomingServer", "imap"],
    ["outgoingServer", "smtp"],
  ] as const) {
    for (const s of childrenNamed(ep, kind)) {
      if (s.attrs.type !== wanted) continue;
      const below = descendants(s);
      for (const tag of ["hostname", "port", "username", "socketType"])
        if (!below.some((e) => e.name === tag)) return `${kind}: Missing '${tag}'`;
      for (const h of below.filter((e) => e.name === "hostname")) {
        const host = h.text.replaceAll("%EMAILDOMAIN%", firstDomain);
        if (host !== host.trim()) return `${kind}: hostname with surrounding whitespace (Hostname() throws)`;
        if (!HOST_RE.test(host)) return `${kind}: invalid hostname ${JSON.stringify(host)}`;
      }
      for (const p of below.filter((e) => e.name === "port")) {
        // Port.kt parses the untrimmed text as an integer.
        if (!/^\d+$/.test(p.text) || Number(p.text) < 1 || Number(p.text) > 65535)
          return `${kind}: invalid port ${JSON.stringify(p.text)}`;
      }
      for (const t of below.filter((e) => e.name === "socketType"))
        if (!["SSL", "STARTTLS"].includes(t.text))
          return `${kind}: Unknown socketType ${JSON.stringify(t.text)}`;
      const usable = childrenNamed(s, "authentication").some((a) =>
        ["OAuth2", "password-cleartext", "password-encrypted"].includes(a.text),
      );
      if (!usable) return `${kind}: No usable authentication`;
      if (kind === "incomingServer") incoming++;
      else outgoing++;
    }
  }
  if (!incoming) return "No supported 'incomingServer' (IMAP) element";
  if (!outgoing) return "No supported 'outgoingServer' element";
  return "OK";
}

/** Thunderbird for Android / K-9 Mail (RealAutoconfigParser). */
export function thunderbirdAndroid(root: Element): string {
  if (root.name !== "clientConfig") return "Root element is not 'clientConfig'";
  const providers = childrenNamed(root, "emailProvider");
  if (!providers.length) return "Missing emailProvider";
  for (const e of descendants(root))
    if (TEXT_ONLY_ANDROID.includes(e.name) && e.children.length)
      return `Expected text in '${e.name}', got a child element`;
  for (const ep of providers) {
    const verdict = androidProvider(ep);
    if (verdict !== "OK") return verdict;
  }
  return "OK";
}

/**
 * Both clients' verdicts on a document.
 * @param document the bytes as served (a UTF-8 BOM is refused by Thunderbird for Android) or text
 * @throws Error when the document is not well-formed XML (both clients refuse it)
 */
export function checkAutoconfigClients(document: string | Uint8Array): AutoconfigVerdicts {
  const bytes = typeof document === "string" ? new TextEncoder().encode(document) : document;
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const root = parseElementTree(new TextDecoder().decode(bytes.subarray(bom ? 3 : 0)));
  return {
    thunderbirdDesktop: thunderbirdDesktop(root),
    thunderbirdAndroid: bom ? "UTF-8 BOM: rejected by the Android parser" : thunderbirdAndroid(root),
  };
}
