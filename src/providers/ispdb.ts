/**
 * Reads Mozilla ISPDB files (clientConfig 1.1 XML, reference/autoconfig.md §1 and §4) as providers.
 *
 * Kept: `emailProvider/@id` (as `emailProviderId` when it differs from the file name; the folder
 * loader drops it when two files declare the same id), `domain` (a public list: `listDomains`),
 * `displayName`, `displayShortName`, every `incomingServer` of type imap/pop3 and `outgoingServer`
 * of type smtp (hostname, port, first known socketType, username, authentication in order,
 * `restriction`), `pop3/leaveMessagesOnServer`, Exchange-family incoming servers (`exchange` with
 * `owaURL`/`ewsURL`/`easURL`/`useGlobalPreferredServer`; `ews`, `owa`, `graph` with `url`) as
 * `exchangeServers`, `webMail`, `documentation`, `oAuth2`. Other server types (nntp, jmap …) are
 * skipped with a warning. Deprecated auth names are mapped (`plain` → password-cleartext, `secure`
 * → password-encrypted), as Thunderbird does. A server without `username` gets `%EMAILADDRESS%`.
 *
 * A file is refused (with the reason, its line and column) unless it is well-formed XML
 * ({@link checkWellFormed}: no undefined entity or bare `&`, every element closed and matched …);
 * given as bytes, it must also be valid UTF-8 (or UTF-16 with a BOM). Text and attribute values
 * are decoded exactly as XML says: the five predefined entities and character references
 * (`&#x1F600;` → 😀), CDATA as it is.
 *
 * Web APIs only; file reading lives in the Node entry (src/node/config-files.ts).
 */
import { XMLParser } from "fast-xml-parser";
import {
  checkWellFormed,
  decodeText,
  decodeXmlBytes,
  detectEncoding,
  invalidUtf8Offset,
} from "../xml/xml-read.ts";
import {
  AUTHENTICATION_METHODS,
  type FieldError,
  type Provider,
  parseProvider,
  SOCKET_TYPES,
} from "./model.ts";

/** Result of reading one ISPDB file. */
export type IspdbResult =
  | { ok: true; provider: Provider; warnings: string[] }
  | { ok: false; errors: FieldError[] };

const ARRAY_ELEMENTS = new Set([
  "emailProvider",
  "domain",
  "incomingServer",
  "outgoingServer",
  "authentication",
  "socketType",
  "documentation",
  "descr",
  "restriction",
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  // References are decoded by decodeText after the well-formedness check (fast-xml-parser decodes
  // only some, and none in CDATA must be): CDATA is kept apart under "#cdata".
  processEntities: false,
  htmlEntities: false,
  cdataPropName: "#cdata",
  trimValues: true,
  isArray: (name) => ARRAY_ELEMENTS.has(name),
});

const AUTH_SYNONYMS: Record<string, string> = { plain: "password-cleartext", secure: "password-encrypted" };

type Node = Record<string, unknown>;

function text(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (!v || typeof v !== "object" || !("#text" in v || "#cdata" in v)) return undefined;
  const node = v as Node;
  return [node["#text"], node["#cdata"]]
    .flat()
    .filter((x) => x !== undefined)
    .map(String)
    .join("");
}

/** The tree with every text and attribute value decoded (checked well-formed, so every reference is valid). */
function decodeTree(v: unknown): unknown {
  if (typeof v === "string") return decodeText(v) ?? v;
  if (Array.isArray(v)) return v.map(decodeTree);
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === "#cdata" ? x : decodeTree(x)]));
  return v;
}

const refuse = (message: string): IspdbResult => ({ ok: false, errors: [{ path: [], message }] });

/**
 * The text of a file given as bytes: BOM or UTF-16 zero bytes decide, else UTF-8 (XML 1.0 Appendix F).
 * @returns the text, or the reason it cannot be decoded
 */
