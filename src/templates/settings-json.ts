/**
 * The settings guide: one account's servers in the words people know, for the page at `/` and the
 * JSON answer of `GET /api/v1/settings?email=…`.
 *
 * Built from the same {@link AccountSettings} as autoconfig, Autodiscover and the Apple profile
 * (src/providers/account.ts), so a value on the page cannot differ from what clients receive.
 * Field names keep clientConfig's terms (`hostname`, `port`, `socketType`, `username`,
 * `authentication`); the `security`/`authenticationText` fields add the words Thunderbird,
 * Outlook and Apple Mail show in their manual-setup screens.
 * Pure: no I/O, Web APIs only.
 */
import { type AccountSettings, accountSettings, davServerUrl } from "../providers/account.ts";
import type {
  AuthenticationMethod,
  DavServer,
  IncomingServer,
  OutgoingServer,
  SocketType,
} from "../providers/model.ts";
import { preferredServer, profileProblem } from "./mobileconfig.ts";
import { PACC_DRAFT, PACC_PATH, PACC_PROTOCOLS, paccAnswer } from "./pacc.ts";

/** socketType in the words mail apps use in their manual setup (Thunderbird: "SSL/TLS", "STARTTLS", "None"). */
export const SECURITY_TEXT: Record<SocketType, string> = {
  SSL: "SSL/TLS",
  STARTTLS: "STARTTLS",
  plain: "None (unencrypted)",
};

/** clientConfig authentication methods in words (reference/autoconfig.md §1.4; Thunderbird's labels). */
export const AUTHENTICATION_TEXT: Record<AuthenticationMethod, string> = {
  "password-cleartext": "Normal password",
  "password-encrypted": "Encrypted password (CRAM-MD5)",
  OAuth2: "OAuth2 (sign in on the provider's page)",
  NTLM: "NTLM",
  GSSAPI: "Kerberos / GSSAPI",
  "client-IP-address": "None (allowed by network address)",
  "TLS-client-cert": "TLS client certificate",
  "smtp-after-pop": "SMTP after POP (check mail first)",
  none: "No authentication",
};

/** Words for the password methods when the provider takes only app passwords (`signIn.password: app-password`). */
export const APP_PASSWORD_TEXT: Partial<Record<AuthenticationMethod, string>> = {
  "password-cleartext": "App password (not your account password)",
  "password-encrypted": "App password, encrypted (CRAM-MD5)",
};

const PROTOCOL = { imap: "IMAP", pop3: "POP3", smtp: "SMTP" } as const;
const PASSWORD_METHODS: readonly AuthenticationMethod[] = ["password-cleartext", "password-encrypted"];

/** One incoming or outgoing server as the guide shows it. */
export interface GuideServer {
  /** clientConfig server type. */
  type: "imap" | "pop3" | "smtp";
  /** `IMAP`, `POP3` or `SMTP`. */
  protocol: "IMAP" | "POP3" | "SMTP";
  hostname: string;
  /** TCP port, 1-65535. */
  port: number;
  socketType: SocketType;
  /** {@link SECURITY_TEXT} of socketType, e.g. `SSL/TLS`. */
  security: string;
  /** Login name with the placeholders expanded for the address. */
  username: string;
  /** In order of preference. */
  authentication: AuthenticationMethod[];
  /** {@link AUTHENTICATION_TEXT} of each method, same order. */
  authenticationText: string[];
  /** True for the server the Apple profile uses (the preferred protocol, implicit TLS first). */
  recommended: boolean;
}

/** A CalDAV or CardDAV account (RFC 4791 / RFC 6352). */
export interface GuideDav {
  hostname: string;
  port: number;
  socketType: "SSL" | "plain";
  security: string;
  username: string;
  /** The principal URL (placeholders expanded), else `https://host[:port]/.well-known/caldav|carddav` (RFC 6764). */
  url: string;
}

/**
 * How people sign in, from the servers' `authentication` lists and the provider's `signIn` setting.
 */
