/**
 * Reading an Autodiscover POX request body from a stranger (MS-OXDSCLI §2.2.3, MS-ASCMD §2.2.3.1;
 * reference/autodiscover.md §1.2, §6, §7 steps 2-7).
 *
 * In order, each step refusing with a reason (answered with Autodiscover error 600):
 * 1. Bytes are decoded by BOM (UTF-8, UTF-16LE, UTF-16BE); without one, a UTF-16 body is
 *    recognised by its zero bytes (XML 1.0 Appendix F), else it is UTF-8. Invalid encodings are refused.
 * 2. Any `<!DOCTYPE` or `<!ENTITY` is refused before the parser sees the text (no XXE, no entity
 *    expansion: Zimbra's CVE-2019-9670 was on this endpoint).
 * 3. The text must be well-formed and namespace-well-formed ({@link checkWellFormed}: one root,
 *    no undefined entity or bare `&` anywhere, no `<` in attribute values, no `--` in comments, one
 *    XML declaration at the start, names with at most one colon …) and nest at most
 *    {@link MAX_DEPTH} elements deep, with at most {@link MAX_ELEMENTS} elements and
 *    {@link MAX_ATTRIBUTES} attributes. An element with an undeclared prefix is tolerated but never
 *    matched (step 4).
 * 4. Elements are matched by local name and namespace, never by prefix or order. The request
 *    namespace may be the Outlook or the mobilesync one, with `https://` accepted for `http://` (a typo
 *    copied from Microsoft's docs), or absent (hand-written clients). Elements of any other namespace are
 *    ignored.
 * 5. Exactly one `Request`; in it at most one each of `EMailAddress`, `LegacyDN`,
 *    `AcceptableResponseSchema` (text only; the five predefined entities and character references are
 *    decoded here, anything else is refused).
 *
 * Nothing from the request is ever written into a response as-is: the handler uses
 * {@link AutodiscoverRequest.schema} (a closed set) and the address after validation.
 */
import { XMLParser } from "fast-xml-parser";
import { checkWellFormed, decodeText, decodeXmlBytes } from "../xml/xml-read.ts";

/**
 * True for the POX path in any letter case, with or without one trailing slash. Here, not in
 * autodiscover.ts, so that operations.ts (imported by context.ts) does not import a handler that
 * imports context.ts: that cycle left context's constants uninitialised when the compiled server loaded.
 */
export function isAutodiscoverXmlPath(path: string): boolean {
  return POX_PATH.test(path);
}

const POX_PATH = /^\/autodiscover\/autodiscover\.xml\/?$/i;

export { decodeText, decodeXmlBytes, detectEncoding } from "../xml/xml-read.ts";

/** Largest request body read, in bytes (counted while reading). Real requests are < 1 KiB. */
export const MAX_AUTODISCOVER_BODY_BYTES = 16 * 1024;

/** Deepest element nesting accepted; a real request nests 3 deep (Autodiscover/Request/EMailAddress). */
export const MAX_DEPTH = 16;

/**
 * Most elements and most attributes (namespace declarations included) a request may have. A real
 * request has 3-5 elements and 1-3 attributes; the bounds keep a hostile body (thousands of
 * attributes, declarations or siblings in 16 KiB) within a small constant factor of a real one.
 */
export const MAX_ELEMENTS = 64;
export const MAX_ATTRIBUTES = 64;

/** Request namespaces (MS-OXDSCLI §2.2.1, MS-ASCMD §2.2.3.1), in the form {@link lenient} gives. */
const REQUEST_NAMESPACES = new Set([
  "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006",
  "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006",
]);
const OUTLOOK_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
const MOBILESYNC_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006";

/**
 * Which answer the client asked for (AcceptableResponseSchema, compared trimmed, case-insensitively,
 * `https://` read as `http://`): `outlook` (…/outlook/responseschema/2006a), `mobilesync`
 * (…/mobilesync/responseschema/2006), or `other` (anything else, e.g. certenroll → error 601).
 * A missing AcceptableResponseSchema counts as the schema of the request namespace (Outlook if none).
 */
