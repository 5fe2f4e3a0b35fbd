/**
 * Domain names and e-mail addresses as mailconf compares them: lower case, no trailing dot,
 * internationalised names in ASCII (punycode) form (DESIGN.md "The settings model").
 * Web APIs only (WHATWG URL does the IDNA mapping on Node and on Workers).
 */

const LABEL_RE = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/**
 * A domain already in normal form (lower-case LDH labels, two or more, the last not all digits, no
 * trailing dot): {@link normalizeDomain} returns it unchanged, so it is taken as it is (the common case).
 */
const NORMAL_DOMAIN = /^(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?!\d+$)(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Whether {@link normalizeDomain} would return `text` unchanged, told without its general steps. */
function isNormalDomain(text: string): boolean {
  return text.length <= 253 && NORMAL_DOMAIN.test(text);
}

/**
 * Normalises a domain name: trims, drops one trailing dot, maps IDN to punycode, lower-cases.
 * With `wildcard`, a leading `*.` is kept (`*.example.com`).
 * @returns the normal form, or `undefined` if the text is not a valid domain name
 *   (needs at least two labels; each 1-63 LDH characters; 253 characters at most).
 */
export function normalizeDomain(input: string, opts: { wildcard?: boolean } = {}): string | undefined {
  if (isNormalDomain(input)) return input;
  let text = input.trim();
  if (text.endsWith(".")) text = text.slice(0, -1);
  let prefix = "";
  if (opts.wildcard && text.startsWith("*.")) {
    prefix = "*.";
    text = text.slice(2);
  }
  if (text.length === 0 || text.length > 253 || /[\s/\\?#@:%[\]]/.test(text)) return undefined;
  let ascii: string;
  if (/^[\x21-\x7e]+$/.test(text)) {
    ascii = text.toLowerCase();
  } else {
    try {
      ascii = new URL(`http://${text}/`).hostname;
    } catch {
      return undefined;
    }
  }
  const labels = ascii.split(".");
  if (labels.length < 2 || !labels.every((l) => LABEL_RE.test(l))) return undefined;
  if (/^\d+$/.test(labels[labels.length - 1] ?? "")) return undefined; // an IP address, not a domain
  return prefix + ascii;
}

/** An e-mail address split for placeholder expansion (`%EMAILLOCALPART%`, `%EMAILDOMAIN%`). */
export interface EmailAddress {
  /** The address as clients should use it: local part as given, domain normalised. */
  address: string;
  localPart: string;
  /** Lower-case ASCII domain. */
  domain: string;
}

// RFC 6531 §3.3 UTF8-non-ascii: any Unicode scalar value beyond ASCII, except noncharacters
// (U+FDD0-U+FDEF, U+FFFE, U+FFFF), which XML and plists cannot carry: an address with one would
// be dropped from the profile but kept in the JSON, and two formats would describe two accounts.
const DOT_ATOM =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uD7FF\uE000-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{10FFFF}-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uD7FF\uE000-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{10FFFF}-]+)*$/u;
const QUOTED = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;
const NON_ASCII = /[\u0080-\uffff]/;
/** An address whose local part is an ASCII dot-atom (RFC 5322 §3.2.3), split at its last `@`. */
const PLAIN_ADDRESS =
  /^([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([a-z0-9.-]+)$/;
const utf8 = new TextEncoder();

/** Length of a string in UTF-8 octets. */
function utf8Length(text: string): number {
  return NON_ASCII.test(text) ? utf8.encode(text).length : text.length;
}

/**
 * Parses an e-mail address (RFC 5321 dot-atom or quoted local part, ≤ 64 octets; domain as
 * {@link normalizeDomain}). Thunderbird sends `+` percent-encoded, but some proxies turn it into
 * a space, so a space in the local part is read back as `+` (reference/autoconfig.md §6.2).
 * @returns the parts, or `undefined` if it is not a plausible address.
 */
export function parseEmailAddress(input: string): EmailAddress | undefined {
  const plain = PLAIN_ADDRESS.exec(input);
  if (plain) {
    // A dot-atom local part of ASCII and a domain in normal form: nothing to trim, map or read back.
    const [, localPart = "", domain = ""] = plain;
    if (localPart.length <= 64 && input.length <= 320 && isNormalDomain(domain))
      return { address: input, localPart, domain };
  }
  const text = input.trim();
  if (text.length > 320) return undefined;
  const at = text.lastIndexOf("@");
  if (at <= 0 || at === text.length - 1) return undefined;
  const localPart = text.slice(0, at).replace(/ /g, "+");
  const domain = normalizeDomain(text.slice(at + 1));
  if (domain === undefined) return undefined;
  if (utf8Length(localPart) > 64) return undefined;
  if (!DOT_ATOM.test(localPart) && !QUOTED.test(localPart)) return undefined;
  return { address: `${localPart}@${domain}`, localPart, domain };
}
