/**
 * Built-in providers, served when no settings file names the domain.
 *
 * Host names, ports, socketTypes, user names, authentication, `webMail` and `oAuth2` are those of
 * Mozilla's ISPDB (../shared/corpus/ispdb: googlemail.com.xml, hotmail.com.xml, me.com.xml,
 * yahoo.com.xml, commit c6ad7965; test/builtin-ispdb.test.ts compares them field by field); the list
 * of domains is the ISPDB's minus MX-only entries (google.com, olc.protection.outlook.com,
 * *.yahoodns.net) and customer domains hosted by the provider (jazztel.es, nyu.edu), which are
 * resolved by MX instead. Their domain lists are public, so autoconfig lists them (`listDomains`).
 *
 * How people sign in (`signIn`), from the providers' own help pages:
 * - Gmail: IMAP/POP/SMTP take Google sign-in (OAuth2) or an app password, never the account
 *   password: "Sign in with app passwords", https://support.google.com/accounts/answer/185833
 *   (made at https://myaccount.google.com/apppasswords, needs 2-Step Verification); "Less secure
 *   apps & your Google Account", https://support.google.com/accounts/answer/6010255.
 *   IMAP needs no setting: since January 2025 "IMAP access is always turned on" in Gmail ("Add Gmail
 *   to another email client", https://support.google.com/mail/answer/7126229); POP is still
 *   enabled by the user under Settings → See all settings → Forwarding and POP/IMAP ("Read Gmail
 *   messages on other email clients using POP", https://support.google.com/mail/answer/7104828).
 * - iCloud: apps other than Apple's need an app-specific password: "Sign in to apps with your Apple
 *   Account using app-specific passwords", https://support.apple.com/102654 (made at
 *   https://account.apple.com, needs two-factor authentication).
 * - Yahoo: apps without Yahoo sign-in need an app password: "Generate and manage 3rd-party app
 *   passwords", https://help.yahoo.com/kb/generate-manage-rd-party-passwords-sln15241.html (made on
 *   the Account Security page, https://login.yahoo.com/account/security).
 * - Outlook.com: OAuth2 only since 16 September 2024: "Modern Authentication methods now needed to
 *   continue syncing Outlook Email in non-Microsoft email apps",
 *   https://support.microsoft.com/office/c5d65390-9676-4763-b41f-d7986499a90d.
 * - Apple devices have a built-in account type for each of the four (Settings → Apps → Mail → Mail
 *   Accounts → Add Account: iCloud, Google, Yahoo, Outlook.com): "Add an email account to your
 *   iPhone or iPad", https://support.apple.com/HT201320.
 * `example.com` is the example self-hosted company of the README.
 */
import { type Provider, type ProviderInput, ProviderSchema } from "./model.ts";

type FormField = { id?: string; name?: string };

/**
 * clientConfig `webMail` as the ISPDB files write it: the login page, and the login form at `url`
 * with the address as user name and its user-name field, password field and button.
 */
function webMail(
  loginPage: string,
  url: string,
  [usernameField, passwordField, loginButton]: [FormField, FormField, FormField],
): ProviderInput["webMail"] {
  return {
    loginPage,
    loginPageInfo: { url, username: "%EMAILADDRESS%", usernameField, passwordField, loginButton },
  };
}

const GMAIL: ProviderInput = {
  id: "googlemail.com",
  displayName: "Google Mail",
  displayShortName: "GMail",
  domains: ["gmail.com", "googlemail.com"],
  listDomains: true,
  mxHosts: ["*.google.com", "*.googlemail.com"],
  incoming: [
    {
      type: "imap",
      hostname: "imap.gmail.com",
      port: 993,
      socketType: "SSL",
      username: "%EMAILADDRESS%",
      authentication: ["OAuth2", "password-cleartext"],
    },
    {
      type: "pop3",
      hostname: "pop.gmail.com",
      port: 995,
      socketType: "SSL",
      username: "%EMAILADDRESS%",
      authentication: ["OAuth2", "password-cleartext"],
      leaveMessagesOnServer: true,
    },
  ],
  outgoing: [
    {
      hostname: "smtp.gmail.com",
      port: 465,
      socketType: "SSL",
      username: "%EMAILADDRESS%",
      authentication: ["OAuth2", "password-cleartext"],
    },
  ],
  documentation: [
    { url: "https://support.google.com/mail/answer/7126229", descr: { en: "IMAP settings for Gmail" } },
    { url: "https://support.google.com/accounts/answer/185833", descr: { en: "Sign in with app passwords" } },
  ],
  signIn: {
    password: "app-password",
    appPasswordUrl: "https://myaccount.google.com/apppasswords",
    appleAccountType: "Google",
  },
  webMail: webMail(
    "https://accounts.google.com/ServiceLogin?service=mail&continue=http://mail.google.com/mail/",
    "https://accounts.google.com/ServiceLogin?service=mail&continue=http://mail.google.com/mail/",
    [{ id: "Email" }, { id: "Passwd" }, { id: "signIn" }],
  ),
  notes: [
    "Thunderbird and Outlook sign in with Google (OAuth2). Other apps need an app password, which requires 2-Step Verification; your Google password is refused.",
    // IMAP is always on since January 2025: https://support.google.com/mail/answer/7126229
    "IMAP is always on. POP must first be enabled in Gmail's settings (See all settings → Forwarding and POP/IMAP).",
  ],
  oauth2: {
    issuer: "accounts.google.com",
    scope:
      "https://mail.google.com/ https://www.googleapis.com/auth/contacts https://www.googleapis.com/auth/calendar https://www.googleapis.com/auth/carddav",
    authURL: "https://accounts.google.com/o/oauth2/auth",
    tokenURL: "https://www.googleapis.com/oauth2/v3/token",
  },
};