export type ResponseSchema = "outlook" | "mobilesync" | "other";

/** A request as mailconf understands it. Text fields are trimmed; empty ones are absent. */
export interface AutodiscoverRequest {
  /** `Request/EMailAddress`, as sent (not yet validated). */
  emailAddress?: string;
  /** `Request/LegacyDN` (Exchange's X.500 name). mailconf has no LegacyDN directory, see the handler. */
  legacyDN?: string;
  schema: ResponseSchema;
}

/** Why a body was refused; every reason is answered with Autodiscover error 600. */
export type AutodiscoverParseError =
  | "empty"
  | "encoding"
  | "doctype"
  | "malformed"
  | "too-deep"
  | "wrong-root"
  | "wrong-namespace"
  | "request-count"
  | "field-count"
  | "bad-text";

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  parseAttributeValue: false,
  // Entities are decoded by decodeText below, after the DOCTYPE check: exactly XML's five plus
  // character references, and CDATA is kept apart so it is never decoded.
  processEntities: false,
  htmlEntities: false,
  cdataPropName: "#cdata",
  commentPropName: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_DEPTH,
  isArray: (_name, _jpath, _isLeaf, isAttribute) => !isAttribute,
});

type XmlNode = Record<string, unknown>;
type Scope = ReadonlyMap<string, string>;

const localName = (qname: string) => qname.slice(qname.indexOf(":") + 1);
const prefixOf = (qname: string) => (qname.includes(":") ? qname.slice(0, qname.indexOf(":")) : "");
/**
 * A namespace or schema URI as compared (reference/autodiscover.md §7 step 7): trimmed, lower case,
 * `https://` read as `http://`.
 */