function decodeFile(bytes: Uint8Array): { text: string } | { error: string } {
  // A file that declares a Latin-1 encoding is read as such (WHATWG maps the label to windows-1252).
  const head = String.fromCharCode(...bytes.subarray(0, 200));
  const declared = /^<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1]?.toLowerCase();
  if (declared && ["iso-8859-1", "iso_8859-1", "latin1", "l1", "windows-1252", "cp1252"].includes(declared)) {
    return { text: new TextDecoder("windows-1252").decode(bytes) };
  }
  const text = decodeXmlBytes(bytes);
  if (text !== undefined) return { text };
  const { encoding, bom } = detectEncoding(bytes);
  if (encoding !== "utf-8")
    return { error: `not valid ${encoding.toUpperCase()} (odd length or a lone surrogate)` };
  const at = (invalidUtf8Offset(bytes.subarray(bom)) ?? 0) + bom;
  return {
    error: `not valid UTF-8: byte ${at} (0x${(bytes[at] ?? 0).toString(16).padStart(2, "0")}) does not start a UTF-8 character`,
  };
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/**
 * Parses one clientConfig document into a provider.
 * @param xml the file's bytes (preferred: they are checked to be valid UTF-8), or its text already
 *   decoded (a leading BOM character is ignored)
 * @param fileName used as the provider id (`gmail.com.xml` → `gmail.com`) when it is a valid id,
 *   because ISPDB ids repeat across files (zoho.*) and some are not host names (`MessagingEngine`)
 * @returns the provider, or the errors with field paths inside the document; never throws
 */
