/**
 * Connection hygiene for the Node server: a cap on requests in flight per connection (HTTP/1.1
 * pipelining), `Connection: close` while the server drains, and the Host/forwarding fixes applied
 * before @hono/node-server builds the request. See docs/operations.md "Limits".
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { readForwarded, type TrustProxy } from "./proxy.ts";

export { DEFAULT_MAX_PIPELINED } from "./defaults.ts";

/** Options of {@link guardConnections}. */
export interface ConnectionGuardOptions {
  /**
   * Most requests one connection may have waiting for their answers. A connection that sends more
   * (a client pipelining thousands of requests and reading none of the answers) is closed at once,
   * so it cannot hold memory or the event loop; a client that reads its answers is never affected.
   */
  maxPipelined: number;
  /** Peers whose `Forwarded`/`X-Forwarded-*` headers are honoured (`--trust-proxy`). */
  trustProxy?: TrustProxy;
  /** True once the server drains for shutdown: answers then close their connection. */
  draining(): boolean;
}

const IN_FLIGHT = Symbol("mailconf.inFlight");
/** The client address of a request, as resolved here (the peer, or the forwarded client). */
const CLIENT = Symbol("mailconf.client");

type CountedSocket = Socket & { [IN_FLIGHT]?: number };
type MarkedRequest = IncomingMessage & { [CLIENT]?: string };

function onResponseClose(this: ServerResponse): void {
  const socket = this.req.socket as CountedSocket;
  socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 1) - 1;
}

/**
 * The client address of a node:http request seen by {@link guardConnections}: the forwarded one
 * from a trusted proxy, else the peer address.
 */
export function clientAddressOf(req: IncomingMessage): string {
  return (req as MarkedRequest)[CLIENT] ?? req.socket.remoteAddress ?? "";
}

/** A Host value of letters, digits, `.`, `-`, `_` and an optional port: an RFC 3986 reg-name or IPv4 address. */
const SIMPLE_HOST = /^[A-Za-z0-9._-]+(?::\d{0,5})?$/;
/** An RFC 3986 IP-literal (`[::1]`, `[::ffff:127.0.0.1]`) with an optional, possibly empty, port. */
const IP_LITERAL_HOST = /^\[[0-9A-Fa-f:.]+\](?::\d{0,5})?$/;
/** The Host values @hono/node-server takes without building a WHATWG URL from them. */
const FAST_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

/**
 * Gives a request whose Host header @hono/node-server would refuse a target it accepts. Valid RFC
 * 3986 hosts such as `xn--a.com`, `999.1.1.1`, `example.com.1` (WHATWG URL refuses them),
 * `[::ffff:127.0.0.1]` (URL rewrites it as `[::ffff:7f00:1]`) or `example.com:` (an empty port,
 * RFC 3986 §3.2.3) get 400 from its Host check, on every path. Such a request gets the
 * absolute-form target `http://host.invalid<path>` (RFC 9112 §3.2.2: the target's authority is
 * used and the Host header is not), so the app sees the path and query as sent; the Host header
 * itself is untouched, and handlers still read the mail domain from it. Other invalid Host values
 * (spaces, `%`, an unclosed `[`) keep @hono/node-server's 400.
 */
export function withParseableUrl(incoming: IncomingMessage): void {
  const target = incoming.url ?? "";
  const host = incoming.headers.host;
  if (!target.startsWith("/") || host === undefined) return;
  if (!SIMPLE_HOST.test(host) && !IP_LITERAL_HOST.test(host)) return;
  // @hono/node-server builds the URL from a FAST_HOST value unchecked; the Fetch Request behind
  // every request body then throws "Invalid URL" for one WHATWG URL refuses.
  if (!FAST_HOST.test(host) || !URL.canParse(`http://${host}/`))
    incoming.url = `http://host.invalid${target}`;
}

/** Replaces the Host header in both views node:http keeps (@hono/node-server reads `rawHeaders`). */
function setHost(req: IncomingMessage, host: string): void {
  req.headers.host = host;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === "host") raw[i + 1] = host;
}

/**
 * Wraps the request listener of node:http: counts requests in flight per connection (closing a
 * connection over {@link ConnectionGuardOptions.maxPipelined}), applies a trusted proxy's
 * forwarded Host and client address, marks answers `Connection: close` while draining, and applies
 * {@link withParseableUrl}. Per request: one counter update and one `close` listener.
 */
export function guardConnections(
  listener: RequestListener,
  options: ConnectionGuardOptions,
): RequestListener {
  const { maxPipelined, trustProxy, draining } = options;
  return (req, res) => {
    const socket = req.socket as CountedSocket;
    const inFlight = (socket[IN_FLIGHT] ?? 0) + 1;
    if (inFlight > maxPipelined) {
      socket.destroy();
      return;
    }
    socket[IN_FLIGHT] = inFlight;
    res.once("close", onResponseClose);
    if (trustProxy) {
      const forwarded = readForwarded(req, trustProxy);
      if (forwarded) {
        (req as MarkedRequest)[CLIENT] = forwarded.client;
        if (forwarded.host) setHost(req, forwarded.host);
      }
    }
    if (draining()) res.setHeader("Connection", "close");
    withParseableUrl(req);
    listener(req, res);
  };
}
