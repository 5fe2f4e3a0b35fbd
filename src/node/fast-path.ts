/**
 * The Node fast path: the hot requests (autoconfig, Autodiscover POX and v2, Apple profiles; see
 * src/handlers/hot.ts) answered straight from node:http, without the Web Request, Hono context,
 * middleware chain and Response that the app builds for every request (about half the server's CPU
 * per request on these routes, docs/benchmark.md). The answer comes from the same runtime-neutral
 * function the app's route calls, and is written the way @hono/node-server writes the app's
 * answer, so both paths send the same status, headers and body (test/fast-path.test.ts compares
 * them). Rate limits, the access log and metrics are applied here as by the operations middleware
 * (src/handlers/operations.ts); the connection guard runs before this.
 *
 * Everything else goes to the app unchanged: other routes and methods (HEAD too), a Host or
 * target @hono/node-server would rewrite or refuse, a path with `%` (Hono decodes it), a v2-looking
 * URL that is not a v2 path, an Autodiscover body over the cap or broken off (the app's body
 * clean-up then applies), and an answer function that throws. A request handed over after its
 * rate-limit decision or body were taken carries them, so nothing is counted or read twice.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { getQueryParam } from "hono/utils/url";
import type { CappedBody } from "../handlers/body.ts";
import type { Answer, RequestParts } from "../handlers/context.ts";
import type { HotEndpoints, HotRoute } from "../handlers/hot.ts";
import {
  type Admission,
  admit,
  isFailure,
  type Operations,
  type RequestRecord,
  tooManyRequests,
} from "../handlers/operations.ts";
import { keepReadBody, readNodeBodyCapped } from "./body.ts";
import { clientAddressOf } from "./connections.ts";

/** @hono/node-server's test for a Host it puts into the request URL unchanged. */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;
/**
 * @hono/node-server's test for a target it puts into the request URL unchanged, without `#`, with
 * `%` (it passes such targets through WHATWG URL, which keeps `%` as it is; a path with `%` goes
 * to the app anyway).
 */
const PLAIN_TARGET = /^\/[!$%&-;=?-[\]_a-z~]*$/;
/** Dot segments, which the URL would remove. */
const DOT_SEGMENT = /\/\.\.?(?:[/?#]|$)/;

const ADMISSION = Symbol("mailconf.admission");
const STARTED = Symbol("mailconf.started");

/** A request the fast path handed to the app, with what it had already taken. */
type HandedOver = IncomingMessage & {
  [ADMISSION]?: Admission;
  [STARTED]?: number;
};

/** The rate-limit decision the fast path took for a request it handed to the app (Operations.admitted). */
export function admittedBefore(incoming: IncomingMessage | undefined): Admission | undefined {
  return (incoming as HandedOver | undefined)?.[ADMISSION];
}

/** When the fast path first saw a request it handed to the app (Operations.startedAt). */
export function startedBefore(incoming: IncomingMessage | undefined): number | undefined {
  return (incoming as HandedOver | undefined)?.[STARTED];
}

/** The single Host header of a request, `undefined` when absent or repeated (Hono would join the values). */
function singleHost(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === "host") seen++;
  }
  return seen === 1 ? req.headers.host : undefined;
}

type NodeResponse = ServerResponse & {
  _contentLength: number | null;
  _hasBody: boolean;
  _removedContLen: boolean;
  useChunkedEncodingByDefault: boolean;
};

/**
 * Writes an answer as @hono/node-server's `responseViaCache` writes a Response built from a plain
 * header object: the length as Node's own `Content-Length` when Node would otherwise chunk, else
 * as a header after the answer's.
 */
