/**
 * XML text helpers shared by the templates. Every value that came from a request or the store
 * goes through {@link escapeXml} (reference/autodiscover.md §6.5).
 */

/** Characters XML 1.0 forbids even as references (C0 controls except tab, LF, CR; U+FFFE/FFFF; lone surrogates). */
const INVALID_XML_CHARS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 forbids these characters; matching them is the point
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Any character {@link escapeXml} changes: the five specials, or one of {@link INVALID_XML_CHARS}'s ranges. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NEEDS_ESCAPING = /[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]/;

/**
 * Escapes text for element content and double- or single-quoted attribute values:
 * `& < > " '` become entity references, characters XML 1.0 cannot carry are dropped.
 */
export function escapeXml(value: string | number): string {
  const text = String(value);
  // Most values (host names, ports, addresses) need nothing: one scan instead of five replaces.
  if (!NEEDS_ESCAPING.test(text)) return text;
  return text
    .replace(INVALID_XML_CHARS, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** `<name>escaped text</name>`; `name` must be a constant of the template, never user data. */
export function element(name: string, value: string | number, indent = ""): string {
  return `${indent}<${name}>${escapeXml(value)}</${name}>`;
}
