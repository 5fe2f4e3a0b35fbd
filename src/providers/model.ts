/**
 * The settings model: providers, their servers and the domains they serve.
 *
 * Names follow Mozilla's clientConfig 1.1 (reference/autoconfig.md §1.2), because every
 * other output format (Autodiscover, Apple profiles, pages) is a projection of it.
 * Validation is zod; every boundary (settings files, ISPDB import, admin API) goes
 * through {@link parseSettings} or {@link ProviderSchema} so errors read the same
 * everywhere: `providers[0].incoming[1].port: expected an integer 1-65535, got "99x"`.
 *
 * Web APIs only: this module runs unchanged on Node.js and on Cloudflare Workers.
 */
import * as z from "zod";
import { normalizeDomain } from "./domain.ts";

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

/** RFC 1123 host name, optionally with clientConfig placeholders such as `mail.%EMAILDOMAIN%`. */
const HOSTNAME_RE =
  /^(?=.{1,253}$)(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|%EMAIL(?:DOMAIN|LOCALPART|ADDRESS)%)(?:\.|$))+$/i;
/** Provider ids are host-name-like slugs: they become `emailProvider/@id` and URL path segments. */
const PROVIDER_ID_RE = /^[a-z0-9](?:[a-z0-9.-]{0,126}[a-z0-9])?$/;

const port = z
  .number({ error: (i) => `expected an integer 1-65535, got ${describe(i.input)}` })
  .int({ error: (i) => `expected an integer 1-65535, got ${describe(i.input)}` })
  .min(1, { error: (i) => `expected an integer 1-65535, got ${describe(i.input)}` })
  .max(65535, { error: (i) => `expected an integer 1-65535, got ${describe(i.input)}` });

const hostname = z
  .string({ error: (i) => `expected a host name, got ${describe(i.input)}` })
  .trim()
  .toLowerCase()
  .regex(HOSTNAME_RE, {
    error: (i) => `expected a host name such as mail.example.com, got ${describe(i.input)}`,
  })
  .transform((h) => h.replace(/%email(domain|localpart|address)%/g, (m) => m.toUpperCase()));

/** A domain name, stored lower-case, without trailing dot, in ASCII (punycode) form. `*.` prefix allowed where noted. */
export const domainName = (opts: { wildcard?: boolean } = {}) =>
  z.string({ error: (i) => `expected a domain name, got ${describe(i.input)}` }).transform((value, ctx) => {
    const normal = normalizeDomain(value, opts);
    if (normal === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `expected a domain name${opts.wildcard ? " (or *.domain)" : ""}, got ${describe(value)}`,
      });
      return z.NEVER;
    }
    return normal;
  });

const usernameTemplate = z
  .string({
    error: (i) => `expected a user name or placeholder such as %EMAILADDRESS%, got ${describe(i.input)}`,
  })
  .trim()
  .min(1, { error: "expected a user name or placeholder such as %EMAILADDRESS%, got an empty string" })
  .max(320)
  .refine((v) => unknownPlaceholders(v).length === 0, {
    error: (i) =>
      `unknown placeholder ${unknownPlaceholders(String(i.input)).join(", ")}: use %EMAILADDRESS%, %EMAILLOCALPART% or %EMAILDOMAIN%`,
  });

/**
 * `%WORD%` tokens that are not one of the three clientConfig placeholders (reference/autoconfig.md
 * §1.3) or `%LOGINNAME%` (the login name from the provider's `directory`, checked per provider).
 */
function unknownPlaceholders(text: string): string[] {
  return [...text.matchAll(/%[A-Za-z_]+%/g)]
    .map((m) => m[0])
    .filter((p) => !["%EMAILADDRESS%", "%EMAILLOCALPART%", "%EMAILDOMAIN%", LOGINNAME].includes(p));
}

/** The user-name placeholder filled from the provider's directory (Node only; docs/ldap.md). */
export const LOGINNAME = "%LOGINNAME%";

/** An LDAP attribute description (RFC 4512 §2.5: a descriptor or an OID). */
const ldapAttribute = z.string().regex(/^([A-Za-z][A-Za-z0-9-]{0,63}|\d+(\.\d+)+)$/, {
  error: (i) => `expected an LDAP attribute name such as uid or displayName, got ${describe(i.input)}`,
});