export function writeAnswer(res: ServerResponse, answer: Answer): void {
  const { status, body } = answer;
  const length = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
  const r = res as NodeResponse;
  let headers: Record<string, string | number> = answer.headers;
  if (
    r._contentLength === null &&
    r._hasBody &&
    r.useChunkedEncodingByDefault &&
    !r._removedContLen &&
    status >= 200 &&
    status !== 204 &&
    status !== 304 &&
    !res.hasHeader("content-length") &&
    !res.hasHeader("transfer-encoding") &&
    !res.hasHeader("trailer")
  )
    r._contentLength = length;
  else headers = { ...headers, "Content-Length": length };
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * Wraps the app's request listener (`app`, from @hono/node-server) with the fast path;
 * `answered()` counts the answers it wrote itself (the rest went to the app).
 * @param hot the hot endpoints the app was built with (createApp's second argument)
 * @param ops the operations pieces the app was given (rate limiter, record)
 */
export function withFastPath(
  hot: HotEndpoints,
  ops: Pick<Operations, "rateLimiter" | "record">,
  app: RequestListener,
): RequestListener & { answered(): number } {
  const { rateLimiter, record } = ops;
  let answered = 0;

  const handOver = (
    req: HandedOver,
    res: ServerResponse,
    start: number,
    admission: Admission,
    body?: Promise<CappedBody>,
  ) => {
    req[ADMISSION] = admission;
    if (start) req[STARTED] = start;
    if (body) keepReadBody(req, body);
    return app(req, res);
  };

  /** Serves one hot request; synchronous, with no Promise made, when its answer is at hand. */
  const serve = (req: IncomingMessage, res: ServerResponse, route: HotRoute, parts: RequestParts): void => {
    const failed = () => fault(req, res);
    const start = record ? performance.now() : 0;
    const client = clientAddressOf(req);
    let domain: string | undefined;
    let known: boolean | undefined;
    const note = (d: string, k: boolean) => {
      domain = d;
      known = k;
    };
    const log = (status: number, r: Partial<RequestRecord>) =>
      record?.({
        method: parts.method,
        route: route.route,
        status,
        durationMs: performance.now() - start,
        client,
        ...r,
      });
    const send = (answer: Answer) => {
      writeAnswer(res, answer);
      answered++;
      log(answer.status, { domain, known });
    };
    const finish = (
      answer: Answer | undefined,
      admission: Admission,
      body?: Promise<CappedBody>,
    ): unknown => {
      if (!answer) return handOver(req, res, start, admission, body);
      if (rateLimiter && isFailure(parts.path, answer.status, known)) {
        const hit = rateLimiter.hit(client, "failure");
        if (hit instanceof Promise) return hit.then(() => send(answer));
      }
      send(answer);
      return undefined;
    };
    const answer = (admission: Admission, body?: Promise<CappedBody>): unknown => {
      let result: ReturnType<HotRoute["answer"]>;
      try {
        result = route.answer(parts, () => body as Promise<CappedBody>, note);
      } catch {
        return handOver(req, res, start, admission, body); // the app answers it (and logs its error)
      }
      if (!(result instanceof Promise)) return finish(result, admission, body);
      return result.then(
        (a) => finish(a, admission, body),
        () => handOver(req, res, start, admission, body),
      );
    };
    const admitted = (admission: Admission): unknown => {
      if (admission.limited) {
        // A refused request with a body goes to the app, whose 429 is followed by @hono/node-server's
        // clean-up of the unread body (read at most 64 MiB, closed after 500 ms); answered here,
        // node:http would read the refused client's body until the request timeout.
        if (route.bodyBytes !== undefined) return handOver(req, res, start, admission);
        writeAnswer(res, tooManyRequests(admission.wait));
        answered++;
        log(429, { route: "(rate-limited)", limited: admission.limited });
        return undefined;
      }
      if (route.bodyBytes === undefined) return answer(admission);
      const body = readNodeBodyCapped(req, route.bodyBytes);
      // Over the cap or broken off: the app answers, and @hono/node-server cleans up the rest.
      return body.then(
        (read) => (read.ok ? answer(admission, body) : handOver(req, res, start, admission, body)),
        () => handOver(req, res, start, admission, body),
      );
    };
    const admission = admit(rateLimiter, client, parts.method, parts.path);
    const done = admission instanceof Promise ? admission.then(admitted) : admitted(admission);
    if (done instanceof Promise) done.catch(failed);
  };

  /** A fault of the fast path itself: the app answers the request, or the connection is closed. */
  const fault = (req: IncomingMessage, res: ServerResponse) => {
    if (res.headersSent) res.destroy();
    else app(req, res);
  };

  const listener: RequestListener = (req, res) => {
    const method = req.method;
    if (method !== "GET" && method !== "POST") return app(req, res);
    const target = req.url ?? "";
    const host = req.headers.host;
    if (
      host === undefined ||
      !PLAIN_HOST.test(host) ||
      !PLAIN_TARGET.test(target) ||
      DOT_SEGMENT.test(target)
    )
      return app(req, res);
    const q = target.indexOf("?");
    const path = q < 0 ? target : target.slice(0, q);
    if (path.includes("%")) return app(req, res);
    const url = `http://${host}${target}`;
    const route = hot.match(method, path, url);
    if (!route || singleHost(req) === undefined) return app(req, res);
    const parts: RequestParts = {
      method,
      url,
      path,
      query: (name) => getQueryParam(url, name) as string | undefined,
      header: (name) => req.headers[name] as string | undefined,
    };
    try {
      serve(req, res, route, parts);
    } catch {
      fault(req, res);
    }
  };
  return Object.assign(listener, { answered: () => answered });
}
