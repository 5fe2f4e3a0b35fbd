/**
 * Option parsers and options shared by the `mailconf` commands (src/cli/<command>.ts). Imports
 * nothing heavy: the program is built for every call, `--version` included.
 */
import { InvalidArgumentError, Option } from "commander";
import { parseDnsServer } from "../node/dns-server.ts";

/** Default SQLite file of `mailconf serve` and the publishing commands. */
export const DEFAULT_DB = "./mailconf.db";

/** `--db <path|url>`: a SQLite file or a postgres:// URL (env MAILCONF_DB, default {@link DEFAULT_DB}). */
export const dbOption = () =>
  new Option("--db <path|url>", "SQLite file or postgres:// URL of published settings")
    .env("MAILCONF_DB")
    .default(DEFAULT_DB);

/** Repeatable option values, in the order given. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A TCP port 0-65535. */
export function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new InvalidArgumentError("expected an integer 0-65535");
  return Number(value);
}

/** An absolute http(s) URL, trailing slashes removed. */
export function parseUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error();
    return url.href.replace(/\/+$/, "");
  } catch {
    throw new InvalidArgumentError("expected an absolute http(s) URL, e.g. https://autoconfig.example.com");
  }
}

/** A repeatable `--dns-server <ip[:port]>`. */
export function parseDnsServerOption(value: string, previous: string[] = []): string[] {
  const server = parseDnsServer(value);
  if (!server)
    throw new InvalidArgumentError("expected an IP address with an optional port, e.g. 127.0.0.1:5353");
  return [...previous, server];
}

/** An integer in [min, max]. */
export function parseIntegerIn(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
      throw new InvalidArgumentError(`expected an integer ${min}-${max}`);
    return Number(value);
  };
}