/** Parentheses balance outside `\` escapes, and the filter is one parenthesised item. */
function balancedFilter(filter: string): boolean {
  let depth = 0;
  for (let i = 0; i < filter.length; i++) {
    const ch = filter[i];
    if (ch === "\\") i += 2;
    else if (ch === "(") depth++;
    else if (ch === ")" && --depth < 0) return false;
    if (depth === 0 && i < filter.length - 1) return false;
  }
  return depth === 0;
}

/**
 * An LDAP directory that gives each address its login name and display name (docs/ldap.md).
 * Looked up on Node only (ldapts); the Worker build refuses a settings file that has one.
 * Shape: `{ url, bindDn?, passwordFile? | passwordEnv?, base, filter, loginNameAttribute,
 * displayNameAttribute?, fallbackLoginName, timeoutMs, cacheSeconds }`.
 */
export const DirectorySchema = z
  .strictObject({
    /** `ldap://host[:port]` or `ldaps://host[:port]` (RFC 4516, scheme, host and port only). */
    url: z.string().regex(/^ldaps?:\/\/[^/?#\s]+\/?$/i, {
      error: (i) => `expected ldap://host[:port] or ldaps://host[:port], got ${describe(i.input)}`,
    }),
    /** DN to bind as; absent: an anonymous search. */
    bindDn: z.string().min(1).max(1024).optional(),
    /** File holding the bind password (trailing newline removed); read when a lookup needs it. */
    passwordFile: z.string().min(1).max(4096).optional(),
    /** Environment variable holding the bind password. */
    passwordEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
        error: (i) => `expected an environment variable name, got ${describe(i.input)}`,
      })
      .optional(),
    /** Search base DN, e.g. `ou=people,dc=example,dc=org` (subtree search). */
    base: z.string().min(1).max(1024),
    /**
     * RFC 4515 filter with `%EMAILADDRESS%`/`%EMAILLOCALPART%`/`%EMAILDOMAIN%`; each is replaced by
     * its value escaped per RFC 4515 §3 (`*` `(` `)` `\` NUL as `\2a` `\28` `\29` `\5c` `\00`).
     */
    filter: z
      .string()
      .max(1024)
      .default("(mail=%EMAILADDRESS%)")
      .refine((f) => /%(EMAILADDRESS|EMAILLOCALPART)%/.test(f), {
        error: "the filter must contain %EMAILADDRESS% or %EMAILLOCALPART%",
      })
      .refine(balancedFilter, {
        error: (i) =>
          `expected one parenthesised LDAP filter such as (mail=%EMAILADDRESS%), got ${describe(i.input)}`,
      }),
    /** Attribute whose value is `%LOGINNAME%`, e.g. `uid` or `sAMAccountName`. */
    loginNameAttribute: ldapAttribute.default("uid"),
    /** Attribute with the person's name (Autodiscover `DisplayName`, the profile's `EmailAccountName`). */
    displayNameAttribute: ldapAttribute.optional(),
    /**
     * What `%LOGINNAME%` becomes when the directory gives nothing (unknown mailbox, timeout, no
     * address in the request): the answer the template gives without a directory.
     */
    fallbackLoginName: usernameTemplate
      .default("%EMAILADDRESS%")
      .refine((v) => !v.includes(LOGINNAME), { error: "the fallback cannot itself use %LOGINNAME%" }),
    /** A lookup gives up after this many milliseconds (connect, bind and search together). */
    timeoutMs: z.number().int().min(50).max(10_000).default(1000),
    /** Answers (found or not) are kept this many seconds; failures 30 s at most. */
    cacheSeconds: z.number().int().min(0).max(86_400).default(300),
  })
  .refine((d) => !(d.passwordFile && d.passwordEnv), {
    error: "give passwordFile or passwordEnv, not both",
    path: ["passwordEnv"],
  })
  .refine((d) => !d.bindDn || d.passwordFile || d.passwordEnv, {
    error: "bindDn needs passwordFile or passwordEnv",
    path: ["bindDn"],
  });

/** One method or a list of them, in order of preference; each entry is checked (and named) on its own. */
const authenticationList = z.preprocess(
  (v) => (typeof v === "string" ? [v] : v),
  z
    .array(
      z.enum(AUTHENTICATION_METHODS, {
        error: (i) => `expected one of ${AUTHENTICATION_METHODS.join(", ")}, got ${describe(i.input)}`,
      }),
      { error: (i) => `expected a list of authentication methods, got ${describe(i.input)}` },
    )
    .min(1, { error: "expected at least one authentication method" }),
);

