/**
 * Reading an Autodiscover POX request body from a stranger (reference/autodiscover.md §1.2, §6).
 *
 * - Bytes are decoded by BOM (UTF-8, UTF-16LE, UTF-16BE), else as UTF-8.
 * - Any `<!DOCTYPE` or `<!ENTITY` is refused before parsing (no XXE, no entity expansion).
 * - Elements are matched by local name and namespace, not prefix or order. The request
 *   namespace may be the Outlook or mobilesync one, with `https://` accepted for `http://`
 *   (a typo copied from Microsoft's docs), or absent (hand-written clients: treated as Outlook).
 * - Exactly one `Request`; `EMailAddress` and `AcceptableResponseSchema` (missing → Outlook) read as text.
 */
import { XMLParser } from "fast-xml-parser";

/** Largest request body read, in bytes (counted while reading). Real requests are < 1 KiB. */
export const MAX_AUTODISCOVER_BODY_BYTES = 16 * 1024;

const REQUEST_NAMESPACES = new Set([
  "schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006",
  "schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006",
]);

/** A request as mailconf understands it. */
export interface AutodiscoverRequest {
  emailAddress?: string;
  legacyDN?: string;
  /** AcceptableResponseSchema with `https://` normalised to `http://`; the Outlook schema if absent. */
  acceptableResponseSchema: string;
  /** True if the request came in the mobilesync request namespace or asked for the mobilesync schema. */
  mobilesync: boolean;
}

/** Why a body was refused; every reason is answered with Autodiscover error 600. */
export type AutodiscoverParseError =
  | "empty"
  | "doctype"
  | "malformed"
  | "wrong-root"
  | "wrong-namespace"
  | "request-count"
  | "too-deep";

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  htmlEntities: false,
  trimValues: true,
  isArray: () => true,
});

type XmlNode = Record<string, unknown>;

/** Decodes request bytes by BOM: UTF-8 (EF BB BF), UTF-16LE (FF FE), UTF-16BE (FE FF), else UTF-8. */
export function decodeXmlBytes(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be").decode(bytes.subarray(2));
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
    return new TextDecoder().decode(bytes.subarray(3));
  return new TextDecoder().decode(bytes);
}

const localName = (qname: string) => qname.slice(qname.indexOf(":") + 1);
const prefixOf = (qname: string) => (qname.includes(":") ? qname.slice(0, qname.indexOf(":")) : "");
const stripScheme = (ns: string) => ns.replace(/^https?:\/\//i, "").toLowerCase();

/** Namespace declarations of one element, merged over the parent's scope. */
function scope(node: XmlNode, parent: Map<string, string>): Map<string, string> {
  let out = parent;
  for (const [k, v] of Object.entries(node)) {
    if (k === "@xmlns" || k.startsWith("@xmlns:")) {
      if (out === parent) out = new Map(parent);
      out.set(k === "@xmlns" ? "" : k.slice(7), String(v));
    }
  }
  return out;
}

/** Children of `node` with the given local name, each with its namespace resolved. */
function children(
  node: XmlNode,
  name: string,
  ns: Map<string, string>,
): { node: XmlNode; ns: Map<string, string> }[] {
  const out: { node: XmlNode; ns: Map<string, string> }[] = [];
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith("@") || k === "#text" || localName(k) !== name) continue;
    for (const child of v as unknown[]) {
      const childNode = (typeof child === "object" && child !== null ? child : { "#text": child }) as XmlNode;
      const childNs = scope(childNode, ns);
      // Elements of another namespace than the request's are not ours (prefix must resolve, if any).
      if (prefixOf(k) && !childNs.has(prefixOf(k))) continue;
      out.push({ node: childNode, ns: childNs });
    }
  }
  return out;
}

function textOf(node: XmlNode | undefined): string | undefined {
  if (!node) return undefined;
  const t = node["#text"];
  if (Array.isArray(t)) return t.map(String).join("");
  return t === undefined ? "" : String(t);
}

/**
 * Parses request bytes.
 * @returns the request, or the reason it is refused (→ Autodiscover error 600); never throws
 */
export function parseAutodiscoverRequest(
  bytes: Uint8Array,
): { ok: true; request: AutodiscoverRequest } | { ok: false; reason: AutodiscoverParseError } {
  const text = decodeXmlBytes(bytes).replace(/^\uFEFF/, "");
  if (text.trim() === "") return { ok: false, reason: "empty" };
  if (/<!\s*(DOCTYPE|ENTITY)/i.test(text)) return { ok: false, reason: "doctype" };
  // .NET writers declare encoding="utf-16" on UTF-8 bytes; the declaration is irrelevant once decoded.
  const body = text.replace(/^\s*<\?xml[^>]*\?>/, "");
  let doc: XmlNode;
  try {
    doc = parser.parse(body, true) as XmlNode;
  } catch (e) {
    return { ok: false, reason: /nested/i.test((e as Error).message) ? "too-deep" : "malformed" };
  }
  const roots = Object.keys(doc).filter((k) => !k.startsWith("?"));
  if (roots.length !== 1 || localName(roots[0] ?? "") !== "Autodiscover")
    return { ok: false, reason: "wrong-root" };
  const rootKey = roots[0] as string;
  const rootList = doc[rootKey] as XmlNode[];
  if (rootList.length !== 1) return { ok: false, reason: "wrong-root" };
  const root = rootList[0] as XmlNode;
  const rootNs = scope(root, new Map());
  const ns = rootNs.get(prefixOf(rootKey));
  if (ns !== undefined && !REQUEST_NAMESPACES.has(stripScheme(ns)))
    return { ok: false, reason: "wrong-namespace" };
  const requests = children(root, "Request", rootNs);
  if (requests.length !== 1) return { ok: false, reason: "request-count" };
  const req = requests[0] as { node: XmlNode; ns: Map<string, string> };
  const one = (name: string) => {
    const found = children(req.node, name, req.ns);
    return found.length === 1 ? textOf(found[0]?.node) : undefined;
  };
  const schemaText = one("AcceptableResponseSchema")?.trim();
  const mobilesyncNs = ns !== undefined && stripScheme(ns).includes("/mobilesync/");
  const acceptableResponseSchema = schemaText
    ? schemaText.replace(/^https:\/\//i, "http://")
    : mobilesyncNs
      ? "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
      : "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
  return {
    ok: true,
    request: {
      emailAddress: one("EMailAddress")?.trim() || undefined,
      legacyDN: one("LegacyDN")?.trim() || undefined,
      acceptableResponseSchema,
      mobilesync: mobilesyncNs || /\/mobilesync\//i.test(acceptableResponseSchema),
    },
  };
}
