/**
 * Reading XML from others (src/xml/xml-read.ts) and its two users: the Autodiscover request
 * reader and the ISPDB reader. The well-formedness check is compared with expat (Python's
 * xml.parsers.expat in namespace mode, a conforming parser) on a table of cases and on generated
 * documents; then the cases testers found: each must be refused by both readers.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { parseAutodiscoverRequest } from "../src/handlers/autodiscover-request.ts";
import { loadIspdb } from "../src/node/config-files.ts";
import { BUILTIN_PROVIDERS } from "../src/providers/builtin.ts";
import { parseIspdb } from "../src/providers/ispdb.ts";
import { MemoryStore } from "../src/providers/store.ts";
import { checkWellFormed, decodeText, invalidUtf8Offset } from "../src/xml/xml-read.ts";

/** expat's verdict for each document: `null` (well-formed) or its error message. One python3 run. */
function expat(docs: string[]): (string | null)[] {
  const script = `
import sys, json
import xml.parsers.expat as E
out = []
for doc in json.load(sys.stdin):
    p = E.ParserCreate(namespace_separator=" ")
    try:
        p.Parse(doc, True)
        out.append(None)
    except E.ExpatError as e:
        out.append(E.errors.messages[e.code])
json.dump(out, sys.stdout)
`;
  const r = spawnSync("python3", ["-c", script], {
    input: JSON.stringify(docs),
    encoding: "utf8",
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`python3 expat oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as (string | null)[];
}

const TABLE = [
  // well-formed
  "<a/>",
  '<?xml version="1.0" ?><a/>',
  "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><a/>",
  "\ufeff<a/>",
  "<!-- c --><a/><!-- d --><?pi x?>  ",
  "<a><?xml-stylesheet x?><?pq?></a>",
  "<a>&lt;&gt;&amp;&quot;&apos;&#x1F600;&#128512;&#x0000000041;</a>",
  "<a><![CDATA[ <&> ]]></a>",
  '<a b=\'"\' c="\'" d="&lt;&#60;" e="x&#10;y"/>',
  '<a\tb="1"\nc="2"\r/>',
  "<a></a >",
  "<a> &gt;> ]] ]]&gt;</a>",
  '<a xmlns:p="u"><p:b p:c="1" d="2"/></a>',
  '<a xml:lang="en" xmlns:xml="http://www.w3.org/XML/1998/namespace"/>',
  "<a><!----><!-- - --></a>",
  "<a.b-c_d\u00e9/>",
  // not well-formed
  "",
  "   ",
  '<a:b:c xmlns:a="x"/>',
  "<:a/>",
  "<a:/>",
  "<1a/>",
  "<q:a/>",
  '<a><p:b xmlns:p="u"/><p:c/></a>',
  '<a b="&undefined;"/>',
  '<a b="x<y"/>',
  '<a b="1" b="1"/>',
  '<a x:y="1" xmlns:x="u" xmlns:z="u" z:y="2"/>',
  '<a b="1"c="2"/>',
  "<a/ >",
  "<a></ a>",
  '<a xmlns:p=""/>',
  '<a xmlns:xmlns="u"/>',
  '<a xmlns="http://www.w3.org/XML/1998/namespace"/>',
  '<a xmlns:x="http://www.w3.org/XML/1998/namespace"/>',
  '<a xmlns="http://www.w3.org/2000/xmlns/"/>',
  "<a><!-- a -- b --></a>",
  "<a><!-- x ---></a>",
  "<a><!---></a>",
  "<a>]]></a>",
  "<a>&foo;</a>",
  "<a>A & B</a>",
  "<a>&amp</a>",
  "<a>&#;</a>",
  "<a>&#x;</a>",
  "<a>&#0;</a>",
  "<a>&#xD800;</a>",
  "<a>&#x110000;</a>",
  "<a>\u0001</a>",
  "<a>\ufffe</a>",
  '<?xml version="1.0"?><?xml version="1.0"?><a/>',
  ' <?xml version="1.0"?><a/>',
  '<?xml version="1.0" encoding="bogus enc"?><a/>',
  '<?xml version="1.0" standalone="maybe"?><a/>',
  '<?xml encoding="UTF-8"?><a/>',
  '<?xml version="1.0"encoding="UTF-8"?><a/>',
  "<a><?XmL foo?></a>",
  "<a><?p:q x?></a>",
  "<a/>junk",
  "<a/><b/>",
  "<a/></a>",
  "<a>x</b>",
  "<a><b></a></b>",
  '<clientConfig version="1.1"><emailProvider id="a">',
  "<a><![CDATA[ x </a>",
  "<a><!DOCTYPE a></a>",
];

describe("checkWellFormed agrees with expat", () => {
  it("on a table of well-formed and broken documents", () => {
    const oracle = expat(TABLE);
    const disagreements = TABLE.flatMap((doc, k) => {
      const mine = checkWellFormed(doc);
      return (mine === undefined) === (oracle[k] === null)
        ? []
        : [`${JSON.stringify(doc)}: expat ${oracle[k] ?? "ok"}, mailconf ${mine?.message ?? "ok"}`];
    });
    expect(disagreements).toEqual([]);
    expect(oracle.filter((o) => o === null).length).toBeGreaterThan(10); // the table has both kinds
    expect(oracle.filter((o) => o !== null).length).toBeGreaterThan(40);
  });

  it("on generated documents (valid and broken pieces mixed)", () => {
    const name = fc.oneof(
      { arbitrary: fc.constantFrom("a", "b", "é", "p:a"), weight: 12 },
      { arbitrary: fc.constantFrom("q:b", "a:b:c", "1a", ":x", "xmlns:z"), weight: 1 },
    );
    const value = fc
      .array(
        fc.oneof(
          { arbitrary: fc.constantFrom("x", "&amp;", "&#x41;", ">", "'", "&#65;"), weight: 12 },
          { arbitrary: fc.constantFrom("&#0;", "&undefined;", "&", "<"), weight: 1 },
        ),
        { maxLength: 3 },
      )
      .map((parts) => parts.join(""));
    const attribute = fc.oneof(
      { arbitrary: fc.tuple(name, value).map(([n, v]) => ` ${n}="${v}"`), weight: 4 },
      { arbitrary: fc.constantFrom(' xmlns:p="urn:p"', ' xmlns="urn:d"'), weight: 4 },
      { arbitrary: fc.constantFrom(' xmlns:q=""', ' p:x="1" p:x="2"', ' a="1"b="2"'), weight: 1 },
    );
    const piece = fc.oneof(
      {
        arbitrary: fc.constantFrom(
          "text",
          " ",
          "&lt;",
          "&amp;",
          "&#x1F600;",
          "]]",
          "<!-- c -->",
          "<![CDATA[<&]]>",
          "<?pi x?>",
        ),
        weight: 12,
      },
      {
        arbitrary: fc.constantFrom("&nope;", "&", "]]>", "<!-- a -- b -->", "<?xml x?>", "<?XML x?>"),
        weight: 1,
      },
    );
    const element: fc.Arbitrary<string> = fc.letrec<{ el: string }>((tie) => ({
      el: fc
        .tuple(
          name,
          fc.array(attribute, { maxLength: 2 }),
          fc.array(fc.oneof({ depthSize: "small", withCrossShrink: true }, piece, tie("el")), {
            maxLength: 4,
          }),
          fc.oneof(
            { arbitrary: fc.constantFrom("close", "empty"), weight: 20 },
            { arbitrary: fc.constantFrom("mismatch", "unclosed"), weight: 1 },
          ),
        )
        .map(([n, attrs, content, end]) => {
          const open = `<${n}${attrs.join("")}`;
          if (end === "empty") return `${open}/>`;
          const close = end === "close" ? `</${n}>` : end === "mismatch" ? "</zz>" : "";
          return `${open}>${content.join("")}${close}`;
        }),
    })).el;
    const doc = fc
      .tuple(
        fc.constantFrom(
          "",
          '<?xml version="1.0" encoding="UTF-8"?>',
          '<?xml version="1.0"?>\n',
          "<!-- top -->",
        ),
        element,
        fc.constantFrom("", "\n", "<!-- end -->", "", "\n", "<!-- end -->", "<b/>", "tail"),
      )
      .map(([head, el, tail]) => `${head}${el}${tail}`);
    const seed = Date.now();
    const docs = fc.sample(doc, { numRuns: 600, seed });
    const oracle = expat(docs);
    const disagreements = docs.flatMap((d, k) => {
      const mine = checkWellFormed(d);
      return (mine === undefined) === (oracle[k] === null)
        ? []
        : [`${JSON.stringify(d)}: expat ${oracle[k] ?? "ok"}, mailconf ${mine?.message ?? "ok"}`];
    });
    expect(disagreements, `fast-check seed ${seed}`).toEqual([]);
    const valid = oracle.filter((o) => o === null).length;
    expect(valid, "the generator makes well-formed documents too").toBeGreaterThan(30);
    expect(valid, "and broken ones").toBeLessThan(570);
  });

  it("refuses DOCTYPE (no DTDs are read) and reports where the problem is", () => {
    expect(checkWellFormed("<!DOCTYPE a><a/>")?.message).toMatch(/DOCTYPE/);
    expect(checkWellFormed("<a>\n  <b>Good</bb>\n</a>")).toEqual({
      message: "</bb> does not match <b> (opened on line 2)",
      line: 2,
      column: 10,
      tooDeep: false,
    });
    expect(checkWellFormed(`${"<x>".repeat(5)}${"</x>".repeat(5)}`, { maxDepth: 4 })?.tooDeep).toBe(true);
    expect(checkWellFormed(`${"<x>".repeat(5)}${"</x>".repeat(5)}`, { maxDepth: 5 })).toBeUndefined();
    // Deep nesting costs no call stack.
    expect(checkWellFormed(`${"<x>".repeat(200_000)}${"</x>".repeat(200_000)}`)).toBeUndefined();
    // Unbound prefixes may be left to the caller.
    expect(checkWellFormed("<q:a/>", { unboundPrefixes: "allow" })).toBeUndefined();
    expect(checkWellFormed("<a:b:c/>", { unboundPrefixes: "allow" })?.message).toMatch(/one colon/);
  });

  it("decodes references exactly as XML does", () => {
    expect(decodeText("&#x0001F600;&#00065;&amp;lt;")).toBe("😀A&lt;");
    for (const bad of ["&constructor;", "&toString;", "&#x0000000110000;"])
      expect(decodeText(bad)).toBeUndefined();
    expect(invalidUtf8Offset(new TextEncoder().encode("ok é 😀"))).toBeUndefined();
    expect(invalidUtf8Offset(Uint8Array.from([0x61, 0xc0, 0x80]))).toBe(1); // overlong
    expect(invalidUtf8Offset(Uint8Array.from([0x61, 0x62, 0xed, 0xa0, 0x80]))).toBe(2); // surrogate
    expect(invalidUtf8Offset(Uint8Array.from([0xe2, 0x82]))).toBe(0); // truncated
  });
});

describe("Autodiscover requests that are not well-formed get error 600", () => {
  const NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
  const enc = (s: string) => new TextEncoder().encode(s);
  const request = (inner: string, requestAttrs = "", decl = '<?xml version="1.0"?>') =>
    `${decl}<Autodiscover xmlns="${NS}"><Request${requestAttrs}>${inner}<EMailAddress>jane@example.com</EMailAddress></Request></Autodiscover>`;
  const app = createApp({
    store: new MemoryStore(BUILTIN_PROVIDERS.map((provider) => ({ provider, source: "built-in" }))),
    publicUrl: "https://autoconfig.test.example",
  });
  const post = async (body: string) => {
    const res = await app.request("/autodiscover/autodiscover.xml", { method: "POST", body });
    return { status: res.status, body: await res.text() };
  };

  it("the testers' request, and each of its defects alone", async () => {
    const cases = {
      testers:
        '<?xml version="1.0"?><?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request a="&undefined; & <"><Junk>&nope;&#0;</Junk><!-- a -- b --><EMailAddress>jane@example.com</EMailAddress></Request></Autodiscover>',
      "two XML declarations": request("", "", '<?xml version="1.0"?><?xml version="1.0"?>'),
      "undefined entity in an attribute": request("", ' a="&undefined;"'),
      "bare & in an attribute": request("", ' a="x & y"'),
      "< in an attribute": request("", ' a="<"'),
      "undefined entity in ignored text": request("<Junk>&nope;</Junk>"),
      "&#0; in ignored text": request("<Junk>&#0;</Junk>"),
      "-- in a comment": request("<!-- a -- b -->"),
      "a:b:c element name": request('<a:b:c xmlns:a="urn:a">x</a:b:c>'),
      "a:b:c attribute name": request("", ' a:b:c="1" xmlns:a="urn:a"'),
      "text after the root": `${request("")}junk`,
      "a second root": `${request("")}<Autodiscover/>`,
    };
    for (const [label, body] of Object.entries(cases)) {
      expect(parseAutodiscoverRequest(enc(body)), label).toEqual({ ok: false, reason: "malformed" });
      const res = await post(body);
      expect(res.status, label).toBe(200);
      expect(res.body, label).toContain("<ErrorCode>600</ErrorCode>");
    }
    // The same request without its defects is answered.
    const good = await post(request("<Junk>&amp;&#x41;</Junk><!-- a - b -->", ' a="&lt;"'));
    expect(good.body).toContain("<AutoDiscoverSMTPAddress>jane@example.com</AutoDiscoverSMTPAddress>");
  });
});

describe("ISPDB files that are not well-formed are skipped with a reason", () => {
  const file = (
    provider: string,
    decl = '<?xml version="1.0" encoding="UTF-8"?>\n',
  ) => `${decl}<clientConfig version="1.1">
  <emailProvider id="broken.example">
    <domain>broken.example</domain>
    ${provider}
    <incomingServer type="imap">
      <hostname>imap.broken.example</hostname><port>993</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.broken.example</hostname><port>465</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
`;
  // "Café" written in Latin-1: 0xE9 is not a UTF-8 character.
  const latin1 = new TextEncoder().encode(file("<displayName>CafX</displayName>"));
  latin1[latin1.indexOf(0x58)] = 0xe9;
  const CASES: Record<string, { xml: string | Uint8Array; reason: RegExp }> = {
    "root never closed": {
      xml: file("<displayName>Good</displayName>").replace("</clientConfig>", ""),
      reason: /line 2, column 1: <clientConfig> is never closed/,
    },
    "mismatched end tag": {
      xml: file("<displayName>Good</displayNam>"),
      reason: /line 5, column 22: <\/displayNam> does not match <displayName> \(opened on line 5\)/,
    },
    "undefined entity": { xml: file("<displayName>&foo;</displayName>"), reason: /undefined entity &foo;/ },
    "bare ampersand": {
      xml: file("<displayName>A & B</displayName>"),
      reason: /line 5, column 20: a bare &/,
    },
    "invalid UTF-8": {
      xml: latin1,
      reason: new RegExp(`not valid UTF-8: byte ${latin1.indexOf(0xe9)} \\(0xe9\\)`),
    },
  };

  it("parseIspdb refuses each case and names the problem", () => {
    for (const [label, { xml, reason }] of Object.entries(CASES)) {
      const result = parseIspdb(xml, "broken.example.xml");
      expect(result.ok, label).toBe(false);
      if (!result.ok) expect(result.errors[0]?.message, label).toMatch(reason);
    }
    // The same file, well-formed, is read (as text and as bytes).
    const good = file("<displayName>Good</displayName>");
    expect(parseIspdb(good, "broken.example.xml").ok).toBe(true);
    expect(parseIspdb(new TextEncoder().encode(good), "broken.example.xml").ok).toBe(true);
  });

  it("`--ispdb` and `import-ispdb` (loadIspdb) skip the text cases with the reason", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mailconf-ispdb-"));
    const names = Object.keys(CASES).filter((k) => typeof CASES[k]?.xml === "string");
    for (const [k, label] of names.entries())
      writeFileSync(join(dir, `case${k}.example.xml`), CASES[label]?.xml as string);
    writeFileSync(join(dir, "good.example.xml"), file("<displayName>Good</displayName>"));
    // A Latin-1 file: "é" as the single byte 0xE9 is not UTF-8.
    writeFileSync(
      join(dir, "zz-latin1.example.xml"),
      Buffer.from(file("<displayName>Caf\u00e9</displayName>"), "latin1"),
    );
    const folder = await loadIspdb(dir);
    expect(folder.entries.map((e) => e.provider.id)).toEqual(["good.example"]);
    expect(folder.skipped.at(-1)).toMatchObject({
      file: "zz-latin1.example.xml",
      reason: expect.stringMatching(/not valid UTF-8: byte \d+ \(0xe9\)/),
    });
    folder.skipped.pop();
    expect(folder.skipped.map((s) => s.file)).toEqual(names.map((_, k) => `case${k}.example.xml`));
    for (const [k, label] of names.entries())
      expect(folder.skipped[k]?.reason, label).toMatch(CASES[label]?.reason as RegExp);
  });

  it("a file that declares ISO-8859-1 is read as Latin-1", () => {
    const latin1 = Buffer.from(
      file("<displayName>Caf\u00e9</displayName>").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"'),
      "latin1",
    );
    const result = parseIspdb(latin1, "broken.example.xml");
    expect(result.ok && result.provider.displayName).toBe("Caf\u00e9");
  });

  it("character references are decoded, CDATA is kept as written", () => {
    const result = parseIspdb(
      file(
        "<displayName>Smile &#x1F600; &amp; co&#46;</displayName><displayShortName><![CDATA[A &amp; B]]></displayShortName>",
      ).replace('id="broken.example"', 'id="&#x62;roken.example"'),
      "",
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.provider.displayName).toBe("Smile 😀 & co.");
    expect(result.provider.displayShortName).toBe("A &amp; B");
    expect(result.provider.id).toBe("broken.example");
  });
});