const serverFields = {
  hostname,
  port,
  socketType: z.enum(SOCKET_TYPES, {
    error: (i) => `expected one of SSL, STARTTLS, plain (exact case), got ${describe(i.input)}`,
  }),
  /** Login name template; `%EMAILADDRESS%`, `%EMAILLOCALPART%`, `%EMAILDOMAIN%` are expanded per account. */
  username: usernameTemplate.default("%EMAILADDRESS%"),
  /** In order of preference (clientConfig: first supported wins). */
  authentication: authenticationList.default(["password-cleartext"]),
  /**
   * clientConfig `restriction` (reference/autoconfig.md §1.4): `client-IP-address` = the server
   * works only from the provider's own network (e.g. SMTP without sign-in for its access customers).
   */
  restriction: z
    .enum(["client-IP-address"], {
      error: (i) => `expected client-IP-address, got ${describe(i.input)}`,
    })
    .optional(),
};

/** An incoming (IMAP or POP3) server, clientConfig `incomingServer`. */
export const IncomingServerSchema = z.strictObject({
  type: z.enum(INCOMING_TYPES, { error: (i) => `expected imap or pop3, got ${describe(i.input)}` }),
  ...serverFields,
  /** POP3 only: clientConfig `pop3/leaveMessagesOnServer`. */
  leaveMessagesOnServer: z.boolean().optional(),
});

/** An outgoing (SMTP submission) server, clientConfig `outgoingServer type="smtp"`. */
export const OutgoingServerSchema = z.strictObject({
  type: z.literal("smtp", { error: (i) => `expected smtp, got ${describe(i.input)}` }).default("smtp"),
  ...serverFields,
});

const httpsUrl = z.url({
  protocol: /^https?$/,
  error: (i) => `expected an http(s) URL, got ${describe(i.input)}`,
});

/**
 * An Exchange-family incoming server of clientConfig (reference/autoconfig.md §1.4, as in the ISPDB's
 * office365.com): `ews`, `owa` and `graph` are URL-based (`url`); `exchange` is the older combined
 * element with `hostname`/`port`/`socketType` and `owaURL`/`ewsURL`/`easURL`. Thunderbird reads them
 * (and offers them after IMAP/POP3); autoconfig serves them after the IMAP/POP3 servers. Autodiscover,
 * the Apple profile and the guide cannot express them and skip them (`mailconf check` says so).
 * `username` is kept as written (the ISPDB's office365.com has `%EMAILADDRESS` without the last `%`).
 */
export const ExchangeServerSchema = z.discriminatedUnion(
  "type",
  [
    z.strictObject({
      type: z.enum(["ews", "owa", "graph"]),
      url: httpsUrl,
      username: z.string().trim().min(1).max(320).default("%EMAILADDRESS%"),
      authentication: authenticationList.default(["OAuth2"]),
    }),
    z.strictObject({
      type: z.literal("exchange"),
      hostname,
      port: port.default(443),
      socketType: z.enum(SOCKET_TYPES).default("SSL"),
      username: z.string().trim().min(1).max(320).default("%EMAILADDRESS%"),
      authentication: authenticationList.default(["OAuth2"]),
      owaURL: httpsUrl.optional(),
      ewsURL: httpsUrl.optional(),
      easURL: httpsUrl.optional(),
      useGlobalPreferredServer: z.boolean().optional(),
    }),
  ],
  {
    error: (i) =>
      `expected type exchange, ews, owa or graph, got ${describe((i.input as { type?: unknown })?.type)}`,
  },
);

/** A web mail URL: http(s), may hold placeholders such as `https://login.%EMAILDOMAIN%` (ISPDB inbox.lv). */
const webMailUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s]+$/, { error: (i) => `expected an http(s) URL, got ${describe(i.input)}` });

