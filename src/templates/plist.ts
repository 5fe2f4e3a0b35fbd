/**
 * A minimal XML property-list writer for configuration profiles (reference/mobileconfig.md §6):
 * XML plist 1.0 with Apple's DOCTYPE, integers as `<integer>`, booleans as `<true/>`/`<false/>`,
 * dictionaries in insertion order, every string escaped, no whitespace inside values.
 */
import { escapeXml } from "./xml.ts";

/** A plist value. JS numbers must be integers (profiles use no `<real>`); `undefined` entries are dropped. */
export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue | undefined };

/**
 * Serialises a value as a complete XML plist document (UTF-8 text, no BOM, trailing newline).
 * @throws RangeError for a non-integer number (a bug in the caller, never user input)
 */
export function buildPlist(root: PlistValue): string {
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
  ];
  write(root, 0, out);
  out.push("</plist>", "");
  return out.join("\n");
}

function write(value: PlistValue, depth: number, out: string[]): void {
  const pad = "\t".repeat(depth);
  if (typeof value === "string") out.push(`${pad}<string>${escapeXml(value)}</string>`);
  else if (typeof value === "boolean") out.push(`${pad}<${value}/>`);
  else if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new RangeError(`plist integer expected, got ${value}`);
    out.push(`${pad}<integer>${value}</integer>`);
  } else if (Array.isArray(value)) {
    out.push(`${pad}<array>`);
    for (const v of value) write(v, depth + 1, out);
    out.push(`${pad}</array>`);
  } else {
    out.push(`${pad}<dict>`);
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      out.push(`${pad}\t<key>${escapeXml(k)}</key>`);
      write(v, depth + 1, out);
    }
    out.push(`${pad}</dict>`);
  }
}