const OUTLOOK_DOMAINS = `hotmail.com live.com msn.com outlook.com windowslive.com outlook.at outlook.be outlook.cl
outlook.cz outlook.de outlook.dk outlook.es outlook.fr outlook.hu outlook.ie outlook.in outlook.it outlook.jp outlook.kr
outlook.lv outlook.my outlook.ph outlook.pt outlook.sa outlook.sg outlook.sk outlook.co.id outlook.co.il outlook.co.th
outlook.com.ar outlook.com.au outlook.com.br outlook.com.gr outlook.com.tr outlook.com.vn hotmail.be hotmail.ca
hotmail.cl hotmail.cz hotmail.de hotmail.dk hotmail.es hotmail.fi hotmail.fr hotmail.gr hotmail.hu hotmail.it
hotmail.lt hotmail.lv hotmail.my hotmail.nl hotmail.no hotmail.ph hotmail.rs hotmail.se hotmail.sg hotmail.sk
hotmail.co.id hotmail.co.il hotmail.co.in hotmail.co.jp hotmail.co.kr hotmail.co.th hotmail.co.uk hotmail.co.za
hotmail.com.ar hotmail.com.au hotmail.com.br hotmail.com.hk hotmail.com.tr hotmail.com.tw hotmail.com.vn live.at
live.be live.ca live.cl live.cn live.de live.dk live.fi live.fr live.hk live.ie live.in live.it live.jp live.nl
live.no live.ru live.se live.co.jp live.co.kr live.co.uk live.co.za live.com.ar live.com.au live.com.mx live.com.my
live.com.ph live.com.pt live.com.sg livemail.tw`;

const OUTLOOK: ProviderInput = {
  id: "hotmail.com",
  displayName: "Outlook.com (Microsoft)",
  displayShortName: "Outlook",
  domains: OUTLOOK_DOMAINS.split(/\s+/).filter(Boolean),
  listDomains: true,
  mxHosts: ["*.olc.protection.outlook.com"],
  incoming: [
    {
      type: "imap",
      hostname: "outlook.office365.com",
      port: 993,
      socketType: "SSL",
      username: "%EMAILADDRESS%",
      authentication: ["OAuth2"],
    },
    {
      type: "pop3",
      hostname: "outlook.office365.com",
      port: 995,
      socketType: "SSL",
      username: "%EMAILADDRESS%",
      authentication: ["OAuth2"],
      leaveMessagesOnServer: true,
    },
  ],
  outgoing: [
    {
      hostname: "smtp-mail.outlook.com",
      port: 587,
      socketType: "STARTTLS",
      username: "%EMAILADDRESS%",
      authentication: ["OAuth2"],
    },
  ],
  documentation: [
    {
      url: "https://support.office.com/article/pop-imap-and-smtp-settings-for-outlook-com-d088b986-291d-42b8-9564-9c414e2aa040",
      descr: { en: "POP, IMAP, and SMTP settings for Outlook.com" },
    },
  ],
  notes: [
    "Outlook.com accepts only Microsoft sign-in (OAuth2) for IMAP, POP and SMTP: use a mail app that supports it, such as Thunderbird, Outlook or Apple Mail.",
  ],
  signIn: { appleAccountType: "Outlook.com" },
  webMail: webMail("https://www.outlook.com/", "https://www.outlook.com/", [
    { id: "i0116", name: "login" },
    { id: "i0118", name: "passwd" },
    { id: "idSIButton9", name: "SI" },
  ]),
};

const ICLOUD: ProviderInput = {
  id: "me.com",
  displayName: "Apple iCloud",
  displayShortName: "Apple",
  domains: ["icloud.com", "me.com", "mac.com"],
  listDomains: true,
  incoming: [
    {
      type: "imap",
      hostname: "imap.mail.me.com",
      port: 993,
      socketType: "SSL",
      username: "%EMAILLOCALPART%",
      authentication: ["password-cleartext"],
    },
  ],
  outgoing: [
    {
      hostname: "smtp.mail.me.com",
      port: 587,
      socketType: "STARTTLS",
      username: "%EMAILADDRESS%",
      authentication: ["password-cleartext"],
    },
  ],
  caldav: { hostname: "caldav.icloud.com", port: 443, socketType: "SSL", username: "%EMAILADDRESS%" },
  carddav: { hostname: "contacts.icloud.com", port: 443, socketType: "SSL", username: "%EMAILADDRESS%" },
  documentation: [
    { url: "https://support.apple.com/HT202304", descr: { en: "iCloud Mail server settings" } },
    {
      url: "https://support.apple.com/102654",
      descr: { en: "Sign in to apps with your Apple Account using app-specific passwords" },
    },
  ],
  notes: [
    "Mail apps other than Apple's need an app-specific password (two-factor authentication must be on); your Apple Account password is refused.",
  ],
  signIn: {
    password: "app-password",
    appPasswordUrl: "https://account.apple.com/account/manage",
    appleAccountType: "iCloud",
  },
};

