/**
 * Node-only: reading a request body straight from node:http's IncomingMessage, with the same byte
 * cap, counted while reading, as src/handlers/body.ts (Content-Length is not trusted). Used by the
 * Node entry instead of the Web Request's body, which @hono/node-server builds from the Node
 * stream through a ReadableStream (and an AbortSignal) per request.
 */
import type { IncomingMessage } from "node:http";
import type { Context } from "hono";
import { type CappedBody, readBodyCapped } from "../handlers/body.ts";

/**
 * Reads at most `maxBytes` of a Node request's body.
 * @returns the bytes, or `{ ok: false }` as soon as more than `maxBytes` arrive (reading stops;
 *   @hono/node-server drains or closes the rest after the answer)
 * @throws Error when the client breaks off the upload
 */
export function readNodeBodyCapped(incoming: IncomingMessage, maxBytes: number): Promise<CappedBody> {
  const declared = Number(incoming.headers["content-length"] ?? "0");
  if (declared > maxBytes) return Promise.resolve({ ok: false });
  if (incoming.readableEnded) return Promise.resolve({ ok: true, bytes: new Uint8Array(0) });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = () => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
      incoming.off("aborted", onAborted);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        done();
        incoming.pause();
        resolve({ ok: false });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
      resolve({ ok: true, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
    };
    const onError = (e: Error) => {
      done();
      reject(e);
    };
    const onAborted = () => onError(new Error("the client broke off the upload"));
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onError);
    incoming.on("aborted", onAborted);
  });
}

const READ_BODY = Symbol("mailconf.readBody");
type Stashed = IncomingMessage & { [READ_BODY]?: Promise<CappedBody> };

/**
 * Keeps a body already read from `incoming` (by the fast path, src/node/fast-path.ts, before it
 * handed the request to the app), for {@link readBodyFromNode} to return instead of reading again.
 */
export function keepReadBody(incoming: IncomingMessage, body: Promise<CappedBody>): void {
  (incoming as Stashed)[READ_BODY] = body;
}

/**
 * AppDeps.readBody for the Node entry: the Node request from @hono/node-server's bindings
 * (`c.env.incoming`), else (app.request() in tests) the Web Request.
 */
export function readBodyFromNode(c: Context, maxBytes: number): Promise<CappedBody> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) return readBodyCapped(c.req.raw, maxBytes);
  // Read already by the fast path, which then handed the request over (src/node/fast-path.ts).
  return (incoming as Stashed)[READ_BODY] ?? readNodeBodyCapped(incoming, maxBytes);
}