const lenient = (uri: string) =>
  uri
    .trim()
    .toLowerCase()
    .replace(/^https:\/\//, "http://");

/** Namespace declarations of one element (`xmlns`, `xmlns:p`), merged over the parent's scope. */
function scopeOf(node: XmlNode, parent: Scope): Scope {
  let out: Map<string, string> | undefined;
  for (const [k, v] of Object.entries(node)) {
    if (k === "@xmlns" || k.startsWith("@xmlns:")) {
      out ??= new Map(parent);
      out.set(k === "@xmlns" ? "" : k.slice(7), decodeText(String(v)) ?? "\u0000invalid");
    }
  }
  return out ?? parent;
}

/** True for an element namespace we read: none, or one of the request namespaces (either scheme). */
function isRequestNamespace(ns: string | undefined): boolean {
  return ns === undefined || ns === "" || REQUEST_NAMESPACES.has(lenient(ns));
}

interface Element {
  node: XmlNode;
  scope: Scope;
  /** Namespace URI; `undefined` for no namespace. */
  ns: string | undefined;
}

/** Child elements of `parent` with local name `name` in a request namespace (unbound prefixes never match). */
function children(parent: Element, name: string): Element[] {
  const out: Element[] = [];
  for (const [key, value] of Object.entries(parent.node)) {
    if (key.startsWith("@") || key.startsWith("#") || localName(key) !== name) continue;
    for (const child of value as unknown[]) {
      const node = (typeof child === "object" && child !== null ? child : { "#text": child }) as XmlNode;
      const scope = scopeOf(node, parent.scope);
      const prefix = prefixOf(key);
      if (prefix && !scope.has(prefix)) continue;
      const ns = scope.get(prefix) || undefined;
      if (isRequestNamespace(ns)) out.push({ node, scope, ns });
    }
  }
  return out;
}

/**
 * The text content of an element that must hold text only.
 * @returns trimmed text (`""` if empty); `undefined` if it holds child elements or undecodable text
 */
function textOf(el: Element): string | undefined {
  let text = "";
  for (const [key, value] of Object.entries(el.node)) {
    if (key.startsWith("@")) continue;
    const parts = (Array.isArray(value) ? value : [value]).map(String);
    if (key === "#text") {
      const decoded = decodeText(parts.join(""));
      if (decoded === undefined) return undefined;
      text += decoded;
    } else if (key === "#cdata") {
      text += parts.join("");
    } else {
      return undefined; // a child element where text belongs
    }
  }
  return text.trim();
}

type Parsed = { ok: true; request: AutodiscoverRequest } | { ok: false; reason: AutodiscoverParseError };

/**
 * Parses request bytes (any size; the caller caps them at {@link MAX_AUTODISCOVER_BODY_BYTES}).
 * @returns the request, or the reason it is refused (→ Autodiscover error 600); never throws
 */
export function parseAutodiscoverRequest(bytes: Uint8Array): Parsed {
  const decoded = decodeXmlBytes(bytes);
  if (decoded === undefined) return { ok: false, reason: "encoding" };
  if (decoded.trim() === "") return { ok: false, reason: "empty" };
  if (/<!\s*(DOCTYPE|ENTITY)/i.test(decoded)) return { ok: false, reason: "doctype" };
  // White space before the XML declaration is forgiven (hand-written clients). The declaration's
  // encoding is ignored: .NET writers declare encoding="utf-16" on UTF-8 bytes, and the bytes, not
  // the declaration, decide (reference/autodiscover.md §1.2).
  const text = decoded.replace(/^[ \t\r\n]+/, "");
  const problem = checkWellFormed(text, {
    maxDepth: MAX_DEPTH,
    maxElements: MAX_ELEMENTS,
    maxAttributes: MAX_ATTRIBUTES,
    unboundPrefixes: "allow",
  });
  if (problem) return { ok: false, reason: problem.tooDeep ? "too-deep" : "malformed" };
  let doc: XmlNode;
  try {
    doc = parser.parse(text) as XmlNode;
  } catch (e) {
    return { ok: false, reason: /nested/i.test((e as Error).message) ? "too-deep" : "malformed" };
  }
  const roots = Object.keys(doc).filter((k) => !k.startsWith("?") && !k.startsWith("#"));
  const rootKey = roots[0];
  const rootList = rootKey === undefined ? [] : (doc[rootKey] as unknown[]);
  if (roots.length !== 1 || rootList.length !== 1 || localName(rootKey ?? "") !== "Autodiscover")
    return { ok: false, reason: "wrong-root" };
  const rootValue = rootList[0];
  const rootNode = (typeof rootValue === "object" && rootValue !== null ? rootValue : {}) as XmlNode;
  const rootScope = scopeOf(rootNode, new Map());
  const prefix = prefixOf(rootKey ?? "");
  if (prefix && !rootScope.has(prefix)) return { ok: false, reason: "wrong-namespace" };
  const rootNs = rootScope.get(prefix) || undefined;
  if (!isRequestNamespace(rootNs)) return { ok: false, reason: "wrong-namespace" };
  const root: Element = { node: rootNode, scope: rootScope, ns: rootNs };

  const requests = children(root, "Request");
  if (requests.length !== 1) return { ok: false, reason: "request-count" };
  const request = requests[0] as Element;
  const field = (name: string): { ok: boolean; bad?: boolean; value?: string } => {
    const found = children(request, name);
    if (found.length === 0) return { ok: true };
    if (found.length > 1) return { ok: false };
    const value = textOf(found[0] as Element);
    return value === undefined ? { ok: false, bad: true } : { ok: true, value: value || undefined };
  };
  const fields = [field("EMailAddress"), field("LegacyDN"), field("AcceptableResponseSchema")] as const;
  const refused = fields.find((f) => !f.ok);
  if (refused) return { ok: false, reason: refused.bad ? "bad-text" : "field-count" };
  const [email, legacyDN, schemaText] = fields;

  const requestIsMobilesync = rootNs !== undefined && lenient(rootNs).includes("/mobilesync/");
  let schema: ResponseSchema;
  if (schemaText.value === undefined) schema = requestIsMobilesync ? "mobilesync" : "outlook";
  else if (lenient(schemaText.value) === OUTLOOK_SCHEMA) schema = "outlook";
  else if (lenient(schemaText.value) === MOBILESYNC_SCHEMA) schema = "mobilesync";
  else schema = "other";
  return { ok: true, request: { emailAddress: email.value, legacyDN: legacyDN.value, schema } };
}
