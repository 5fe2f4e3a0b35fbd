/**
 * The settings model's fixed terms (clientConfig 1.1 spelling), apart from the zod schemas of
 * ./model.ts, which re-exports them: templates and accounts use them without loading zod, so a
 * command that validates nothing (`mailconf check` on the built-in providers) does not load it.
 *
 * Web APIs only: this module runs unchanged on Node.js and on Cloudflare Workers.
 */

/** Incoming protocols a client can be configured for (clientConfig `incomingServer/@type`). */
export const INCOMING_TYPES = ["imap", "pop3"] as const;
/** Connection security (clientConfig `socketType`): `SSL` = implicit TLS, `STARTTLS`, `plain`. */
export const SOCKET_TYPES = ["SSL", "STARTTLS", "plain"] as const;
/**
 * Authentication methods, in clientConfig spelling (reference/autoconfig.md §1.4).
 * `password-cleartext` = SASL PLAIN/LOGIN over the (TLS) connection; `password-encrypted` = CRAM-MD5.
 */
export const AUTHENTICATION_METHODS = [
  "password-cleartext",
  "password-encrypted",
  "OAuth2",
  "NTLM",
  "GSSAPI",
  "client-IP-address",
  "TLS-client-cert",
  "smtp-after-pop",
  "none",
] as const;

export type IncomingType = (typeof INCOMING_TYPES)[number];
export type SocketType = (typeof SOCKET_TYPES)[number];
export type AuthenticationMethod = (typeof AUTHENTICATION_METHODS)[number];

/** The user-name placeholder filled from the provider's directory (Node only; docs/ldap.md). */
export const LOGINNAME = "%LOGINNAME%";
