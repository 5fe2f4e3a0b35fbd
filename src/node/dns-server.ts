/**
 * `--dns-server` values, apart from src/node/dns-check.ts so that building the command line
 * (src/cli/options.ts, run for every `mailconf` call) loads nothing of the DNS check itself.
 */
import { isIP } from "node:net";

/**
 * Reads a `--dns-server` value: `127.0.0.1`, `127.0.0.1:5353`, `::1` or `[::1]:5353`.
 * @returns the value as node:dns `setServers` takes it, or `undefined` if it is not an IP address (with an optional port)
 */
export function parseDnsServer(text: string): string | undefined {
  const v6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(text);
  const [ip, port] = v6 ? [v6[1], v6[2]] : v4 ? [v4[1], v4[2]] : [text, undefined];
  if (!ip || isIP(ip) === 0) return undefined;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return undefined;
  return text;
}
