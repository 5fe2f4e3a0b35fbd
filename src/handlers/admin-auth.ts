/**
 * Bearer tokens of the admin API.
 *
 * Configured as lines (a token file, or MAILCONF_ADMIN_TOKENS separated by commas or newlines):
 * either a token itself (at least {@link MIN_TOKEN_LENGTH} characters, no spaces) or its SHA-256 as
 * `sha256:<64 hex digits>` (make one with `mailconf hash-token`), so a token file need not hold
 * secrets. Blank lines and lines starting with `#` are skipped. Only hashes are kept in memory.
 *
 * A request's token is hashed with SHA-256 (Web Crypto) and compared with every configured hash
 * in constant time (no early exit on the first differing byte or on the first match), so timing
 * tells nothing about the tokens. RFC 6750 §2.1 (`Authorization: Bearer <token>`).
 *
 * Web APIs only.
 */

/** Shortest plain token accepted (a random 128-bit token is 22 base64url characters). */
export const MIN_TOKEN_LENGTH = 16;

/** SHA-256 of UTF-8 text. */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** `sha256:<hex>` line for a token (what `mailconf hash-token` prints). */
export async function tokenHashLine(token: string): Promise<string> {
  const digest = await sha256(token);
  return `sha256:${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Parsed token configuration: the hashes, and one message per refused line (`source:line: reason`). */
export interface ParsedTokens {
  hashes: Uint8Array[];
  problems: string[];
}

/**
 * Reads token lines.
 * @param text file contents, or the environment variable's value
 * @param source named in problems, e.g. the file name or `MAILCONF_ADMIN_TOKENS`
 * @param separators `newline` for files; `comma-or-newline` for the environment variable
 */
export async function parseAdminTokens(
  text: string,
  source: string,
  separators: "newline" | "comma-or-newline" = "newline",
): Promise<ParsedTokens> {
  const out: ParsedTokens = { hashes: [], problems: [] };
  const lines = text.split(separators === "newline" ? /\r?\n/ : /\r?\n|,/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const where = separators === "newline" ? `${source}:${i + 1}` : `${source} (entry ${i + 1})`;
    const hashed = /^sha256:(.*)$/i.exec(line);
    if (hashed) {
      const hex = (hashed[1] as string).trim();
      if (!/^[0-9a-f]{64}$/i.test(hex)) {
        out.problems.push(`${where}: expected sha256: followed by 64 hex digits`);
        continue;
      }
      out.hashes.push(Uint8Array.from(hex.match(/../g) as string[], (h) => Number.parseInt(h, 16)));
    } else if (/\s/.test(line)) {
      out.problems.push(`${where}: a token may not contain spaces`);
    } else if (line.length < MIN_TOKEN_LENGTH) {
      out.problems.push(`${where}: a token must have at least ${MIN_TOKEN_LENGTH} characters`);
    } else {
      out.hashes.push(await sha256(line));
    }
  }
  return out;
}

/** Constant-time equality of two 32-byte digests: 1 if equal, else 0. */
function equal32(a: Uint8Array, b: Uint8Array): number {
  let diff = a.length ^ b.length;
  for (let i = 0; i < 32; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return ((diff - 1) >>> 31) & 1;
}

/**
 * Checks an `Authorization` header against the configured hashes.
 * @returns true if it is `Bearer <token>` with a configured token
 */
export async function verifyBearer(
  header: string | undefined,
  hashes: readonly Uint8Array[],
): Promise<boolean> {
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header ?? "");
  if (!match || hashes.length === 0) return false;
  const digest = await sha256(match[1] as string);
  let ok = 0;
  for (const hash of hashes) ok |= equal32(digest, hash);
  return ok === 1;
}