/** Web mail login hints (clientConfig `webMail`, reference/autoconfig.md §1.2; clients ignore it for setup). */
const formField = z.strictObject({
  id: z.string().max(200).optional(),
  name: z.string().max(200).optional(),
});
export const WebMailSchema = z.strictObject({
  /** `loginPage/@url`: where people sign in to web mail. */
  loginPage: webMailUrl.optional(),
  /** `loginPageInfo`: the login form, for clients that fill it in. */
  loginPageInfo: z
    .strictObject({
      url: webMailUrl,
      username: z.string().max(320).optional(),
      usernameField: formField.optional(),
      passwordField: formField.optional(),
      loginButton: formField.optional(),
    })
    .optional(),
});

/** Account types Apple's Mail offers under Add Account besides "Other" (support.apple.com/HT201320). */
export const APPLE_ACCOUNT_TYPES = [
  "iCloud",
  "Microsoft Exchange",
  "Google",
  "Yahoo",
  "AOL",
  "Outlook.com",
] as const;
export type AppleAccountType = (typeof APPLE_ACCOUNT_TYPES)[number];

/**
 * How people sign in, beyond the servers' `authentication` lists (which already say "OAuth2 only"
 * when OAuth2 is a server's only method):
 * - `password`: what the password fields of IMAP/POP3/SMTP take: `account` (the password of the
 *   mail account, the default) or `app-password` (only a password made for one app; the account
 *   password is refused), as at Gmail, iCloud and Yahoo.
 * - `appPasswordUrl`: where a person makes that app password.
 * - `appleAccountType`: the account type of Apple's Add Account list that signs in to this provider
 *   properly (OAuth2 or Apple ID); the guide recommends it on Apple devices.
 */
export const SignInSchema = z.strictObject({
  password: z
    .enum(["account", "app-password"], {
      error: (i) => `expected account or app-password, got ${describe(i.input)}`,
    })
    .default("account"),
  appPasswordUrl: httpsUrl.optional(),
  appleAccountType: z
    .enum(APPLE_ACCOUNT_TYPES, {
      error: (i) => `expected one of ${APPLE_ACCOUNT_TYPES.join(", ")}, got ${describe(i.input)}`,
    })
    .optional(),
});

/** CalDAV or CardDAV account (Apple payloads, Autodiscover Protocol entries, RFC 6764 SRV records). */
export const DavServerSchema = z.strictObject({
  hostname,
  port: port.default(443),
  socketType: z.enum(["SSL", "plain"]).default("SSL"),
  username: usernameTemplate.default("%EMAILADDRESS%"),
  /**
   * Principal URL: a path on this server such as `/dav/principals/%EMAILADDRESS%/`, or an absolute
   * http(s) URL; placeholders are expanded per account. Omit it unless you know it is right: clients
   * then find the principal by RFC 6764 discovery, and a wrong one breaks macOS (reference/mobileconfig.md §11 #6).
   */
  principalUrl: z
    .string()
    .max(2048)
    .regex(/^(\/|https?:\/\/)[^\s]*$/, {
      error: (i) =>
        `expected a path starting with / or an http(s) URL, such as /dav/principals/%EMAILADDRESS%/, got ${describe(i.input)}`,
    })
    .optional(),
});

/** A link to the provider's own setup documentation (clientConfig `documentation`). */
export const DocumentationSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: (i) => `expected an http(s) URL, got ${describe(i.input)}` }),
  /** Description per language tag, e.g. `{ en: "IMAP settings" }`. */
  descr: z.record(z.string(), z.string().max(500)).default({}),
});

const targetDeviceTypeError = (issue: { input?: unknown }) =>
  `expected 0 (any), 1 (iPhone/iPad), 2 (Watch), 3 (HomePod), 4 (TV), 5 (Mac) or 6 (Vision Pro), got ${describe(issue.input)}`;

