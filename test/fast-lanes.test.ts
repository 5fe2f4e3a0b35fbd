/**
 * The request path's shortcuts give what the general code gives (issue 10: answers compiled,
 * nothing per request that does not depend on it). Each shortcut is compared, over random inputs
 * near its edge, with the general definition it stands for:
 *
 * - normalizeDomain and parseEmailAddress take a domain already in normal form and an ASCII
 *   dot-atom address as they are;
 * - the v2 endpoint reads a plain path and query without WHATWG URL (readTarget);
 * - the Node fast path tells the POX and v2 paths with anchored case-insensitive patterns
 *   instead of lower-casing the path.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isAutodiscoverXmlPath } from "../src/handlers/autodiscover-request.ts";
import { isV2Path, readTarget } from "../src/handlers/autodiscover-v2.ts";
import { normalizeDomain, parseEmailAddress } from "../src/providers/domain.ts";

// The general code of normalizeDomain and parseEmailAddress, without the shortcuts: both trim
// their input first, and the shortcuts take no white space, so a leading space skips them.
const generalDomain = (text: string) => normalizeDomain(` ${text}`);
const generalAddress = (text: string) => parseEmailAddress(` ${text}`);

/** Strings over `chars`, up to `max` long. */
const over = (chars: string, max: number) =>
  fc.array(fc.constantFrom(...chars), { maxLength: max }).map((a) => a.join(""));
const label = fc.oneof(
  over("abz09-", 8),
  over("aZ-9", 4),
  fc.constantFrom("xn--bcher-kva", "a".repeat(63), "a".repeat(64), "123", "-a", "a-", ""),
);
const domain = fc.oneof(
  fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join(".")),
  fc
    .tuple(
      fc.array(label, { minLength: 1, maxLength: 4 }),
      fc.constantFrom(".", " ", "\t", ". ", "%", "_", "ä"),
    )
    .map(([l, end]) => l.join(".") + end),
  fc.constantFrom(
    "a".repeat(63) + ".".concat("b".repeat(63), ".", "c".repeat(63), ".", "d".repeat(61)),
    "example.com",
  ),
  // 250-256 characters: either side of the 253 limit.
  fc
    .integer({ min: 58, max: 64 })
    .map((n) => `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(n)}`),
);
const local = fc.oneof(
  over("az09.+!#'`{}|~-_ \"@\\", 12),
  fc.constantFrom("a".repeat(64), "a".repeat(65), "jane", "ü"),
);

describe("normalizeDomain", () => {
  it("gives the general code's answer for any name near a domain", () => {
    fc.assert(
      fc.property(domain, (d) => {
        expect(normalizeDomain(d)).toBe(generalDomain(d));
      }),
      { numRuns: 3000 },
    );
  });

  it("takes a name in normal form as it is and refuses what is not a domain (values)", () => {
    expect(normalizeDomain("example.com")).toBe("example.com");
    expect(normalizeDomain("Example.COM.")).toBe("example.com");
    expect(normalizeDomain("example.123")).toBeUndefined();
    expect(normalizeDomain("localhost")).toBeUndefined();
    expect(normalizeDomain(`${"a".repeat(64)}.com`)).toBeUndefined();
    expect(normalizeDomain("-a.com")).toBeUndefined();
  });
});

