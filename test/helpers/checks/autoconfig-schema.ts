/**
 * The structure of the autoconfig RELAX NG schema of draft-ietf-mailmaint-autoconfig ("XML
 * validation": the must-ignore rule), checked in TypeScript:
 *
 * - the root is `clientConfig` in no namespace with a `version` attribute;
 * - each element the schema defines may appear only where the schema places it, and then needs its
 *   attributes (`emailProvider/@id`, `documentation/@url`, `@type` of every server section,
 *   `clientConfigUpdate/@url`);
 * - elements the schema does not define (extension elements) are allowed at every extension point,
 *   with any content; the names it defines are matched, and so validated, wherever they occur
 *   outside an extension subtree;
 * - text-only elements (`domain`, `hostname`, `port`, `descr` …) hold no child elements;
 *   `port` is an `xsd:positiveInteger` (whitespace collapsed) ;
 * - element-only content (`clientConfig`, `emailProvider`, server sections, `documentation`,
 *   `oAuth2`) holds no text other than white space.
 *
 * @returns the problems, each with the element path; empty when the document is valid
 */
import { type Element, parseElementTree } from "./element-tree.ts";

const SERVER_SECTIONS = [
  "incomingServer",
  "outgoingServer",
  "calendar",
  "addressbook",
  "fileShare",
  "chatServer",
  "videoConference",
  "setupServer",
];
const SERVER_CHILDREN = ["url", "hostname", "port", "socketType", "authentication", "username"];
const OAUTH2_CHILDREN = ["authURL", "tokenURL", "issuer", "scope", "clientID", "clientSecret"];

/** Known element → the known elements allowed inside it (`text` = text-only). */
const CONTENT: Record<string, string[] | "text"> = {
  // Every server section but incomingServer and outgoingServer (those belong in emailProvider).
  clientConfig: ["emailProvider", ...SERVER_SECTIONS.slice(2), "oAuth2", "clientConfigUpdate"],
  emailProvider: [
    "domain",
    "displayName",
    "displayShortName",
    "documentation",
    "incomingServer",
    "outgoingServer",
  ],
  documentation: ["descr"],
  oAuth2: OAUTH2_CHILDREN,
  clientConfigUpdate: [],
  ...Object.fromEntries(SERVER_SECTIONS.map((s) => [s, SERVER_CHILDREN])),
  ...Object.fromEntries(
    ["domain", "displayName", "displayShortName", "descr", ...SERVER_CHILDREN, ...OAUTH2_CHILDREN].map(
      (n) => [n, "text" as const],
    ),
  ),
};

/** Attributes the schema requires. */
const REQUIRED_ATTRIBUTES: Record<string, string> = {
  clientConfig: "version",
  emailProvider: "id",
  documentation: "url",
  clientConfigUpdate: "url",
  ...Object.fromEntries(SERVER_SECTIONS.map((s) => [s, "type"])),
};

function validateElement(e: Element, path: string, problems: string[]): void {
  const content = CONTENT[e.name];
  if (content === undefined) return; // an extension element: anything inside is ignored
  const required = REQUIRED_ATTRIBUTES[e.name];
  if (required && e.attrs[required] === undefined) problems.push(`${path}: missing attribute ${required}`);
  if (content === "text") {
    if (e.children.length) problems.push(`${path}: text only, found <${e.children[0]?.name}>`);
    if (e.name === "port") {
      const t = e.text.replace(/[ \t\r\n]+/g, " ").trim();
      if (!/^\+?0*[1-9]\d*$/.test(t))
        problems.push(`${path}: not a positive integer: ${JSON.stringify(e.text)}`);
    }
    return;
  }
  if (e.text.trim() !== "") problems.push(`${path}: text not allowed here: ${JSON.stringify(e.text.trim())}`);
  for (const c of e.children) {
    const childPath = `${path}/${c.name}`;
    if (CONTENT[c.name] !== undefined && !content.includes(c.name)) {
      problems.push(`${childPath}: <${c.name}> is not allowed inside <${e.name}>`);
      continue;
    }
    validateElement(c, childPath, problems);
  }
}

/**
 * Validates an autoconfig document against the schema's structure.
 * @param xml the document text
 * @returns problems as `path: reason`; `[]` when valid. A document that is not well-formed XML
 *   gives one problem saying so.
 */
export function validateAutoconfigStructure(xml: string): string[] {
  let root: Element;
  try {
    root = parseElementTree(xml);
  } catch (e) {
    return [(e as Error).message];
  }
  if (root.qname !== "clientConfig" || (root.attrs.xmlns ?? "") !== "")
    return [`/${root.qname}: the root element must be clientConfig in no namespace`];
  const problems: string[] = [];
  validateElement(root, "/clientConfig", problems);
  return problems;
}
