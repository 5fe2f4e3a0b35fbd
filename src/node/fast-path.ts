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
import type { Answer, NoteDomain, RequestParts } from "../handlers/context.ts";
import type { HotEndpoints, HotRoute } from "../handlers/hot.ts";
import {
  type Admission,
  admit,
  isFailure,
  type Operations,
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

/** The {@link RequestParts} of a node:http request the fast path answers (methods, not closures per request). */
class NodeRequestParts implements RequestParts {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly path: string,
    private readonly req: IncomingMessage,
  ) {}

  query(name: string): string | undefined {
    return getQueryParam(this.url, name) as string | undefined;
  }

  header(name: string): string | undefined {
    return this.req.headers[name] as string | undefined;
  }
}

/** One hot request between the fast path's steps: what it has taken and noted so far. */
interface HotRequest {
  req: HandedOver;
  res: ServerResponse;
  route: HotRoute;
  parts: RequestParts;
  /** performance.now() when first seen, 0 when nothing records requests. */
  start: number;
  /** The client address, "" when neither rate limits nor records need it. */
  client: string;
  /** The rate-limit decision, once taken. */
  admission?: Admission;
  /** The capped body, once reading it began (Autodiscover POST). */
  body?: Promise<CappedBody>;
  domain?: string;
  known?: boolean;
}

/** The body reader of a request without one (the GET routes never call it). */
const NO_BODY = (): Promise<CappedBody> => Promise.reject(new Error("this request has no body"));
/** The domain note when nothing reads it (no rate limits, no records). */
const IGNORE_NOTE: NoteDomain = () => {};

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
  const noting = Boolean(rateLimiter || record);
  let answered = 0;

  // The steps of a hot request, made once: a request carries its state in a HotRequest, so the
  // common case (answer at hand, nothing to wait for) makes no closure and no Promise.

  /** Gives the request to the app, with the rate-limit decision and body already taken. */
  const handOver = (r: HotRequest, admission: Admission): unknown => {
    r.req[ADMISSION] = admission;
    if (r.start) r.req[STARTED] = r.start;
    if (r.body) keepReadBody(r.req, r.body);
    return app(r.req, r.res);
  };

  const log = (r: HotRequest, status: number, route: string, limited?: Admission["limited"]) =>
    record?.({
      method: r.parts.method,
      route,
      status,
      durationMs: performance.now() - r.start,
      client: r.client,
      domain: r.domain,
      known: r.known,
      ...(limited ? { limited } : {}),
    });

  const send = (r: HotRequest, answer: Answer): void => {
    writeAnswer(r.res, answer);
    answered++;
    if (record) log(r, answer.status, r.route.route);
  };

  const finish = (r: HotRequest, answer: Answer | undefined, admission: Admission): unknown => {
    if (!answer) return handOver(r, admission);
    if (rateLimiter && isFailure(r.parts.path, answer.status, r.known)) {
      const hit = rateLimiter.hit(r.client, "failure");
      if (hit instanceof Promise) return hit.then(() => send(r, answer));
    }
    send(r, answer);
    return undefined;
  };

  const answer = (r: HotRequest, admission: Admission): unknown => {
    const note: NoteDomain = noting
      ? (domain, known) => {
          r.domain = domain;
          r.known = known;
        }
      : IGNORE_NOTE;
    const body = r.body;
    let result: ReturnType<HotRoute["answer"]>;
    try {
      result = r.route.answer(r.parts, body ? () => body : NO_BODY, note);
    } catch {
      return handOver(r, admission); // the app answers it (and logs its error)
    }
    if (!(result instanceof Promise)) return finish(r, result, admission);
    return result.then(
      (a) => finish(r, a, admission),
      () => handOver(r, admission),
    );
  };

  const admitted = (r: HotRequest, admission: Admission): unknown => {
    r.admission = admission;
    const bodyBytes = r.route.bodyBytes;
    if (admission.limited) {
      // A refused request with a body goes to the app, whose 429 is followed by @hono/node-server's
      // clean-up of the unread body (read at most 64 MiB, closed after 500 ms); answered here,
      // node:http would read the refused client's body until the request timeout.
      if (bodyBytes !== undefined) return handOver(r, admission);
      writeAnswer(r.res, tooManyRequests(admission.wait));
      answered++;
      if (record) log(r, 429, "(rate-limited)", admission.limited);
      return undefined;
    }
    if (bodyBytes === undefined) return answer(r, admission);
    const body = readNodeBodyCapped(r.req, bodyBytes);
    r.body = body;
    // Over the cap or broken off: the app answers, and @hono/node-server cleans up the rest.
    return body.then(
      (read) => (read.ok ? answer(r, admission) : handOver(r, admission)),
      () => handOver(r, admission),
    );
  };

  /**
   * A fault of the fast path itself: the app answers the request (with the rate-limit decision, if
   * taken, so it is not counted twice), or the connection is closed once the answer has begun.
   */
  const fault = (r: HotRequest): void => {
    if (r.res.headersSent) r.res.destroy();
    else if (r.admission) handOver(r, r.admission);
    else app(r.req, r.res);
  };

  /** Serves one hot request; synchronous, with no Promise made, when its answer is at hand. */
  const serve = (r: HotRequest): void => {
    const admission = admit(rateLimiter, r.client, r.parts.method, r.parts.path);
    const done =
      admission instanceof Promise ? admission.then((a) => admitted(r, a)) : admitted(r, admission);
    if (done instanceof Promise) done.catch(() => fault(r));
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
    const route = hot.match(method, path);
    if (!route || singleHost(req) === undefined) return app(req, res);
    const url = `http://${host}${target}`;
    const r: HotRequest = {
      req,
      res,
      route,
      parts: new NodeRequestParts(method, url, path, req),
      start: record ? performance.now() : 0,
      client: noting ? clientAddressOf(req) : "",
      admission: undefined,
      body: undefined,
      domain: undefined,
      known: undefined,
    };
    try {
      serve(r);
    } catch {
      fault(r);
    }
  };
  return Object.assign(listener, { answered: () => answered });
}
