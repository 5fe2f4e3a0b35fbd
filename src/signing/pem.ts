/**
 * PEM text → DER blocks (RFC 7468 "textual encodings"). Web APIs only (`atob`), so it runs on
 * Node.js and on Cloudflare Workers, where signing secrets arrive as PEM text.
 */

/** One `-----BEGIN <label>-----` … `-----END <label>-----` block, decoded. */
export interface PemBlock {
  /** The label, e.g. `CERTIFICATE`, `PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`. */
  label: string;
  /** RFC 1421 headers inside the block (`Proc-Type: 4,ENCRYPTED` marks an encrypted legacy key). */
  headers: Record<string, string>;
  /** The DER bytes (base64-decoded body). */
  der: Uint8Array;
}

const BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * Every PEM block in `text`, in order; text between blocks (e.g. `openssl x509 -text` output or
 * "Bag Attributes" lines) is ignored, as OpenSSL does.
 * @throws Error naming the label if a block's body is not valid base64
 */
export function parsePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK_RE)) {
    const label = match[1] ?? "";
    const headers: Record<string, string> = {};
    const body: string[] = [];
    for (const line of (match[2] ?? "").split(/\r?\n/)) {
      const header = /^([A-Za-z-]+):\s*(.*)$/.exec(line.trim());
      if (header?.[1] && header[2] !== undefined) headers[header[1]] = header[2];
      else body.push(line.trim());
    }
    const base64 = body.join("");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0 || base64.length === 0)
      throw new Error(`the ${label} block is not valid PEM (bad base64 body)`);
    const binary = atob(base64);
    blocks.push({ label, headers, der: Uint8Array.from(binary, (ch) => ch.charCodeAt(0)) });
  }
  return blocks;
}