/** Options of the Apple configuration profile (reference/mobileconfig.md §1). */
export const ProfileOptionsSchema = z.strictObject({
  /** `PayloadOrganization`. */
  organization: z.string().max(200).optional(),
  /** Top-level `PayloadDescription`. */
  description: z.string().max(1000).optional(),
  /**
   * `ConsentText`, the agreement the device shows (and the person must accept) before installing:
   * a dictionary of BCP 47 language tag (`en`, `de-CH`) or `default` → text (TopLevel.yaml). A plain
   * string is short for `{ default: "…" }`.
   */
  consentText: z
    .preprocess(
      (v) => (typeof v === "string" ? { default: v } : v),
      z.record(
        z.string(),
        z
          .string({ error: (i) => `expected the agreement text, got ${describe(i.input)}` })
          .trim()
          .min(1, { error: "expected the agreement text, got an empty string" })
          .max(4000),
        { error: (i) => `expected text or { <language tag>: text }, got ${describe(i.input)}` },
      ),
    )
    .superRefine((record, ctx) => {
      const keys = Object.keys(record);
      if (keys.length === 0)
        ctx.addIssue({ code: "custom", message: "expected at least one language, e.g. default" });
      for (const key of keys)
        if (!/^(default|[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*)$/.test(key))
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `expected a language tag such as en or de-CH, or default, got ${describe(key)}`,
          });
    })
    .optional(),
  /**
   * `TargetDeviceType` (TopLevel.yaml, iOS 12.2+/macOS 10.15+): 0 any, 1 iPhone/iPad/iPod touch,
   * 2 Apple Watch, 3 HomePod, 4 Apple TV, 5 Mac, 6 Vision Pro. Set 1 only if Macs never use the
   * link: it spares iPhone users the "which device?" question, but other devices refuse the profile.
   */
  targetDeviceType: z
    .number({ error: targetDeviceTypeError })
    .int({ error: targetDeviceTypeError })
    .min(0, { error: targetDeviceTypeError })
    .max(6, { error: targetDeviceTypeError })
    .optional(),
  /** Reverse-DNS prefix of PayloadIdentifier; default: the reversed provider id. */
  identifierPrefix: z
    .string()
    .regex(/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/, { error: "expected a reverse-DNS name such as com.example" })
    .optional(),
  /**
   * S/MIME in Apple Mail on iPhone/iPad (iOS 12+ keys of com.apple.mail.managed; macOS ignores them):
   * `signing` = sign outgoing mail by default, `encryption` = encrypt by default. Either way the
   * person can switch both and picks their own certificate (a profile never carries private keys).
   */
  smime: z
    .strictObject({ signing: z.boolean().default(false), encryption: z.boolean().default(false) })
    .optional(),
});

/** OAuth2 endpoints (clientConfig `oAuth2`); informational, clients use their own lists. */
export const OAuth2Schema = z.strictObject({
  issuer: z.string().max(255),
  scope: z.string().max(2000),
  authURL: z.url(),
  tokenURL: z.url(),
});

/**
 * A mail provider: the servers it runs and the domains it serves.
 * Shape: `{ id, displayName, displayShortName?, domains[], incoming[], outgoing[], … }`.
 * Source: reference/autoconfig.md §1.2 (`emailProvider`), DESIGN.md "The settings model".
 */
