/**
 * Account settings: a provider's servers with the placeholders expanded for one address.
 * Placeholders (reference/autoconfig.md §1.3): `%EMAILADDRESS%`, `%EMAILLOCALPART%`, `%EMAILDOMAIN%`;
 * and `%LOGINNAME%` in user names of a provider with a `directory` (./directory.ts, docs/ldap.md).
 */
import type { DirectoryPerson } from "./directory.ts";
import type { EmailAddress } from "./domain.ts";
import {
  type DavServer,
  type IncomingServer,
  LOGINNAME,
  type OutgoingServer,
  type Provider,
} from "./model.ts";
import type { Resolution } from "./store.ts";

/** What a template needs to know about the request: the mail domain, and the address if the client sent one. */
export interface AccountLookup {
  domain: string;
  address?: EmailAddress;
}

/** Servers with every placeholder the lookup can fill expanded (username and hostname). */
export interface AccountSettings {
  provider: Provider;
  resolution: Resolution;
  domain: string;
  address?: EmailAddress;
  incoming: IncomingServer[];
  outgoing: OutgoingServer[];
  caldav?: DavServer;
  carddav?: DavServer;
  /**
   * The person's name, for providers with a `directory` only: the directory's display name, else
   * the address (else undefined). Autodiscover `User/DisplayName`, the profile's `EmailAccountName`.
   */
  displayName?: string;
}

/**
 * Replaces clientConfig placeholders in `template`. `%EMAILDOMAIN%` is always known;
 * `%EMAILADDRESS%` and `%EMAILLOCALPART%` only when the lookup has an address (else kept as text).
 */
export function expandPlaceholders(template: string, lookup: AccountLookup): string {
  return template.replace(/%(EMAILADDRESS|EMAILLOCALPART|EMAILDOMAIN)%/g, (whole, name: string) => {
    if (name === "EMAILDOMAIN") return lookup.domain;
    if (!lookup.address) return whole;
    return name === "EMAILADDRESS" ? lookup.address.address : lookup.address.localPart;
  });
}

/**
 * {@link expandPlaceholders} for a URL: the inserted address parts are percent-encoded as a URL
 * path segment (RFC 3986 pchar), so `a/b@example.com` cannot change the path; `@` stays readable.
 */
export function expandUrlPlaceholders(template: string, lookup: AccountLookup): string {
  const segment = (v: string) =>
    encodeURIComponent(v).replace(/%(40|24|26|2B|2C|3B|3D|3A)/g, (m) => decodeURIComponent(m));
  return template.replace(/%(EMAILADDRESS|EMAILLOCALPART|EMAILDOMAIN)%/g, (whole, name: string) => {
    if (name === "EMAILDOMAIN") return segment(lookup.domain);
    if (!lookup.address) return whole;
    return segment(name === "EMAILADDRESS" ? lookup.address.address : lookup.address.localPart);
  });
}

/**
 * The absolute URL of a CalDAV/CardDAV server path: a path (`/dav/…`) is joined to the server's
 * scheme (`https` for SSL, else `http`), host and non-default port; an absolute URL is kept.
 * Used for Apple's `CalDAVPrincipalURL` and eM Client's Autodiscover `CalDAV` Server URL.
 */
export function davUrl(server: DavServer, urlOrPath: string): string {
  if (/^https?:\/\//i.test(urlOrPath)) return urlOrPath;
  const scheme = server.socketType === "SSL" ? "https" : "http";
  const defaultPort = scheme === "https" ? 443 : 80;
  const port = server.port === defaultPort ? "" : `:${server.port}`;
  return `${scheme}://${server.hostname}${port}${urlOrPath.startsWith("/") ? "" : "/"}${urlOrPath}`;
}

/**
 * The URL a CalDAV/CardDAV client should start from: the principal URL when one is configured
 * (placeholders already expanded), else the server's RFC 6764 `/.well-known/caldav|carddav` path.
 */
export function davServerUrl(kind: "caldav" | "carddav", server: DavServer): string {
  const configured =
    server.principalUrl && !/%EMAIL[A-Z]+%/.test(server.principalUrl) ? server.principalUrl : undefined;
  return davUrl(server, configured ?? `/.well-known/${kind}`);
}

/** True if a template still holds a placeholder that needs the address. */
export function needsAddress(template: string): boolean {
  return /%(EMAILADDRESS|EMAILLOCALPART)%/.test(template);
}

/**
 * A user-name template of a provider with a directory: `%LOGINNAME%` becomes the directory's login
 * name (inserted as is, never expanded further), or without one the directory's
 * `fallbackLoginName`; then the other placeholders are expanded.
 */
function expandUsername(
  template: string,
  lookup: AccountLookup,
  fallback: string,
  loginName: string | undefined,
): string {
  if (!template.includes(LOGINNAME)) return expandPlaceholders(template, lookup);
  if (loginName === undefined) return expandPlaceholders(template.replaceAll(LOGINNAME, fallback), lookup);
  return template
    .split(LOGINNAME)
    .map((part) => expandPlaceholders(part, lookup))
    .join(loginName);
}

/**
 * Expands a resolved provider for one account: host names always (the domain is known),
 * user names and CalDAV/CardDAV principal URLs when the address is known. Pure; never throws.
 * @param person what the provider's directory knows about the address (see ./directory.ts);
 *   absent → `%LOGINNAME%` takes the directory's `fallbackLoginName`
 */
export function accountSettings(
  resolution: Resolution,
  address?: EmailAddress,
  person?: DirectoryPerson,
): AccountSettings {
  const lookup: AccountLookup = { domain: resolution.domain, address };
  const directory = resolution.provider.directory;
  const username = directory
    ? (t: string) => expandUsername(t, lookup, directory.fallbackLoginName, person?.loginName)
    : (t: string) => expandPlaceholders(t, lookup);
  const server = <S extends { hostname: string; username: string }>(s: S): S => ({
    ...s,
    hostname: expandPlaceholders(s.hostname, lookup),
    username: username(s.username),
  });
  const dav = (s: DavServer): DavServer => ({
    ...server(s),
    principalUrl: s.principalUrl && expandUrlPlaceholders(s.principalUrl, lookup),
  });
  const { provider } = resolution;
  return {
    provider,
    resolution,
    domain: resolution.domain,
    address,
    incoming: provider.incoming.map(server),
    outgoing: provider.outgoing.map(server),
    caldav: provider.caldav && dav(provider.caldav),
    carddav: provider.carddav && dav(provider.carddav),
    ...(directory ? { displayName: person?.displayName ?? address?.address } : {}),
  };
}
