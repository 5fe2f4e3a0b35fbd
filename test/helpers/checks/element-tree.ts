/**
 * A document as a tree of elements, as the client parsers the checkers imitate see it: names by
 * local name (namespaces ignored, as Thunderbird and Thunderbird for Android do), attributes by
 * name, text untrimmed and decoded (the five predefined entities and character references), and
 * whether an element holds text next to child elements. Refuses documents that are not
 * well-formed XML (src/providers/xml-read.ts checkWellFormed: the strict check, not
 * fast-xml-parser's lenient one).
 */
import { XMLParser } from "fast-xml-parser";
import { checkWellFormed, decodeText } from "../../../src/xml/xml-read.ts";

/** One element. */
export interface Element {
  /** Local name (`a:Autodiscover` → `Autodiscover`). */
  name: string;
  /** The name as written, with its prefix. */
  qname: string;
  attrs: Record<string, string>;
  children: Element[];
  /** Concatenated text of the element itself (not of its children), untrimmed, decoded. */
  text: string;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: "#cdata",
  commentPropName: "#comment",
});

type Ordered = Record<string, unknown>;

const local = (name: string) => name.slice(name.indexOf(":") + 1);
const decode = (raw: string) => decodeText(raw) ?? raw;

function convert(node: Ordered): Element | undefined {
  const name = Object.keys(node).find((k) => !["#text", "#cdata", "#comment", ":@"].includes(k));
  if (!name) return undefined;
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries((node[":@"] ?? {}) as Record<string, string>)) attrs[k] = decode(v);
  const element: Element = { name: local(name), qname: name, attrs, children: [], text: "" };
  for (const child of node[name] as Ordered[]) {
    if ("#text" in child) element.text += decode(String(child["#text"]));
    else if ("#cdata" in child)
      element.text += (child["#cdata"] as Ordered[]).map((c) => String(c["#text"] ?? "")).join("");
    else if (!("#comment" in child)) {
      const c = convert(child);
      if (c) element.children.push(c);
    }
  }
  return element;
}

/**
 * Parses a whole document.
 * @throws Error naming line and column when the text is not well-formed XML
 */
export function parseElementTree(xml: string): Element {
  const problem = checkWellFormed(xml.replace(/^\uFEFF/, ""));
  if (problem)
    throw new Error(`not well-formed: line ${problem.line}, column ${problem.column}: ${problem.message}`);
  const roots = (parser.parse(xml.replace(/^\uFEFF/, "")) as Ordered[])
    .map(convert)
    .filter((e): e is Element => e !== undefined);
  if (roots.length !== 1) throw new Error(`expected one root element, got ${roots.length}`);
  return roots[0] as Element;
}

/** Direct children named `name`. */
export const childrenNamed = (e: Element, name: string): Element[] =>
  e.children.filter((c) => c.name === name);

/** The first direct child named `name`. */
export const child = (e: Element, name: string): Element | undefined =>
  e.children.find((c) => c.name === name);

/** Every element below `e` (not `e` itself), depth first. */
export function descendants(e: Element): Element[] {
  return e.children.flatMap((c) => [c, ...descendants(c)]);
}