export const ProviderSchema = z
  .strictObject({
    id: z.string({ error: (i) => `expected a provider id, got ${describe(i.input)}` }).regex(PROVIDER_ID_RE, {
      error: (i) =>
        `expected lower-case letters, digits, dots and dashes, such as example.com, got ${describe(i.input)}`,
    }),
    /** ≤ 60 characters (draft-ietf-mailmaint-autoconfig); Thunderbird shows it. */
    displayName: z.string().trim().min(1).max(60),
    /** Short label (the draft asks for ≤ 20 characters; ISPDB files exceed it); KMail and FairEmail show it. */
    displayShortName: z.string().trim().min(1).max(60).optional(),
    /**
     * clientConfig `emailProvider/@id` of an ISPDB file when it differs from `id` (taken from the file
     * name) and no other file of the folder declares it; autoconfig then answers with it.
     */
    emailProviderId: z.string().regex(PROVIDER_ID_RE).optional(),
    /**
     * Mail domains served; `*.example.com` serves every subdomain. May be empty: a hosting profile
     * whose customer domains are all assigned one by one (`assignedDomains`, PUT /api/v1/domains).
     */
    domains: z
      .array(domainName({ wildcard: true }))
      .default([])
      .transform(unique),
    /**
     * Whether autoconfig answers may list this provider's other `domains` (clientConfig `domain`
     * elements). Default false: only the domain asked for is named, so a hosting provider's customer
     * list is not published. The built-in providers and ISPDB files set it (their lists are public).
     */
    listDomains: z.boolean().default(false),
    /** MX host names (or `*.suffix`) of customer domains this provider hosts (resolution by MX). */
    mxHosts: z
      .array(domainName({ wildcard: true }))
      .default([])
      .transform(unique),
    /** Incoming servers in order of preference; IMAP first is recommended. */
    incoming: z.array(IncomingServerSchema).min(1, { error: "expected at least one incoming server" }),
    /** Exchange-family incoming servers (see {@link ExchangeServerSchema}), served by autoconfig only. */
    exchangeServers: z.array(ExchangeServerSchema).optional(),
    /** Outgoing (SMTP) servers in order of preference. */
    outgoing: z.array(OutgoingServerSchema).min(1, { error: "expected at least one outgoing server" }),
    documentation: z.array(DocumentationSchema).default([]),
    /** Notes for people reading the settings guide, e.g. "Use an app password when two-step sign-in is on". */
    notes: z.array(z.string().max(1000)).default([]),
    /** How people sign in: app passwords, Apple's built-in account type ({@link SignInSchema}). */
    signIn: SignInSchema.optional(),
    webMail: WebMailSchema.optional(),
    caldav: DavServerSchema.optional(),
    carddav: DavServerSchema.optional(),
    /** Exchange ActiveSync URL; when set, Autodiscover mobilesync requests get settings instead of error 601. */
    activeSync: z.strictObject({ url: z.url({ protocol: /^https$/ }) }).optional(),
    oauth2: OAuth2Schema.optional(),
    /**
     * JMAP (RFC 8620): the session resource URL, e.g. `https://jmap.example.com/.well-known/jmap`.
     * Served in PACC `protocols.jmap.url` (draft-ietf-mailmaint-pacc-02; docs/pacc.md).
     */
    jmap: z
      .strictObject({
        url: z
          .url({
            protocol: /^https$/,
            error: (i) =>
              `expected an https URL such as https://jmap.example.com/.well-known/jmap, got ${describe(i.input)}`,
          })
          .refine((u) => !/[?#]/.test(u) && !/^https:\/\/[^/]*@/.test(u), {
            error: "expected an https URL without user name, query or fragment",
          }),
      })
      .optional(),
    /**
     * OAuth for open public clients (draft-ietf-mailmaint-oauth-public): the issuer identifier of an
     * authorization server that lets any mail client register itself, e.g. `https://auth.example.com/`.
     * Only then do PACC clients get `authentication.oauth-public` (docs/pacc.md). An https URL with
     * no query or fragment (RFC 8414 §2).
     */
    oauthPublic: z
      .strictObject({
        issuer: z
          .url({
            protocol: /^https$/,
            error: (i) => `expected an https URL such as https://auth.example.com/, got ${describe(i.input)}`,
          })
          .refine((u) => !/[?#]/.test(u), {
            error: "expected an issuer URL without query or fragment (RFC 8414 §2)",
          }),
      })
      .optional(),
    /** Autodiscover `TTL` in hours (MS-OXDSCLI §2.2.4.1.1.2.2.1); default 1. */
    ttlHours: z.number().int().min(0).max(8760).default(1),
    profile: ProfileOptionsSchema.default({}),
    /** Login names (`%LOGINNAME%`) and display names from an LDAP directory (Node only; docs/ldap.md). */
    directory: DirectorySchema.optional(),
  })
  .superRefine((provider, ctx) => {
    if (provider.directory) return;
    const servers: [string, number, { username: string }][] = [
      ...provider.incoming.map((s, i) => ["incoming", i, s] as [string, number, { username: string }]),
      ...provider.outgoing.map((s, i) => ["outgoing", i, s] as [string, number, { username: string }]),
    ];
    for (const kind of ["caldav", "carddav"] as const) {
      const dav = provider[kind];
      if (dav?.username.includes(LOGINNAME))
        ctx.addIssue({ code: "custom", path: [kind, "username"], message: "%LOGINNAME% needs a directory" });
    }
    for (const [kind, i, s] of servers)
      if (s.username.includes(LOGINNAME))
        ctx.addIssue({
          code: "custom",
          path: [kind, i, "username"],
          message: "%LOGINNAME% needs a directory: add directory: { url, base, filter, … } to the provider",
        });
  });

/**
 * A settings file (YAML or JSON):
 * `{ publicUrl?, providers: Provider[], aliases?: { "<alias domain>": "<domain>" } }`.
 * `aliases` maps a mail domain to another one that is served (Autodiscover answers redirectAddr).
 */
