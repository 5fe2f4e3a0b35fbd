/**
 * Node-only: the LDAP search behind a provider's `directory` (docs/ldap.md), through ldapts.
 *
 * One search per cold address: connect, bind as `bindDn` with the password from `passwordFile` or
 * the environment variable `passwordEnv` (read at each search, so a rotated password is picked up),
 * a subtree search under `base` with the provider's filter, the address values escaped per
 * RFC 4515 §3, asking only the two attributes, at most two entries; then unbind. Exactly one entry
 * is a person; none or several is "unknown". An address with a control character (NUL …) is
 * "unknown" without a search. {@link cachedDirectoryLookup} adds the cache and the
 * time bound (src/providers/directory.ts).
 */
import { readFile } from "node:fs/promises";
import { Client, Filter } from "ldapts";
import {
  cachedDirectoryLookup,
  type DirectoryCacheOptions,
  type DirectoryLookup,
  type DirectoryPerson,
  type DirectorySearch,
} from "../providers/directory.ts";
import type { EmailAddress } from "../providers/domain.ts";
import type { Directory } from "../providers/model.ts";

/**
 * The directory's filter for one address: `%EMAILADDRESS%`, `%EMAILLOCALPART%` and `%EMAILDOMAIN%`
 * replaced by their values escaped per RFC 4515 §3 (ldapts `Filter.escape`: `*` → `\2a`, `(` → `\28`,
 * `)` → `\29`, `\` → `\5c`, NUL → `\00`), so no address can add a wildcard or a clause.
 * @example directoryFilter("(mail=%EMAILADDRESS%)", jane) → "(mail=jane@example.org)"
 */
export function directoryFilter(template: string, address: EmailAddress): string {
  return template.replace(/%(EMAILADDRESS|EMAILLOCALPART|EMAILDOMAIN)%/g, (_, name: string) =>
    Filter.escape(
      name === "EMAILADDRESS"
        ? address.address
        : name === "EMAILLOCALPART"
          ? address.localPart
          : address.domain,
    ),
  );
}

/**
 * The bind password of a directory: the file's first line, or the environment variable.
 * @throws Error naming the file or variable when it cannot be read or is empty
 */
export async function directoryPassword(
  directory: Directory,
  env: Record<string, string | undefined> = process.env,
): Promise<string | undefined> {
  if (directory.passwordFile) {
    const text = await readFile(directory.passwordFile, "utf8").catch((e: NodeJS.ErrnoException) => {
      throw new Error(`cannot read passwordFile ${directory.passwordFile} (${e.code})`);
    });
    const password = text.split(/\r?\n/)[0] ?? "";
    if (!password) throw new Error(`passwordFile ${directory.passwordFile} is empty`);
    return password;
  }
  if (directory.passwordEnv) {
    const password = env[directory.passwordEnv];
    if (!password) throw new Error(`environment variable ${directory.passwordEnv} is not set`);
    return password;
  }
  return undefined;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters this refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The first value of an attribute as text (ldapts gives strings, arrays or Buffers). */
function firstValue(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (typeof v === "string") return v || undefined;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("utf8") || undefined;
  return undefined;
}

/** A {@link DirectorySearch} over LDAP (one connection per search). */
export function ldapSearch(env: Record<string, string | undefined> = process.env): DirectorySearch {
  return async (directory, address): Promise<DirectoryPerson | undefined> => {
    // Control characters are refused, not searched: escaped NUL (\00) is a legal filter value, but
    // slapd's matching stops at it, so `jane@example.org<NUL>x` would find jane. No address has one
    // (parseEmailAddress refuses them); this guards other callers.
    if (CONTROL.test(address.address)) return undefined;
    const password = await directoryPassword(directory, env);
    const client = new Client({
      url: directory.url,
      timeout: directory.timeoutMs,
      connectTimeout: directory.timeoutMs,
    });
    try {
      if (directory.bindDn) await client.bind(directory.bindDn, password);
      const attributes = [directory.loginNameAttribute];
      if (directory.displayNameAttribute) attributes.push(directory.displayNameAttribute);
      const { searchEntries } = await client.search(directory.base, {
        scope: "sub",
        filter: directoryFilter(directory.filter, address),
        attributes,
        sizeLimit: 2,
        timeLimit: Math.ceil(directory.timeoutMs / 1000),
      });
      if (searchEntries.length !== 1) return undefined;
      const entry = searchEntries[0] as Record<string, unknown>;
      const get = (attribute: string) => {
        // Attribute names are case-insensitive (RFC 4512 §2.5).
        const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
        return key === undefined ? undefined : firstValue(entry[key]);
      };
      const loginName = get(directory.loginNameAttribute);
      const displayName = directory.displayNameAttribute ? get(directory.displayNameAttribute) : undefined;
      return { ...(loginName ? { loginName } : {}), ...(displayName ? { displayName } : {}) };
    } finally {
      await client.unbind().catch(() => {});
    }
  };
}

/**
 * The lookup `mailconf serve` gives the app: LDAP searches, cached and time-bounded.
 * @param options cache options (log, clock, size)
 */
export function ldapDirectory(options: DirectoryCacheOptions = {}): DirectoryLookup {
  return cachedDirectoryLookup(ldapSearch(), options);
}
