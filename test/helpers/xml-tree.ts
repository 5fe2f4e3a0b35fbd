/**
 * XML documents as ordered element trees, and "does our answer say everything the reference document
 * says, in the same order?" — for comparing answers with the corpus response fixtures, which are the
 * shapes real clients accept but leave out elements we add (TTL, AccountType …).
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";

/** An element: name as written, attributes, child elements in order, and its own text (trimmed). */
export interface XmlTree {
  name: string;
  attrs: Record<string, string>;
  children: XmlTree[];
  text: string;
}

const ordered = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  htmlEntities: false,
  trimValues: true,
  ignoreDeclaration: true,
});

type Ordered = Record<string, unknown>;

function convert(node: Ordered): XmlTree | undefined {
  const name = Object.keys(node).find((k) => k !== ":@" && k !== "#text");
  if (!name) return undefined;
  const attrs = (node[":@"] ?? {}) as Record<string, string>;
  const tree: XmlTree = { name, attrs, children: [], text: "" };
  for (const child of node[name] as Ordered[]) {
    if ("#text" in child) tree.text += String(child["#text"]);
    else {
      const c = convert(child);
      if (c) tree.children.push(c);
    }
  }
  return tree;
}

/**
 * Parses a whole document (throws if it is not well-formed or has other than one root element).
 */
export function parseTree(xml: string): XmlTree {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`not well-formed: ${JSON.stringify(valid)}`);
  const roots = (ordered.parse(xml) as Ordered[]).map(convert).filter((t): t is XmlTree => t !== undefined);
  if (roots.length !== 1) throw new Error(`expected one root element, got ${roots.length}`);
  return roots[0] as XmlTree;
}

/** Direct children named `name`. */
export function childrenNamed(tree: XmlTree, name: string): XmlTree[] {
  return tree.children.filter((c) => c.name === name);
}

/** The first element reached by a path of names (`["Response", "Account"]`), or undefined. */
export function at(tree: XmlTree, ...path: string[]): XmlTree | undefined {
  let node: XmlTree | undefined = tree;
  for (const name of path) node = node?.children.find((c) => c.name === name);
  return node;
}

/** Options of {@link missingFrom}. */
export interface CompareOptions {
  /** Element names not compared. */
  ignore?: string[];
  /** Element names whose children may come in any order. */
  unordered?: string[];
}

/**
 * Differences by which `actual` fails to say what `expected` says: same root name, same `xmlns`,
 * same text; `expected`'s children found in `actual` in the same relative order (extra children in
 * `actual` are allowed). Empty list = subsumed.
 */
export function missingFrom(
  expected: XmlTree,
  actual: XmlTree,
  options: CompareOptions = {},
  path = "",
): string[] {
  const ignore = options.ignore ?? [];
  const ordered = !(options.unordered ?? []).includes(expected.name);
  const here = `${path}/${expected.name}`;
  if (expected.name !== actual.name) return [`${here}: element is ${actual.name}`];
  const problems: string[] = [];
  if ((expected.attrs.xmlns ?? null) !== (actual.attrs.xmlns ?? null))
    problems.push(`${here}: xmlns ${actual.attrs.xmlns} instead of ${expected.attrs.xmlns}`);
  if (expected.children.length === 0 && expected.text !== actual.text)
    problems.push(`${here}: text ${JSON.stringify(actual.text)} instead of ${JSON.stringify(expected.text)}`);
  let from = 0;
  for (const child of expected.children) {
    if (ignore.includes(child.name)) continue;
    let matched = -1;
    for (let i = from; i < actual.children.length; i++) {
      const candidate = actual.children[i] as XmlTree;
      if (candidate.name === child.name && missingFrom(child, candidate, options, here).length === 0) {
        matched = i;
        break;
      }
    }
    if (matched < 0) {
      const sameName = actual.children.slice(from).find((c) => c.name === child.name);
      problems.push(
        ...(sameName
          ? missingFrom(child, sameName, options, here)
          : [`${here}/${child.name}: missing or out of order`]),
      );
    } else if (ordered) from = matched + 1;
  }
  return problems;
}