export interface GuideSignIn {
  /** The recommended servers take a password (the account's, or an app password: see `passwordKind`). */
  password: boolean;
  /** Some server offers OAuth2 (the provider's own sign-in page). */
  oauth2: boolean;
  /** No server takes anything but OAuth2: a typed password is refused, and there is no profile. */
  oauth2Only: boolean;
  /** What the password fields take: `account` (the account's password) or `app-password` (only a password made for one app). */
  passwordKind: "account" | "app-password";
  /** Where an app password is made (provider setting `signIn.appPasswordUrl`). */
  appPasswordUrl?: string;
  /** The account type of Apple's Add Account list that signs in properly (e.g. `Google`, `iCloud`). */
  appleAccountType?: string;
  /** Whether an Apple profile can sign in (false when its servers take only OAuth2); else `links.mobileconfig` is absent. */
  profile: boolean;
}

/**
 * The JSON document of `GET /api/v1/settings?email=…` (see {@link settingsOpenApiSchema}).
 */
export interface SettingsGuide {
  email: string;
  /** The mail domain, lower-case ASCII. */
  domain: string;
  provider: { id: string; displayName: string; displayShortName?: string };
  /** In the provider's order of preference (the order autoconfig and Autodiscover send). */
  incoming: GuideServer[];
  outgoing: GuideServer[];
  caldav?: GuideDav;
  carddav?: GuideDav;
  /** How people sign in (see {@link GuideSignIn}). */
  signIn: GuideSignIn;
  /** The provider's notes for people (e.g. app passwords), verbatim. */
  notes: string[];
  /** Links to the provider's own setup help; `description` is the English text, else the first, else the URL. */
  documentation: { url: string; description: string }[];
  /** Absolute URLs on this server (from the configured public URL, never the Host header); `mobileconfig` only when `signIn.profile`. */
  links: { mobileconfig?: string; autoconfig: string; autodiscover: string };
  /** What PACC clients get (src/templates/pacc.ts; the document is one per domain). */
  pacc: GuidePacc;
}

/** The PACC document of the domain in the guide's terms. */
export interface GuidePacc {
  /** Where clients ask: `https://ua-auto-config.<domain>/.well-known/user-agent-configuration.json`. */
  url: string;
  /** False when no server can be expressed (then nothing is served: 404). */
  published: boolean;
  /** The document's servers in its order: `{ protocol: "imap", host }` or `{ protocol: "caldav", url }`. */
  servers: { protocol: string; host?: string; url?: string }[];
  /** `authentication.password` of the document. */
  password: boolean;
  /** `authentication.oauth-public.issuer`, when announced. */
  oauthIssuer?: string;
  /** What the settings say that the document cannot, one sentence each. */
  omitted: string[];
}

/** {@link GuidePacc} for the domain of `account` (rendered without the address, as the endpoint does). */
function guidePacc(account: AccountSettings): GuidePacc {
  const answer = paccAnswer(accountSettings(account.resolution));
  const doc = answer.document;
  return {
    url: `https://ua-auto-config.${account.domain}${PACC_PATH}`,
    published: doc !== undefined,
    servers: Object.entries(doc?.protocols ?? {}).map(([protocol, server]) => ({ protocol, ...server })),
    password: doc?.authentication.password ?? false,
    ...(doc?.authentication["oauth-public"]
      ? { oauthIssuer: doc.authentication["oauth-public"].issuer }
      : {}),
    omitted: answer.omitted,
  };
}

function server(
  s: IncomingServer | OutgoingServer,
  recommended: S | undefined,
  appPassword: boolean,
): GuideServer {
  const words = (a: AuthenticationMethod) => (appPassword && APP_PASSWORD_TEXT[a]) || AUTHENTICATION_TEXT[a];
  return {
    type: s.type,
    protocol: PROTOCOL[s.type],
    hostname: s.hostname,
    port: s.port,
    socketType: s.socketType,
    security: SECURITY_TEXT[s.socketType],
    username: s.username,
    authentication: [...s.authentication],
    authenticationText: s.authentication.map(words),
    recommended: s === recommended,
  };
}
type S = IncomingServer | OutgoingServer;