describe("parseEmailAddress", () => {
  it("gives the general code's answer for any address near a valid one", () => {
    fc.assert(
      fc.property(local, fc.constantFrom("@", "@@", " @"), domain, (l, at, d) => {
        const input = `${l}${at}${d}`;
        expect(parseEmailAddress(input)).toEqual(generalAddress(input));
      }),
      { numRuns: 3000 },
    );
  });

  it("reads a plain address as it is and still reads a space back as + (values)", () => {
    expect(parseEmailAddress("jane.doe+tag@example.com")).toEqual({
      address: "jane.doe+tag@example.com",
      localPart: "jane.doe+tag",
      domain: "example.com",
    });
    expect(parseEmailAddress("jane doe@Example.com")?.address).toBe("jane+doe@example.com");
    expect(parseEmailAddress(".jane@example.com")).toBeUndefined();
    expect(parseEmailAddress(`${"a".repeat(65)}@example.com`)).toBeUndefined();
    // A domain of 254 characters in normal form is still too long (found by hostile testing).
    const long = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(50)}.example.net`;
    expect(long).toHaveLength(254);
    expect(parseEmailAddress(`jane@${long}`)).toBeUndefined();
    expect(parseEmailAddress(`jane@${long.slice(1)}`)?.domain).toBe(long.slice(1));
  });
});

describe("the v2 endpoint's request target", () => {
  const piece = fc.oneof(
    fc.constantFrom(..."/aA.?&=%+#Ee@;:'!-2v10"),
    fc.constantFrom(
      "%40",
      "%C3%A4",
      "%F0%9F%98%80",
      "%ED%A0%80",
      "%C3",
      "%zz",
      "?%zz&",
      "%45mail=",
      "Email=",
      "&e=a+b",
      "&email=j+d%2B",
      "../",
      "/./",
    ),
  );
  const rest = fc.array(piece, { maxLength: 25 }).map((r) => `/${r.join("")}`);
  const lowered = (url: URL, name: string) => {
    for (const [key, value] of url.searchParams) if (key.toLowerCase() === name) return value;
    return undefined;
  };

  it("gives the path and query parameters WHATWG URL gives, for any path and query", () => {
    fc.assert(
      fc.property(rest, fc.constantFrom("email", "protocol", "a", "e", ""), (r, name) => {
        const url = new URL(`http://request.invalid${r}`);
        const target = readTarget(`http://127.0.0.1:8080${r}`);
        expect(target.pathname).toBe(url.pathname);
        expect(target.param(name)).toBe(lowered(url, name));
      }),
      { numRuns: 5000 },
    );
  });

  it("reads Outlook's request as sent (values)", () => {
    const target = readTarget(
      "http://mail.example.com/autodiscover/autodiscover.json?Email=jane@example.com&Protocol=AutodiscoverV1&RedirectCount=1",
    );
    expect(target.pathname).toBe("/autodiscover/autodiscover.json");
    expect(target.param("email")).toBe("jane@example.com");
    expect(target.param("protocol")).toBe("AutodiscoverV1");
    expect(target.param("serverlocation")).toBeUndefined();
    expect(readTarget("http://h/autodiscover/autodiscover.json?email=a%40b.c&email=x").param("email")).toBe(
      "a@b.c",
    );
    expect(readTarget("http://h/autodiscover/autodiscover.json?Protocol").param("protocol")).toBe("");
    // A second `?` belongs to the first name, also when a stray `%` makes the reading lenient.
    const doubled = "http://h/autodiscover/autodiscover.json??Email=jane%40example.com&%zz=1";
    expect(readTarget(doubled).param("email")).toBeUndefined();
    expect(readTarget(doubled).param("?email")).toBe("jane@example.com");
  });
});

describe("the fast path's route tests", () => {
  const path = fc.oneof(
    over("/aAuUtToOdDiIsScCvVeErR.xXmMlLjJnN10", 45).map((p) => `/${p}`),
    fc
      .tuple(
        fc.constantFrom(
          "/autodiscover/autodiscover.",
          "/AutoDiscover/AutoDiscover.",
          "/autodiscover/AUTODISCOVER.",
        ),
        fc.constantFrom("xml", "XML", "json", "Json", "jsonx"),
        fc.constantFrom("", "/", "//", "/v1.0/", "/V1.0/jane@example.com", "/v1.0", "/v2.0/a", "x"),
      )
      .map((p) => p.join("")),
  );

  it("match lower-casing and comparing, for any path", () => {
    fc.assert(
      fc.property(path, (p) => {
        const lower = p.toLowerCase();
        const base = "/autodiscover/autodiscover.json";
        expect(isV2Path(p)).toBe(lower === base || lower === `${base}/` || lower.startsWith(`${base}/v1.0/`));
        expect(isAutodiscoverXmlPath(p)).toBe(
          lower === "/autodiscover/autodiscover.xml" || lower === "/autodiscover/autodiscover.xml/",
        );
      }),
      { numRuns: 3000 },
    );
  });
});
