/**
 * Reading request bodies with a byte cap counted while reading: Content-Length is not trusted
 * (it may be absent, wrong, or chunked encoding may be used). Web Streams only.
 */

/** A body read under a cap: the bytes, or `ok: false` when it was larger. */
export type CappedBody = { ok: true; bytes: Uint8Array } | { ok: false };

/**
 * Reads at most `maxBytes` of `request`'s body.
 * @returns the bytes, or `{ ok: false }` as soon as more than `maxBytes` arrive (the rest is not read)
 */
export async function readBodyCapped(request: Request, maxBytes: number): Promise<CappedBody> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) return { ok: false };
  if (!request.body) return { ok: true, bytes: new Uint8Array(0) };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return { ok: false };
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { ok: true, bytes };
}
