/**
 * Reading XML that someone else wrote: bytes → text, a well-formedness check, and entity decoding.
 * Shared by the Autodiscover request reader (src/handlers/autodiscover-request.ts) and the ISPDB
 * reader (src/providers/ispdb.ts). Web APIs only.
 *
 * fast-xml-parser builds the trees afterwards, but it is not a conforming XML parser: it accepts
 * undefined entities (`&foo;`, kept as text), `<` and `&` in attribute values, `--` inside comments,
 * a second XML declaration, text or a second element after the root, `&#0;`, and names such as
 * `a:b:c`; its XMLValidator misses the same. So every document passes {@link checkWellFormed} first,
 * and text is decoded by {@link decodeText} (exactly XML's five entities and character references).
 */

/** The encoding a body is read in: its BOM, else UTF-16 recognised by zero bytes (XML 1.0 Appendix F), else UTF-8. */
export function detectEncoding(bytes: Uint8Array): {
  encoding: "utf-8" | "utf-16le" | "utf-16be";
  bom: number;
} {
  const [b0, b1, b2] = bytes;
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return { encoding: "utf-8", bom: 3 };
  if (b0 === 0xff && b1 === 0xfe) return { encoding: "utf-16le", bom: 2 };
  if (b0 === 0xfe && b1 === 0xff) return { encoding: "utf-16be", bom: 2 };
  // `<` (or whitespace) followed by a zero byte, or the reverse: UTF-16 written without a BOM (.NET's
  // Encoding.Unicode.GetBytes). Such bytes are never well-formed UTF-8 XML, so nothing valid changes.
  if (bytes.length >= 2 && b0 !== 0 && b1 === 0) return { encoding: "utf-16le", bom: 0 };
  if (bytes.length >= 2 && b0 === 0 && b1 !== 0) return { encoding: "utf-16be", bom: 0 };
  return { encoding: "utf-8", bom: 0 };
}

/**
 * Decodes UTF-16 by hand, so it does not depend on which labels a runtime's TextDecoder knows.
 * @returns the text, or `undefined` for an odd byte count or an unpaired surrogate
 */
function decodeUtf16(bytes: Uint8Array, littleEndian: boolean): string | undefined {
  if (bytes.length % 2 !== 0) return undefined;
  const units = new Uint16Array(bytes.length / 2);
  for (let i = 0, j = 0; j < units.length; i += 2, j++) {
    const a = bytes[i] as number;
    const b = bytes[i + 1] as number;
    units[j] = littleEndian ? a | (b << 8) : (a << 8) | b;
  }
  for (let j = 0; j < units.length; j++) {
    const u = units[j] as number;
    if (u >= 0xd800 && u <= 0xdbff) {
      const next = units[j + 1];
      if (next === undefined || next < 0xdc00 || next > 0xdfff) return undefined;
      j++;
    } else if (u >= 0xdc00 && u <= 0xdfff) return undefined;
  }
  let out = "";
  for (let j = 0; j < units.length; j += 4096) out += String.fromCharCode(...units.subarray(j, j + 4096));
  return out;
}

/**
 * Decodes XML bytes (see {@link detectEncoding}); the BOM is removed.
 * @returns the text, or `undefined` if the bytes are not valid in that encoding
 */
export function decodeXmlBytes(bytes: Uint8Array): string | undefined {
  const { encoding, bom } = detectEncoding(bytes);
  const body = bytes.subarray(bom);
  if (encoding !== "utf-8") return decodeUtf16(body, encoding === "utf-16le");
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    return undefined;
  }
}

/**
 * The offset of the first byte that does not start a valid UTF-8 sequence (RFC 3629 §4: no overlong
 * forms, no surrogates, nothing above U+10FFFF), for error messages.
 * @returns the byte offset, or `undefined` if all of `bytes` is valid UTF-8
 */
export function invalidUtf8Offset(bytes: Uint8Array): number | undefined {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    const more = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0;
    if (more === 0) return i;
    let cp = b & (0x3f >> more);
    for (let k = 1; k <= more; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    const min = [0, 0x80, 0x800, 0x10000][more] as number;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += more + 1;
  }
  return undefined;
}