export const SettingsFileSchema = z
  .strictObject({
    publicUrl: z
      .url({
        protocol: /^https?$/,
        error: (i) =>
          `expected an http(s) URL such as https://autoconfig.example.org, got ${describe(i.input)}`,
      })
      .optional(),
    providers: z.array(ProviderSchema).default([]),
    aliases: z.record(z.string(), domainName()).default({}),
    /**
     * Domains served by a provider given by id (of this file or any other source), each on its own:
     * the published store's `assigned` domains, as `mailconf providers export` writes them.
     * `*.example.com` assigns every subdomain.
     */
    assignedDomains: z
      .record(
        z.string(),
        z.string({ error: (i) => `expected a provider id, got ${describe(i.input)}` }).regex(PROVIDER_ID_RE, {
          error: (i) => `expected a provider id such as example.com, got ${describe(i.input)}`,
        }),
      )
      .optional(),
  })
  .superRefine((file, ctx) => {
    // Within one file: provider ids and domains are unique, alias names are domains, never their own target.
    const ids = new Map<string, number>();
    const domains = new Map<string, string>();
    file.providers.forEach((provider, i) => {
      const first = ids.get(provider.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["providers", i, "id"],
          message: `provider id "${provider.id}" is already used by providers[${first}]`,
        });
      } else ids.set(provider.id, i);
      provider.domains.forEach((domain, k) => {
        const owner = domains.get(domain);
        if (owner !== undefined && owner !== provider.id) {
          ctx.addIssue({
            code: "custom",
            path: ["providers", i, "domains", k],
            message: `${domain} is already served by provider "${owner}"`,
          });
        } else domains.set(domain, provider.id);
      });
    });
    for (const assigned of Object.keys(file.assignedDomains ?? {})) {
      const name = normalizeDomain(assigned, { wildcard: true });
      if (name === undefined)
        ctx.addIssue({
          code: "custom",
          path: ["assignedDomains", assigned],
          message: `expected a domain name (or *.domain), got ${describe(assigned)}`,
        });
      else if (domains.has(name))
        ctx.addIssue({
          code: "custom",
          path: ["assignedDomains", assigned],
          message: `${name} is listed in provider "${domains.get(name)}"'s domains; it cannot also be assigned`,
        });
    }
    for (const [alias, target] of Object.entries(file.aliases)) {
      const name = normalizeDomain(alias);
      if (name === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["aliases", alias],
          message: `expected a domain name as the alias, got ${describe(alias)}`,
        });
      } else if (name === target) {
        ctx.addIssue({
          code: "custom",
          path: ["aliases", alias],
          message: "a domain cannot be an alias of itself",
        });
      } else if (domains.has(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["aliases", alias],
          message: `${name} is served by provider "${domains.get(name)}"; it cannot also be an alias`,
        });
      } else if (
        file.aliases[target] !== undefined ||
        Object.keys(file.aliases).some((a) => normalizeDomain(a) === target)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["aliases", alias],
          message: `${target} is itself an alias: point ${name} at the domain that is served`,
        });
      }
    }
  });

export type IncomingServer = z.output<typeof IncomingServerSchema>;
export type OutgoingServer = z.output<typeof OutgoingServerSchema>;
export type Server = IncomingServer | OutgoingServer;
export type DavServer = z.output<typeof DavServerSchema>;
export type ExchangeServer = z.output<typeof ExchangeServerSchema>;
export type SignIn = z.output<typeof SignInSchema>;
export type Provider = z.output<typeof ProviderSchema>;
export type Directory = z.output<typeof DirectorySchema>;
/** A provider as written in a settings file or an API body, before defaults are applied. */
export type ProviderInput = z.input<typeof ProviderSchema>;
export type SettingsFile = z.output<typeof SettingsFileSchema>;

/** One validation problem: the field path (as in `providers[0].incoming[1].port`) and the rule broken. */
export interface FieldError {
  path: (string | number)[];
  message: string;
}

export { formatPath } from "./field-path.ts";

/** Converts zod issues to {@link FieldError}s, prefixing `base` (e.g. `["providers", 2]`). */
export function fieldErrors(error: z.ZodError, base: (string | number)[] = []): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = [...base, ...(issue.path as (string | number)[])];
    // One error per unknown field, at the field itself, so file errors point at the typo's line.
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ path: [...path, key], message: unknownFieldMessage(key) }));
    }
    return [{ path, message: issueMessage(issue) }];
  });
}