function dav(kind: "caldav" | "carddav", d: DavServer): GuideDav {
  return {
    hostname: d.hostname,
    port: d.port,
    socketType: d.socketType,
    security: d.socketType === "SSL" ? "SSL/TLS" : SECURITY_TEXT.plain,
    username: d.username,
    url: davServerUrl(kind, d),
  };
}

/** Absolute profile link for an address: `<publicUrl>/mobileconfig?email=<percent-encoded address>`. */
export function profileUrl(publicUrl: string, address: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/mobileconfig?email=${encodeURIComponent(address)}`;
}

/**
 * Builds the guide for one account.
 * @param account settings expanded for the address (`account.address` must be set)
 * @param publicUrl absolute base URL of this server (AppDeps.publicUrl), without trailing slash
 * @throws Error if `account.address` is missing (the guide is always per address)
 */
export function settingsGuide(account: AccountSettings, publicUrl: string): SettingsGuide {
  const address = account.address;
  if (!address) throw new Error("settingsGuide needs an address");
  const base = publicUrl.replace(/\/+$/, "");
  const { provider } = account;
  const inPreferred = preferredServer(account.incoming);
  const outPreferred = preferredServer(account.outgoing);
  const all = [...account.incoming, ...account.outgoing];
  const takesPassword = (s: S | undefined) =>
    s?.authentication.some((a) => PASSWORD_METHODS.includes(a)) ?? false;
  const signIn = provider.signIn;
  const appPassword = signIn?.password === "app-password";
  const profile = profileProblem(account) === undefined;
  const documentation = provider.documentation.map((d) => ({
    url: d.url,
    description: d.descr.en ?? Object.values(d.descr)[0] ?? d.url,
  }));
  return {
    email: address.address,
    domain: account.domain,
    provider: {
      id: provider.id,
      displayName: provider.displayName,
      ...(provider.displayShortName ? { displayShortName: provider.displayShortName } : {}),
    },
    incoming: account.incoming.map((s) => server(s, inPreferred, appPassword)),
    outgoing: account.outgoing.map((s) => server(s, outPreferred, appPassword)),
    ...(account.caldav ? { caldav: dav("caldav", account.caldav) } : {}),
    ...(account.carddav ? { carddav: dav("carddav", account.carddav) } : {}),
    signIn: {
      password: takesPassword(inPreferred) && takesPassword(outPreferred),
      oauth2: all.some((s) => s.authentication.includes("OAuth2")),
      oauth2Only: all.every((s) => s.authentication.every((a) => a === "OAuth2")),
      passwordKind: appPassword ? "app-password" : "account",
      ...(signIn?.appPasswordUrl ? { appPasswordUrl: signIn.appPasswordUrl } : {}),
      ...(signIn?.appleAccountType ? { appleAccountType: signIn.appleAccountType } : {}),
      profile,
    },
    notes: [...provider.notes],
    documentation,
    links: {
      ...(profile ? { mobileconfig: profileUrl(base, address.address) } : {}),
      autoconfig: `${base}/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address.address)}`,
      autodiscover: `${base}/autodiscover/autodiscover.xml`,
    },
    pacc: guidePacc(account),
  };
}

/** The JSON body of `/api/v1/settings` (pretty-printed, newline-terminated). */
export function renderSettingsJson(guide: SettingsGuide): string {
  return `${JSON.stringify(guide, null, 2)}\n`;
}

const serverSchema = {
  type: "object",
  required: [
    "type",
    "protocol",
    "hostname",
    "port",
    "socketType",
    "security",
    "username",
    "authentication",
    "authenticationText",
    "recommended",
  ],
  properties: {
    type: { type: "string", enum: ["imap", "pop3", "smtp"] },
    protocol: { type: "string", enum: ["IMAP", "POP3", "SMTP"] },
    hostname: { type: "string", example: "mail.example.com" },
    port: { type: "integer", minimum: 1, maximum: 65535, example: 993 },
    socketType: {
      type: "string",
      enum: ["SSL", "STARTTLS", "plain"],
      description: "SSL = implicit TLS",
    },
    security: { type: "string", example: "SSL/TLS", description: "socketType in words" },
    username: { type: "string", example: "jane@example.com" },
    authentication: {
      type: "array",
      items: { type: "string", example: "password-cleartext" },
      description: "clientConfig methods, in order of preference",
    },
    authenticationText: { type: "array", items: { type: "string", example: "Normal password" } },
    recommended: { type: "boolean", description: "the server the Apple profile uses" },
  },
} as const;

const davSchema = {
  type: "object",
  required: ["hostname", "port", "socketType", "security", "username", "url"],
  properties: {
    hostname: { type: "string" },
    port: { type: "integer" },
    socketType: { type: "string", enum: ["SSL", "plain"] },
    security: { type: "string" },
    username: { type: "string" },
    url: { type: "string", format: "uri" },
  },
} as const;

/** OpenAPI 3.1 schema of {@link SettingsGuide}, for the project's OpenAPI document. */
export const settingsOpenApiSchema = {
  type: "object",
  required: [
    "email",
    "domain",
    "provider",
    "incoming",
    "outgoing",
    "signIn",
    "notes",
    "documentation",
    "links",
    "pacc",
  ],
  properties: {
    email: { type: "string", format: "email" },
    domain: { type: "string", example: "example.com" },
    provider: {
      type: "object",
      required: ["id", "displayName"],
      properties: {
        id: { type: "string" },
        displayName: { type: "string" },
        displayShortName: { type: "string" },
      },
    },
    incoming: { type: "array", items: serverSchema },
    outgoing: { type: "array", items: serverSchema },
    caldav: davSchema,
    carddav: davSchema,
    signIn: {
      type: "object",
      required: ["password", "oauth2", "oauth2Only", "passwordKind", "profile"],
      properties: {
        password: { type: "boolean", description: "the recommended servers take a password" },
        oauth2: { type: "boolean", description: "some server offers OAuth2" },
        oauth2Only: { type: "boolean", description: "no server takes anything but OAuth2" },
        passwordKind: {
          type: "string",
          enum: ["account", "app-password"],
          description:
            "app-password: the account password is refused; only a password made for one app works",
        },
        appPasswordUrl: { type: "string", format: "uri", description: "where an app password is made" },
        appleAccountType: {
          type: "string",
          example: "Google",
          description: "the account type of Apple's Add Account list that signs in properly",
        },
        profile: {
          type: "boolean",
          description: "an Apple profile can sign in; else links.mobileconfig is absent",
        },
      },
    },
    notes: { type: "array", items: { type: "string" } },
    documentation: {
      type: "array",
      items: {
        type: "object",
        required: ["url", "description"],
        properties: { url: { type: "string", format: "uri" }, description: { type: "string" } },
      },
    },
    links: {
      type: "object",
      required: ["autoconfig", "autodiscover"],
      properties: {
        mobileconfig: { type: "string", format: "uri" },
        autoconfig: { type: "string", format: "uri" },
        autodiscover: { type: "string", format: "uri" },
      },
    },
    pacc: {
      type: "object",
      description: `What PACC clients (${PACC_DRAFT}) get for the domain`,
      required: ["url", "published", "servers", "password", "omitted"],
      properties: {
        url: { type: "string", format: "uri" },
        published: { type: "boolean", description: "false: no server can be expressed, nothing is served" },
        servers: {
          type: "array",
          items: {
            type: "object",
            required: ["protocol"],
            properties: {
              protocol: { type: "string", enum: [...PACC_PROTOCOLS] },
              host: { type: "string", description: "text protocols: implicit TLS on the default port" },
              url: { type: "string", format: "uri", description: "HTTP protocols: https on port 443" },
            },
          },
        },
        password: { type: "boolean" },
        oauthIssuer: { type: "string", format: "uri" },
        omitted: { type: "array", items: { type: "string" }, description: "what the document cannot say" },
      },
    },
  },
} as const;