const PREDEFINED = new Map([
  ["amp", "&"],
  ["lt", "<"],
  ["gt", ">"],
  ["quot", '"'],
  ["apos", "'"],
]);

/** Code points XML 1.0 §2.2 allows (Char). */
const isXmlChar = (cp: number) =>
  cp === 0x9 ||
  cp === 0xa ||
  cp === 0xd ||
  (cp >= 0x20 && cp <= 0xd7ff) ||
  (cp >= 0xe000 && cp <= 0xfffd) ||
  (cp >= 0x10000 && cp <= 0x10ffff);

/**
 * The code point of a character reference body (`#x1F600`, `#128512`; XML 1.0 §4.1), leading zeros allowed.
 * @returns the code point, or `undefined` if it is not a reference to a character XML allows
 */
function charRefCodePoint(body: string): number | undefined {
  const m = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(body);
  if (!m) return undefined;
  const hex = m[1] !== undefined;
  const digits = (m[1] ?? m[2] ?? "").replace(/^0+(?=.)/, "");
  if (digits.length > (hex ? 6 : 7)) return undefined;
  const cp = Number.parseInt(digits, hex ? 16 : 10);
  return isXmlChar(cp) ? cp : undefined;
}

/**
 * Decodes XML text: the five predefined entities and decimal/hex character references (XML 1.0 §4.1, §4.6).
 * @returns the text, or `undefined` for any other `&` (undefined entity, bare ampersand, a reference to a
 *   character XML forbids)
 */
export function decodeText(raw: string): string | undefined {
  if (!raw.includes("&")) return raw;
  let bad = false;
  const out = raw.replace(/&([^;&]*)(;?)/g, (_whole, name: string, semicolon: string) => {
    const value = semicolon ? (PREDEFINED.get(name) ?? charRefCodePoint(name)) : undefined;
    if (value === undefined) {
      bad = true;
      return "";
    }
    return typeof value === "string" ? value : String.fromCodePoint(value);
  });
  return bad ? undefined : out;
}

/** Why a text is not well-formed XML, and where. */
export interface XmlSyntaxError {
  /** What is wrong, in words, e.g. `undefined entity &foo; (there is no DTD: only &amp; &lt; …)`. */
  message: string;
  /** 1-based line of the offending character. */
  line: number;
  /** 1-based column (UTF-16 code units) of the offending character. */
  column: number;
  /** True when the document is refused for nesting deeper than {@link WellFormedOptions.maxDepth}. */
  tooDeep: boolean;
}

/** Options of {@link checkWellFormed}. */
export interface WellFormedOptions {
  /** Deepest element nesting accepted (the root is depth 1); default: no limit (the check does not recurse). */
  maxDepth?: number;
  /**
   * A prefix used without a declaration in scope: `refuse` (default; Namespaces in XML 1.0 §5,
   * "Prefix Declared") or `allow` (left to the caller, which must not match such names).
   */
  unboundPrefixes?: "refuse" | "allow";
}

const XML_NS = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

// XML 1.0 (fifth edition) §2.3 NameStartChar and NameChar, without ":" (added where a Name allows it).
const NAME_START =
  "A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C\\u200D" +
  "\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}";
