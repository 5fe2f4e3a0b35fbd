/**
 * Answers compiled once: a template rendered for a provider and mail domain with a sentinel in
 * place of the address's local part, split at the sentinel; a request then only joins the pieces
 * with its own local part, escaped for the format. Generic: any pure template of an
 * {@link EmailAddress} works, none is rewritten for it.
 *
 * The sentinel is U+E000, a private-use character that no escaping in the templates touches (XML
 * escaping, plist strings, JSON.stringify all keep it as is). A template that does something else
 * with the address (hashes it, percent-encodes it, changes its case) is detected when compiling: the
 * compiled form must give exactly the direct rendering for a probe address with characters every
 * format escapes (`'`, `&`, `+`), else {@link compileByLocalPart} returns `undefined` and the caller
 * renders per request. test/compiled-answers.test.ts compares both over many addresses.
 */
import type { EmailAddress } from "../providers/domain.ts";

/** Stands for the local part while compiling (Unicode private use area). */
export const LOCAL_PART_SENTINEL = "\uE000";

/** A valid dot-atom local part holding characters XML and JSON escape. */
const PROBE = "o'k&x.y+z";

/** Fills a compiled answer with one address's local part (already validated, unescaped). */
export type CompiledAnswer = (localPart: string) => string;

/**
 * Compiles `render` for the addresses of `domain`.
 * @param render a pure template of the address (everything else fixed by the caller)
 * @param domain the normalised mail domain every address shares
 * @param escapeText how the format escapes text where the address appears (e.g. escapeXml)
 * @returns the compiled answer, or `undefined` when the template cannot be compiled this way
 */
export function compileByLocalPart(
  render: (address: EmailAddress) => string,
  domain: string,
  escapeText: (text: string) => string,
): CompiledAnswer | undefined {
  const at = (localPart: string): EmailAddress => ({ localPart, domain, address: `${localPart}@${domain}` });
  const pieces = render(at(LOCAL_PART_SENTINEL)).split(LOCAL_PART_SENTINEL);
  const compiled: CompiledAnswer =
    pieces.length === 1 ? () => pieces[0] ?? "" : (localPart) => pieces.join(escapeText(localPart));
  return compiled(PROBE) === render(at(PROBE)) ? compiled : undefined;
}

/** Stands for the mail domain while compiling (Unicode private use area, next to the local part's). */
export const DOMAIN_SENTINEL = "\uE001";

/** A domain to check a compiled answer against the direct rendering. */
const DOMAIN_PROBE = "probe-0.mail.example";

/** Fills a compiled answer with one normalised mail domain. */
export type CompiledByDomain = (domain: string) => string;

/**
 * Compiles `render` for every mail domain: rendered once with {@link DOMAIN_SENTINEL} as the
 * domain, split there; a request joins the pieces with its domain, escaped for the format.
 * @param render a pure template of the domain (everything else fixed by the caller)
 * @param escapeText how the format escapes text where the domain appears (e.g. escapeXml)
 * @returns the compiled answer, or `undefined` when the template does anything else with the
 *   domain (the compiled form must give exactly the direct rendering for a probe domain)
 */
export function compileByDomain(
  render: (domain: string) => string,
  escapeText: (text: string) => string,
): CompiledByDomain | undefined {
  const pieces = render(DOMAIN_SENTINEL).split(DOMAIN_SENTINEL);
  const compiled: CompiledByDomain =
    pieces.length === 1 ? () => pieces[0] ?? "" : (domain) => pieces.join(escapeText(domain));
  return compiled(DOMAIN_PROBE) === render(DOMAIN_PROBE) ? compiled : undefined;
}