/** Every field name of the settings model, for "did you mean" hints. */
const FIELD_NAMES = [
  ...new Set(
    [
      SettingsFileSchema,
      ProviderSchema,
      IncomingServerSchema,
      OutgoingServerSchema,
      DavServerSchema,
      DocumentationSchema,
      ProfileOptionsSchema,
      OAuth2Schema,
      SignInSchema,
      WebMailSchema,
    ].flatMap((schema) => Object.keys(schema.shape)),
  ),
];

function unknownFieldMessage(key: string): string {
  const near = FIELD_NAMES.map((name) => ({ name, d: editDistance(key.toLowerCase(), name.toLowerCase()) }))
    .filter((c) => c.d <= Math.max(2, Math.floor(c.name.length / 4)))
    .sort((a, b) => a.d - b.d)[0];
  return near ? `unknown field; did you mean "${near.name}"?` : "unknown field";
}

/** Levenshtein distance (small strings only: field names). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && issue.message.startsWith("Invalid input")) {
    return `expected ${issue.expected}, got ${issue.input === undefined ? "nothing (the field is required)" : describe(issue.input)}`;
  }
  return issue.message;
}

/** The list without repeats, first occurrence kept (domains are compared after normalisation). */
function unique<T>(list: T[]): T[] {
  return [...new Set(list)];
}

/** A short, safe rendering of a bad value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing (the field is required)";
  if (typeof value === "string")
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value === null || typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "a list";
  return "an object";
}

/** Result of validating untrusted settings: the value, or every field error. */
export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Validates a parsed settings document (the output of a YAML/JSON parser). Never throws. */
export function parseSettings(data: unknown): Validated<SettingsFile> {
  return validate(SettingsFileSchema, data ?? {});
}

/** Validates one provider (admin API body, ISPDB import). Never throws. */
export function parseProvider(data: unknown): Validated<Provider> {
  return validate(ProviderSchema, data);
}

function validate<S extends z.ZodType>(schema: S, data: unknown): Validated<z.output<S>> {
  const characters = characterErrors(data);
  // zod walks only as deep as the schema, but its messages describe the input: not past this.
  if (characters.some((e) => e.message.startsWith("nests deeper"))) return { ok: false, errors: characters };
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success && characters.length === 0) return { ok: true, value: result.data };
  return { ok: false, errors: [...characters, ...(result.success ? [] : fieldErrors(result.error))] };
}

/**
 * Characters no mail client can show and XML 1.0 cannot carry: C0 controls other than tab, line
 * feed and carriage return, DEL, U+FFFE/U+FFFF and unpaired surrogates.
 */
const UNUSABLE_CHARACTER =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u;

/**
 * Deepest nesting of objects and arrays a settings document may have. The deepest real settings
 * (a provider's `documentation[].descr`, `profile.consentText`) nest 5 levels below the root.
 */
export const MAX_SETTINGS_DEPTH = 32;

/**
 * Every string (and object key) in `data` holding an {@link UNUSABLE_CHARACTER}, with its path
 * (at most 20), and a field error where the document nests deeper than {@link MAX_SETTINGS_DEPTH}
 * (then nothing below is read: a body nested thousands of levels deep costs no stack).
 */
function characterErrors(
  data: unknown,
  path: (string | number)[] = [],
  out: FieldError[] = [],
): FieldError[] {
  if (out.length >= 20) return out;
  if (path.length > MAX_SETTINGS_DEPTH && data !== null && typeof data === "object") {
    out.push({ path, message: `nests deeper than ${MAX_SETTINGS_DEPTH} levels` });
    return out;
  }
  const bad = (text: string) => {
    const m = UNUSABLE_CHARACTER.exec(text);
    return m ? `U+${(m[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}` : undefined;
  };
  if (typeof data === "string") {
    const found = bad(data);
    if (found) out.push({ path, message: `contains the character ${found}, which mail clients cannot show` });
  } else if (Array.isArray(data)) {
    data.forEach((v, i) => {
      characterErrors(v, [...path, i], out);
    });
  } else if (data && typeof data === "object") {
    for (const [key, value] of Object.entries(data)) {
      const found = bad(key);
      if (found)
        out.push({ path: [...path, key], message: `the field name contains the character ${found}` });
      else characterErrors(value, [...path, key], out);
    }
  }
  return out;
}