const NAME_CHAR = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F\\u2040`;
const NAME = new RegExp(`[:${NAME_START}][:${NAME_CHAR}]*`, "uy");
const NCNAME = new RegExp(`^[${NAME_START}][${NAME_CHAR}]*$`, "u");
const SPACES = /[ \t\r\n]*/y;
const IS_SPACE = /^[ \t\r\n]$/;
const XML_DECL =
  /<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"1\.[0-9]+"|'1\.[0-9]+')(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\r\n]*\?>/y;
const REFERENCE = new RegExp(`&(#x[0-9A-Fa-f]+|#[0-9]+|[:${NAME_START}][:${NAME_CHAR}]*);`, "uy");
const ILLEGAL_CHAR =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 §2.2 forbids these characters; finding them is the point
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A name for a message: clipped, so a megabyte-long name does not become a megabyte-long message. */
const shown = (name: string) => (name.length > 40 ? `${name.slice(0, 37)}...` : name);

class Refusal {
  constructor(
    readonly at: number,
    readonly message: string,
    readonly tooDeep = false,
  ) {}
}

interface OpenElement {
  name: string;
  at: number;
  scope: ReadonlyMap<string, string>;
}

/** One pass over a document; throws {@link Refusal} at the first problem. */
class Checker {
  private i = 0;
  private readonly stack: OpenElement[] = [];

  constructor(
    private readonly s: string,
    private readonly options: WellFormedOptions,
  ) {}

  private fail(at: number, message: string, tooDeep = false): never {
    throw new Refusal(at, message, tooDeep);
  }

  private at(text: string): boolean {
    return this.s.startsWith(text, this.i);
  }

  /** Skips XML white space (S); true if there was some. */
  private space(): boolean {
    SPACES.lastIndex = this.i;
    SPACES.exec(this.s);
    const moved = SPACES.lastIndex > this.i;
    this.i = SPACES.lastIndex;
    return moved;
  }

  private name(what: string): string {
    NAME.lastIndex = this.i;
    const m = NAME.exec(this.s);
    if (!m) this.fail(this.i, `expected ${what}`);
    this.i += m[0].length;
    return m[0];
  }

  private lineOf(at: number): number {
    let line = 1;
    for (let k = this.s.indexOf("\n"); k !== -1 && k < at; k = this.s.indexOf("\n", k + 1)) line++;
    return line;
  }

  document(): void {
    const s = this.s;
    const bad = ILLEGAL_CHAR.exec(s);
    if (bad) {
      const code = (bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
      this.fail(bad.index, `character U+${code} is not allowed in XML`);
    }
    if (s.startsWith("\uFEFF")) this.i = 1;
    if (this.at("<?xml") && IS_SPACE.test(s[this.i + 5] ?? "")) {
      XML_DECL.lastIndex = this.i;
      if (!XML_DECL.exec(s))
        this.fail(this.i, `malformed XML declaration (expected <?xml version="1.0" encoding="UTF-8"?>)`);
      this.i = XML_DECL.lastIndex;
    }
    let root = false;
    for (;;) {
      this.space();
      if (this.i >= s.length) break;
      if (this.at("<!--")) this.comment();
      else if (this.at("<?")) this.processingInstruction();
      else if (this.at("<!DOCTYPE")) this.fail(this.i, "DOCTYPE declarations are not accepted");
      else if (this.at("</")) this.fail(this.i, "an end tag with no element open");
      else if (this.at("<") && !root) {
        this.element();
        root = true;
      } else if (this.at("<")) this.fail(this.i, "a second root element (a document has exactly one)");
      else this.fail(this.i, root ? "text after the root element" : "text before the root element");
    }
    if (!root) this.fail(this.i, "no root element");
  }

  /** The root element and everything in it, without recursion (nesting depth costs no stack). */
  private element(): void {
    const s = this.s;
    this.startTag();
    while (this.stack.length > 0) {
      if (this.i >= s.length) {
        const open = this.stack[this.stack.length - 1] as OpenElement;
        this.fail(open.at, `<${shown(open.name)}> is never closed`);
      }
      const c = s[this.i];
      if (c === "<") {
        if (this.at("</")) this.endTag();
        else if (this.at("<!--")) this.comment();
        else if (this.at("<![CDATA[")) {
          const end = s.indexOf("]]>", this.i + 9);
          if (end < 0) this.fail(this.i, "a CDATA section is never closed");
          this.i = end + 3;
        } else if (this.at("<?")) this.processingInstruction();
        else if (this.at("<!")) this.fail(this.i, "declarations are not allowed inside an element");
        else this.startTag();
      } else if (c === "&") {
        this.i = this.reference(this.i);
      } else {
        let end = this.i;
        while (end < s.length && s[end] !== "<" && s[end] !== "&") end++;
        const cdataEnd = s.slice(this.i, end).indexOf("]]>");
        if (cdataEnd >= 0) this.fail(this.i + cdataEnd, `"]]>" in text (write ]]&gt;)`);
        this.i = end;
      }
    }
  }

  private startTag(): void {
    const s = this.s;
    const at = this.i;
    this.i++;
    const name = this.name("an element name after <");
    const attributes: { name: string; at: number; value: string }[] = [];
    let empty = false;
    for (;;) {
      const spaced = this.space();
      if (this.at("/>")) {
        this.i += 2;
        empty = true;
        break;
      }
      if (this.at(">")) {
        this.i++;
        break;
      }
      if (this.i >= s.length) this.fail(at, `the start tag <${shown(name)} is never finished`);
      if (!spaced) this.fail(this.i, `expected white space, ">" or "/>" in the start tag <${shown(name)}>`);
      const attrAt = this.i;
      const attr = this.name(`an attribute name, ">" or "/>" in <${shown(name)}>`);
      this.space();
      if (!this.at("=")) this.fail(this.i, `expected "=" after the attribute ${shown(attr)}`);
      this.i++;
      this.space();
      const quote = s[this.i];
      if (quote !== '"' && quote !== "'") this.fail(this.i, `the value of ${shown(attr)} must be quoted`);
      const close = s.indexOf(quote, this.i + 1);
      if (close < 0) this.fail(this.i, `the value of ${shown(attr)} is never closed`);
      for (let k = this.i + 1; k < close; ) {
        const c = s[k];
        if (c === "<") this.fail(k, `"<" in the value of ${shown(attr)} (write &lt;)`);
        k = c === "&" ? this.reference(k) : k + 1;
      }
      if (attributes.some((a) => a.name === attr))
        this.fail(attrAt, `attribute ${shown(attr)} appears twice`);
      attributes.push({ name: attr, at: attrAt, value: s.slice(this.i + 1, close) });
      this.i = close + 1;
    }

    // Namespaces in XML 1.0: declarations first, then every name resolved in the element's scope.
    const parent = this.stack[this.stack.length - 1]?.scope ?? new Map([["xml", XML_NS]]);
    let scope = parent;
    for (const a of attributes) {
      if (a.name !== "xmlns" && !a.name.startsWith("xmlns:")) continue;
      const prefix = a.name === "xmlns" ? "" : a.name.slice(6);
      if (prefix !== "") this.qualifiedName(a.name, a.at);
      const uri = decodeText(a.value) ?? "";
      if (prefix === "xmlns") this.fail(a.at, "the prefix xmlns must not be declared");
      if ((prefix === "xml") !== (uri === XML_NS))
        this.fail(a.at, `only the prefix xml is bound to ${XML_NS}, and it only to that`);
      if (uri === XMLNS_NS) this.fail(a.at, `${XMLNS_NS} must not be declared`);
      if (prefix !== "" && uri === "")
        this.fail(a.at, `${shown(a.name)}="" is not allowed (XML 1.0 namespaces cannot undeclare a prefix)`);
      if (scope === parent) scope = new Map(parent);
      (scope as Map<string, string>).set(prefix, uri);
    }
    const prefix = this.qualifiedName(name, at);
    if (prefix === "xmlns") this.fail(at, "an element name cannot use the prefix xmlns");
    if (prefix) this.resolve(prefix, name, at, scope);
    const expanded = new Set<string>();
    for (const a of attributes) {
      if (a.name === "xmlns" || a.name.startsWith("xmlns:")) continue;
      const p = this.qualifiedName(a.name, a.at);
      const uri = p ? this.resolve(p, a.name, a.at, scope) : undefined;
      const key = uri === undefined ? a.name : `{${uri}}${a.name.slice(p.length + 1)}`;
      if (expanded.has(key))
        this.fail(a.at, `attribute ${shown(a.name)} repeats another of the same namespace and name`);
      expanded.add(key);
    }

    if (!empty) {
      this.stack.push({ name, at, scope });
      const max = this.options.maxDepth;
      if (max !== undefined && this.stack.length > max)
        this.fail(at, `elements nest more than ${max} deep`, true);
    }
  }

  /** Checks a QName (at most one colon, between two NCNames; Namespaces in XML 1.0 §4); returns its prefix or "". */
  private qualifiedName(name: string, at: number): string {
    const parts = name.split(":");
    if (parts.length > 2 || !parts.every((p) => NCNAME.test(p)))
      this.fail(at, `${shown(name)} is not a valid name (at most one colon, with a name on each side)`);
    return parts.length === 2 ? (parts[0] as string) : "";
  }

  /** The namespace of a prefix; an undeclared one is refused, or `undefined` when allowed. */
  private resolve(prefix: string, name: string, at: number, scope: ReadonlyMap<string, string>) {
    const uri = scope.get(prefix);
    if (uri === undefined && this.options.unboundPrefixes !== "allow")
      this.fail(
        at,
        `the prefix ${shown(prefix)} of ${shown(name)} is not declared (xmlns:${shown(prefix)}="…")`,
      );
    return uri;
  }

  private endTag(): void {
    const at = this.i;
    this.i += 2;
    const name = this.name("an element name after </");
    this.space();
    if (!this.at(">")) this.fail(this.i, `expected ">" to end </${shown(name)}`);
    this.i++;
    const open = this.stack.pop() as OpenElement;
    if (open.name !== name)
      this.fail(
        at,
        `</${shown(name)}> does not match <${shown(open.name)}> (opened on line ${this.lineOf(open.at)})`,
      );
  }

  private comment(): void {
    const end = this.s.indexOf("--", this.i + 4);
    if (end < 0) this.fail(this.i, "a comment is never closed");
    if (this.s[end + 2] !== ">") this.fail(end, `"--" inside a comment`);
    this.i = end + 3;
  }

  private processingInstruction(): void {
    const at = this.i;
    this.i += 2;
    const target = this.name("a processing instruction target after <?");
    if (target.toLowerCase() === "xml")
      this.fail(
        at,
        target === "xml"
          ? "an XML declaration is only allowed at the very start"
          : `the processing instruction target ${target} is reserved`,
      );
    if (target.includes(":")) this.fail(at, `a processing instruction target cannot contain ":"`);
    const end = this.s.indexOf("?>", this.i);
    if (end < 0) this.fail(at, "a processing instruction is never closed");
    if (end > this.i && !IS_SPACE.test(this.s[this.i] ?? ""))
      this.fail(this.i, `expected white space after the processing instruction target ${shown(target)}`);
    this.i = end + 2;
  }

  /** Checks the reference that starts at `at` (an `&`); returns the index after its `;`. */
  private reference(at: number): number {
    REFERENCE.lastIndex = at;
    const m = REFERENCE.exec(this.s);
    if (!m) {
      this.fail(
        at,
        this.s[at + 1] === "#"
          ? "a malformed character reference (expected &#123; or &#x1F600;)"
          : "a bare & (write &amp;)",
      );
    }
    const body = m[1] as string;
    if (body.startsWith("#")) {
      if (charRefCodePoint(body) === undefined)
        this.fail(at, `&${shown(body)}; refers to a character XML does not allow`);
    } else if (!PREDEFINED.has(body)) {
      this.fail(
        at,
        `undefined entity &${shown(body)}; (without a DTD only &amp; &lt; &gt; &quot; &apos; and character references exist)`,
      );
    }
    return REFERENCE.lastIndex;
  }
}

/**
 * Checks that `text` is a well-formed XML 1.0 document that is namespace-well-formed (Namespaces in
 * XML 1.0 §7), without a DTD: one root element; properly nested and closed tags; unique attributes
 * (also by namespace and local name); quoted attribute values without `<`; every `&` an entity
 * reference to one of the five predefined entities or a character reference to a character XML
 * allows; no `--` inside comments; no `]]>` in text; the XML declaration only at the very start (a
 * BOM character before it is allowed); no `<!DOCTYPE`; only characters XML allows; names with at
 * most one colon, their prefixes declared (see {@link WellFormedOptions.unboundPrefixes}).
 * Linear time; the nesting depth uses no call stack.
 * @returns the first problem, or `undefined` for a well-formed document
 */
export function checkWellFormed(text: string, options: WellFormedOptions = {}): XmlSyntaxError | undefined {
  try {
    new Checker(text, options).document();
    return undefined;
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    const before = text.slice(0, e.at);
    const lineStart = before.lastIndexOf("\n") + 1;
    return {
      message: e.message,
      line: before.split("\n").length,
      column: e.at - lineStart + 1,
      tooDeep: e.tooDeep,
    };
  }
}