const YAHOO_DOMAINS = `yahoo.com yahoo.ca yahoo.de yahoo.it yahoo.fr yahoo.es yahoo.se yahoo.co.in yahoo.co.uk
yahoo.co.nz yahoo.com.au yahoo.com.ar yahoo.com.br yahoo.com.mx ymail.com myyahoo.com rocketmail.com cox.net`;

const YAHOO: ProviderInput = {
  id: "yahoo.com",
  displayName: "Yahoo! Mail",
  displayShortName: "Yahoo",
  domains: YAHOO_DOMAINS.split(/\s+/).filter(Boolean),
  listDomains: true,
  mxHosts: ["*.yahoodns.net"],
  incoming: [
    {
      type: "imap",
      hostname: "imap.mail.yahoo.com",
      port: 993,
      socketType: "SSL",
      username: "%EMAILADDRESS%",
      authentication: ["OAuth2", "password-cleartext"],
    },
    {
      type: "imap",
      hostname: "export.imap.mail.yahoo.com",
      port: 993,
      socketType: "SSL",
      username: "%EMAILADDRESS%",
      authentication: ["OAuth2", "password-cleartext"],
    },
    {
      type: "pop3",
      hostname: "pop.mail.yahoo.com",
      port: 995,
      socketType: "SSL",
      username: "%EMAILADDRESS%",
      authentication: ["OAuth2", "password-cleartext"],
    },
  ],
  outgoing: [
    {
      hostname: "smtp.mail.yahoo.com",
      port: 465,
      socketType: "SSL",
      username: "%EMAILADDRESS%",
      authentication: ["OAuth2", "password-cleartext"],
    },
  ],
  documentation: [
    {
      url: "https://help.yahoo.com/kb/new-mail-for-desktop/imap-server-settings-yahoo-mail-sln4075.html",
      descr: { en: "IMAP server settings for Yahoo Mail" },
    },
    {
      url: "https://help.yahoo.com/kb/generate-manage-rd-party-passwords-sln15241.html",
      descr: { en: "Generate and manage 3rd-party app passwords" },
    },
  ],
  notes: [
    "Mail apps without Yahoo sign-in need an app password from Yahoo's Account Security page; your Yahoo password is refused.",
  ],
  signIn: {
    password: "app-password",
    appPasswordUrl: "https://login.yahoo.com/account/security",
    appleAccountType: "Yahoo",
  },
  webMail: webMail("https://mail.yahoo.com", "https://mail.yahoo.com/", [
    { id: "login-username" },
    { id: "login-passwd" },
    { id: "login-signin" },
  ]),
  oauth2: {
    issuer: "login.yahoo.com",
    scope: "mail-w",
    authURL: "https://api.login.yahoo.com/oauth2/request_auth",
    tokenURL: "https://api.login.yahoo.com/oauth2/get_token",
  },
};

/** The example self-hosted company of the README: its own mail server, login with the full address. */
const EXAMPLE: ProviderInput = {
  id: "example.com",
  displayName: "Example Company Mail",
  displayShortName: "Example",
  domains: ["example.com"],
  listDomains: true,
  incoming: [
    {
      type: "imap",
      hostname: "mail.example.com",
      port: 993,
      socketType: "SSL",
      username: "%EMAILADDRESS%",
      authentication: ["password-cleartext"],
    },
    {
      type: "pop3",
      hostname: "mail.example.com",
      port: 995,
      socketType: "SSL",
      username: "%EMAILADDRESS%",
      authentication: ["password-cleartext"],
    },
  ],
  outgoing: [
    {
      hostname: "mail.example.com",
      port: 465,
      socketType: "SSL",
      username: "%EMAILADDRESS%",
      authentication: ["password-cleartext"],
    },
    {
      hostname: "mail.example.com",
      port: 587,
      socketType: "STARTTLS",
      username: "%EMAILADDRESS%",
      authentication: ["password-cleartext"],
    },
  ],
  documentation: [{ url: "https://www.example.com/help/mail", descr: { en: "Mail help for Example staff" } }],
  profile: { organization: "Example Company" },
};

/** The built-in providers, validated by the same schema as settings files (a mistake here fails at import). */
export const BUILTIN_PROVIDERS: readonly Provider[] = [GMAIL, OUTLOOK, ICLOUD, YAHOO, EXAMPLE].map((p) =>
  ProviderSchema.parse(p),
);