export function parseIspdb(xml: string | Uint8Array, fileName = ""): IspdbResult {
  let source: string;
  if (typeof xml === "string") source = xml.replace(/^\uFEFF/, "");
  else {
    const decoded = decodeFile(xml);
    if ("error" in decoded) return refuse(decoded.error);
    source = decoded.text;
  }
  if (/<!(DOCTYPE|ENTITY)/i.test(source)) return refuse("DOCTYPE and ENTITY declarations are not accepted");
  const problem = checkWellFormed(source);
  if (problem)
    return refuse(`not well-formed XML: line ${problem.line}, column ${problem.column}: ${problem.message}`);
  let doc: Node;
  try {
    doc = decodeTree(parser.parse(source)) as Node;
  } catch (e) {
    return refuse(`not well-formed XML: ${(e as Error).message}`);
  }
  const root = doc.clientConfig as Node | undefined;
  if (!root || typeof root !== "object") {
    return { ok: false, errors: [{ path: [], message: "expected a <clientConfig> root element" }] };
  }
  const ep = list(root.emailProvider)[0] as Node | undefined;
  if (!ep || typeof ep !== "object") {
    return {
      ok: false,
      errors: [{ path: ["clientConfig"], message: "expected an <emailProvider> element" }],
    };
  }
  const warnings: string[] = [];
  const fromFile = fileName
    .replace(/^.*[\\/]/, "")
    .replace(/\.xml$/i, "")
    .toLowerCase();
  const declaredId = String(ep["@_id"] ?? "").toLowerCase();
  const id = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/.test(fromFile) ? fromFile : declaredId;

  const server = (s: Node) => {
    const socketTypes = list(s.socketType).map(text);
    const socketType = socketTypes.find((t) => (SOCKET_TYPES as readonly (string | undefined)[]).includes(t));
    const authentication = list(s.authentication)
      .map((a) => text(a) ?? "")
      .map((a) => AUTH_SYNONYMS[a] ?? a);
    const unknown = authentication.filter((a) => !(AUTHENTICATION_METHODS as readonly string[]).includes(a));
    if (unknown.length) warnings.push(`unknown authentication ${unknown.join(", ")} skipped`);
    const portText = text(s.port)?.trim();
    const restriction = text(list(s.restriction)[0]);
    return {
      hostname: text(s.hostname),
      port: portText && /^\d+$/.test(portText) ? Number(portText) : portText,
      socketType: socketType ?? socketTypes[0],
      username: text(s.username),
      authentication: authentication.filter((a) => !unknown.includes(a)),
      ...(restriction ? { restriction } : {}),
    };
  };

  const exchangeServers: unknown[] = [];
  const exchange = (type: string, s: Node) => {
    const { hostname, port, socketType, username, authentication } = server(s);
    const auth = authentication.length ? { authentication } : {};
    const user = username ? { username } : {};
    if (type !== "exchange") {
      exchangeServers.push({ type, url: text(s.url), ...user, ...auth });
      return;
    }
    const flag = text(s.useGlobalPreferredServer);
    exchangeServers.push({
      type,
      hostname,
      ...(port !== undefined ? { port } : {}),
      ...(socketType !== undefined ? { socketType } : {}),
      ...user,
      ...auth,
      ...Object.fromEntries(
        (["owaURL", "ewsURL", "easURL"] as const).flatMap((k) => (text(s[k]) ? [[k, text(s[k])]] : [])),
      ),
      ...(flag === "true" || flag === "false" ? { useGlobalPreferredServer: flag === "true" } : {}),
    });
  };

  const incoming: unknown[] = [];
  for (const s of list(ep.incomingServer) as Node[]) {
    const type = String(s["@_type"] ?? "");
    if (["exchange", "ews", "owa", "graph"].includes(type)) {
      exchange(type, s);
      continue;
    }
    if (type !== "imap" && type !== "pop3") {
      warnings.push(`incomingServer type="${type}" skipped (not IMAP, POP3 or Exchange)`);
      continue;
    }
    const pop3 = s.pop3 as Node | undefined;
    const leave = text(pop3?.leaveMessagesOnServer);
    incoming.push({
      type,
      ...server(s),
      ...(type === "pop3" && (leave === "true" || leave === "false")
        ? { leaveMessagesOnServer: leave === "true" }
        : {}),
    });
  }
  const outgoing: unknown[] = [];
  for (const s of list(ep.outgoingServer) as Node[]) {
    const type = String(s["@_type"] ?? "");
    if (type !== "smtp") {
      warnings.push(`outgoingServer type="${type}" skipped`);
      continue;
    }
    outgoing.push({ type, ...server(s) });
  }
  const documentation = (list(ep.documentation) as Node[])
    .filter((d) => typeof d === "object" && /^https?:\/\//.test(String(d["@_url"] ?? "")))
    .map((d) => ({
      url: String(d["@_url"]),
      descr: Object.fromEntries(
        list(d.descr).map((x) => [String((x as Node)?.["@_lang"] ?? "en"), text(x) ?? ""] as const),
      ),
    }));
  const oAuth2 = root.oAuth2 as Node | undefined;
  const oauth2 =
    oAuth2 && text(oAuth2.authURL) && text(oAuth2.tokenURL)
      ? {
          issuer: text(oAuth2.issuer) ?? "",
          scope: text(oAuth2.scope) ?? "",
          authURL: text(oAuth2.authURL),
          tokenURL: text(oAuth2.tokenURL),
        }
      : undefined;

  const web = (root.webMail ?? ep.webMail) as Node | undefined;
  const formField = (v: unknown) => {
    const f = v as Node | undefined;
    if (!f || typeof f !== "object") return v === "" ? {} : undefined;
    const out = {
      ...(f["@_id"] !== undefined ? { id: String(f["@_id"]) } : {}),
      ...(f["@_name"] !== undefined ? { name: String(f["@_name"]) } : {}),
    };
    return out;
  };
  const info = web?.loginPageInfo as Node | undefined;
  const webMail =
    web && typeof web === "object"
      ? {
          ...(web.loginPage && (web.loginPage as Node)["@_url"]
            ? { loginPage: String((web.loginPage as Node)["@_url"]) }
            : {}),
          ...(info && typeof info === "object" && info["@_url"]
            ? {
                loginPageInfo: {
                  url: String(info["@_url"]),
                  ...(text(info.username) !== undefined ? { username: text(info.username) } : {}),
                  ...Object.fromEntries(
                    (["usernameField", "passwordField", "loginButton"] as const).flatMap((k) => {
                      const f = formField(info[k]);
                      return f ? [[k, f]] : [];
                    }),
                  ),
                },
              }
            : {}),
        }
      : undefined;

  const rawId = String(ep["@_id"] ?? "");
  const candidate = {
    id,
    ...(rawId !== id && /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/.test(rawId) ? { emailProviderId: rawId } : {}),
    listDomains: true,
    displayName: text(ep.displayName) || id,
    ...(text(ep.displayShortName) ? { displayShortName: text(ep.displayShortName) } : {}),
    domains: list(ep.domain).map(text),
    incoming,
    ...(exchangeServers.length ? { exchangeServers } : {}),
    outgoing,
    documentation,
    ...(webMail && Object.keys(webMail).length ? { webMail } : {}),
    ...(oauth2 ? { oauth2 } : {}),
  };
  const result = parseProvider(candidate);
  if (!result.ok) return { ok: false, errors: result.errors };
  return { ok: true, provider: result.value, warnings };
}
