/**
 * Mozilla autoconfig: clientConfig 1.1 XML (reference/autoconfig.md §1, §6 items 4-9).
 *
 * - UTF-8 without BOM, `<?xml version="1.0" encoding="UTF-8"?>`, every value escaped.
 * - Exactly one `emailProvider` whose `id` is a host name (Thunderbird for Android rejects others).
 * - The queried domain is the first `domain`; the provider's other domains follow only when its
 *   list is public (`listDomains`: built-in and ISPDB providers), never wildcard entries, and never
 *   domains assigned one by one (they are not in `provider.domains`), so a hosting provider's
 *   customer list is not published to anyone who asks.
 * - Exchange-family servers (`exchangeServers`: exchange, ews, owa, graph) follow IMAP/POP3, as in
 *   the ISPDB; `webMail` and server `restriction` are written as the ISPDB writes them.
 * - Servers in the provider's order of preference; user names keep their placeholders
 *   (`%EMAILADDRESS%` …) because clients expand them; `%EMAILDOMAIN%` in host names is expanded.
 * - Never a `<password>`.
 */
import { expandPlaceholders } from "../providers/account.ts";
import type { ExchangeServer, IncomingServer, OutgoingServer, Provider } from "../providers/model.ts";
import { compileByDomain } from "./compiled.ts";
import { element, escapeXml } from "./xml.ts";

/** Input of {@link renderAutoconfig}: the provider and the mail domain the client asked for. */
export interface AutoconfigInput {
  provider: Provider;
  /** Normalised mail domain of the request. */
  domain: string;
}

/**
 * clientConfig of one provider for every mail domain, compiled once (src/templates/compiled.ts):
 * what a request adds is its domain. A domain of the provider's public list (`listDomains`) is
 * left out of the list that follows the queried domain, so its document differs: for those, and
 * for a provider whose rendering does anything else with the domain, the function returns
 * `undefined` and the caller renders ({@link renderAutoconfig}, cached per domain).
 * @returns (normalised domain) => exactly `renderAutoconfig({ provider, domain })`, or `undefined`
 */
export function compileAutoconfig(provider: Provider): (domain: string) => string | undefined {
  const compiled = compileByDomain((domain) => renderAutoconfig({ provider, domain }), escapeXml);
  if (!compiled) return () => undefined;
  if (!provider.listDomains) return compiled;
  const listed = new Set(provider.domains);
  return (domain) => (listed.has(domain) ? undefined : compiled(domain));
}

/**
 * Renders clientConfig 1.1 for one domain.
 * @returns the XML document as a string (serve as `application/xml; charset=utf-8`)
 */
export function renderAutoconfig({ provider, domain }: AutoconfigInput): string {
  const lookup = { domain };
  const lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>', '<clientConfig version="1.1">'];
  lines.push(`  <emailProvider id="${escapeXml(provider.emailProviderId ?? provider.id)}">`);
  const others = provider.listDomains
    ? provider.domains.filter((d) => d !== domain && !d.startsWith("*."))
    : [];
  const domains = [domain, ...others];
  for (const d of domains) lines.push(element("domain", d, "    "));
  lines.push(element("displayName", provider.displayName, "    "));
  if (provider.displayShortName) lines.push(element("displayShortName", provider.displayShortName, "    "));

  const server = (tag: string, s: IncomingServer | OutgoingServer, extra: string[] = []) => {
    lines.push(`    <${tag} type="${s.type}">`);
    lines.push(element("hostname", expandPlaceholders(s.hostname, lookup), "      "));
    lines.push(element("port", s.port, "      "));
    lines.push(element("socketType", s.socketType, "      "));
    lines.push(element("username", s.username, "      "));
    for (const a of s.authentication) lines.push(element("authentication", a, "      "));
    if (s.restriction) lines.push(element("restriction", s.restriction, "      "));
    lines.push(...extra);
    lines.push(`    </${tag}>`);
  };
  for (const s of provider.incoming) {
    const extra =
      s.type === "pop3" && s.leaveMessagesOnServer !== undefined
        ? [
            "      <pop3>",
            element("leaveMessagesOnServer", String(s.leaveMessagesOnServer), "        "),
            "      </pop3>",
          ]
        : [];
    server("incomingServer", s, extra);
  }
  for (const s of provider.exchangeServers ?? []) exchangeServer(lines, s);
  for (const s of provider.outgoing) server("outgoingServer", s);

  for (const doc of provider.documentation) {
    lines.push(`    <documentation url="${escapeXml(doc.url)}">`);
    for (const [lang, text] of Object.entries(doc.descr)) {
      lines.push(`      <descr lang="${escapeXml(lang)}">${escapeXml(text)}</descr>`);
    }
    lines.push("    </documentation>");
  }
  lines.push("  </emailProvider>");
  if (provider.webMail) webMail(lines, provider.webMail);
  if (provider.oauth2) {
    const o = provider.oauth2;
    lines.push("  <oAuth2>");
    lines.push(element("issuer", o.issuer, "    "));
    lines.push(element("scope", o.scope, "    "));
    lines.push(element("authURL", o.authURL, "    "));
    lines.push(element("tokenURL", o.tokenURL, "    "));
    lines.push("  </oAuth2>");
  }
  lines.push("</clientConfig>", "");
  return lines.join("\n");
}

/** One Exchange-family `incomingServer` (reference/autoconfig.md §1.4): URL types, or the combined `exchange`. */
function exchangeServer(lines: string[], s: ExchangeServer): void {
  lines.push(`    <incomingServer type="${s.type}">`);
  if (s.type === "exchange") {
    lines.push(element("hostname", s.hostname, "      "));
    lines.push(element("port", s.port, "      "));
    lines.push(element("socketType", s.socketType, "      "));
  }
  lines.push(element("username", s.username, "      "));
  for (const a of s.authentication) lines.push(element("authentication", a, "      "));
  if (s.type === "exchange") {
    if (s.owaURL) lines.push(element("owaURL", s.owaURL, "      "));
    if (s.ewsURL) lines.push(element("ewsURL", s.ewsURL, "      "));
    if (s.easURL) lines.push(element("easURL", s.easURL, "      "));
    if (s.useGlobalPreferredServer !== undefined)
      lines.push(element("useGlobalPreferredServer", String(s.useGlobalPreferredServer), "      "));
  } else lines.push(element("url", s.url, "      "));
  lines.push("    </incomingServer>");
}

/** clientConfig `webMail`, a child of `clientConfig` as in the ISPDB (reference/autoconfig.md §1.2). */
function webMail(lines: string[], w: NonNullable<Provider["webMail"]>): void {
  const field = (tag: string, f: { id?: string; name?: string } | undefined) => {
    if (!f) return;
    const attrs = [
      f.id !== undefined && ` id="${escapeXml(f.id)}"`,
      f.name !== undefined && ` name="${escapeXml(f.name)}"`,
    ]
      .filter(Boolean)
      .join("");
    lines.push(`      <${tag}${attrs}/>`);
  };
  lines.push("  <webMail>");
  if (w.loginPage) lines.push(`    <loginPage url="${escapeXml(w.loginPage)}"/>`);
  const info = w.loginPageInfo;
  if (info) {
    lines.push(`    <loginPageInfo url="${escapeXml(info.url)}">`);
    if (info.username !== undefined) lines.push(element("username", info.username, "      "));
    field("usernameField", info.usernameField);
    field("passwordField", info.passwordField);
    field("loginButton", info.loginButton);
    lines.push("    </loginPageInfo>");
  }
  lines.push("  </webMail>");
}
