/**
 * The settings guide page (`GET /` and `GET /?email=…`): the form, and for a known address the
 * incoming and outgoing servers in words people know, the provider's notes and links, the Apple
 * profile download with a QR code of its link, and short steps for Thunderbird, Outlook and
 * Apple Mail. Every value is HTML-escaped (addresses come from strangers). Pure; no scripts.
 * Sources: reference/mobileconfig.md §8 (real download link, Safari hint), DESIGN.md.
 */
import { escapeHtml, renderPage } from "./html.ts";
import { renderQrSvg } from "./qr.ts";
import type { GuideDav, GuideServer, SettingsGuide } from "./settings-json.ts";

/** Input of {@link renderGuidePage}. */
export interface GuidePageInput {
  /** The address as typed, to refill the form (escaped here). */
  email?: string;
  /** The settings for the address; absent on the blank form and on errors. */
  guide?: SettingsGuide;
  /** A message for the person instead of the guide, e.g. "No settings are known for example.net". */
  error?: { title: string; detail: string };
}

const h = escapeHtml;
/** Methods where the person signs in (as opposed to none, network address or SMTP-after-POP). */
const SIGN_IN_METHODS = new Set([
  "password-cleartext",
  "password-encrypted",
  "OAuth2",
  "NTLM",
  "GSSAPI",
  "TLS-client-cert",
]);

function form(email: string | undefined, hasGuide: boolean): string {
  const intro = hasGuide
    ? ""
    : `<h1>Set up your e-mail in any mail app</h1>
<p class="lead">Enter your e-mail address to see the server names, ports and encryption your mail app needs, with a one-tap profile for iPhone, iPad and Mac.</p>`;
  return `${intro}<form class="card" method="get" action="/">
<label for="email">E-mail address</label>
<div class="field"><input id="email" name="email" type="email" inputmode="email" autocomplete="email" autocapitalize="none" spellcheck="false" required maxlength="320" placeholder="you@example.com" value="${h(email ?? "")}"><button type="submit">Show settings</button></div>
</form>`;
}

function serverCard(kind: "incoming" | "outgoing", s: GuideServer, index: number, total: number): string {
  const title =
    s.protocol === "SMTP"
      ? `SMTP${total > 1 ? ` (port ${s.port})` : ""}`
      : `${s.protocol}${s.protocol === "IMAP" ? "" : " (download only)"}`;
  const badge = s.recommended
    ? '<span class="badge">Recommended</span>'
    : total > 1
      ? '<span class="badge alt">Alternative</span>'
      : "";
  return `<div class="server" data-kind="${kind}" data-index="${index}">
<div class="server-head"><h3>${h(title)}</h3>${badge}</div>
<dl>
<dt>Server</dt><dd class="mono" data-field="hostname">${h(s.hostname)}</dd>
<dt>Port</dt><dd class="mono" data-field="port">${h(s.port)}</dd>
<dt>Encryption</dt><dd data-field="security">${h(s.security)}</dd>
<dt>User name</dt><dd class="mono" data-field="username">${h(s.username)}</dd>
<dt>Authentication</dt><dd data-field="authentication">${h(s.authenticationText.join(", or "))}</dd>
</dl>
</div>`;
}

function davCard(label: string, kind: "caldav" | "carddav", d: GuideDav): string {
  return `<div class="server" data-kind="${kind}">
<div class="server-head"><h3>${h(label)}</h3></div>
<dl>
<dt>Server</dt><dd class="mono" data-field="url">${h(d.url)}</dd>
<dt>Port</dt><dd class="mono" data-field="port">${h(d.port)}</dd>
<dt>Encryption</dt><dd data-field="security">${h(d.security)}</dd>
<dt>User name</dt><dd class="mono" data-field="username">${h(d.username)}</dd>
</dl>
</div>`;
}

/** The Add Account path of Apple's Mail for a built-in account type (support.apple.com/HT201320). */
function appleAddAccount(type: string | undefined, fallback: string): string {
  return `<strong>Settings → Apps → Mail → Mail Accounts → Add Account → ${h(type ?? fallback)}</strong> (on a Mac: <strong>System Settings → Internet Accounts</strong>)`;
}

function appPasswordLink(g: SettingsGuide): string {
  return g.signIn.appPasswordUrl
    ? ` Make one at <a href="${h(g.signIn.appPasswordUrl)}" rel="noopener noreferrer" id="app-password-link">${h(g.signIn.appPasswordUrl)}</a>.`
    : "";
}

function passwordLine(g: SettingsGuide): string {
  if (g.signIn.oauth2Only)
    return "<p>Sign-in: the mail app opens the provider's own sign-in page (OAuth2); a password typed into the app is not accepted.</p>";
  const servers = [...g.incoming, ...g.outgoing];
  const sameLogin = new Set(servers.map((s) => s.username)).size === 1;
  const same = sameLogin ? " Outgoing mail uses the same user name and password." : "";
  if (g.signIn.passwordKind === "app-password") {
    const oauth = g.signIn.oauth2
      ? " Mail apps that offer the provider's own sign-in (OAuth2) need no app password."
      : "";
    return `<p id="password-kind"><strong>Password: an app password, not your account password</strong>: ${h(g.provider.displayName)} refuses the account password in mail apps.${appPasswordLink(g)}${h(oauth + same)}</p>`;
  }
  const password =
    g.signIn.oauth2 || g.notes.length > 0
      ? `Password: your e-mail password, or an app password where the provider asks for one${g.notes.length ? " (see the notes)" : ""}.`
      : "Password: your e-mail password.";
  return `<p>${h(password + same)}</p>`;
}

/** The built-in account type recommendation for Apple devices, when the provider has one. */
function builtInAccount(g: SettingsGuide): string {
  const type = g.signIn.appleAccountType;
  if (!type) return "";
  return `<p id="apple-built-in"><strong>Recommended:</strong> add the account with Apple's built-in ${h(type)} account type, which signs in with ${h(type)}: ${appleAddAccount(type, type)}.</p>`;
}

function appleSection(g: SettingsGuide): string {
  const link = g.links.mobileconfig;
  if (!link || g.signIn.oauth2Only || !g.signIn.password) {
    return `<section class="card" id="apple">
<h2>iPhone, iPad and Mac</h2>
${
  g.signIn.appleAccountType
    ? builtInAccount(g)
    : `<p>${h(g.provider.displayName)} needs its own sign-in, which a profile cannot do. Add the account with the built-in option instead: ${appleAddAccount(undefined, g.provider.displayShortName ?? g.provider.displayName)}, choosing ${h(g.provider.displayShortName ?? g.provider.displayName)} from the list if it is there.</p>`
}
<p>A configuration profile cannot sign in to ${h(g.provider.displayName)}, so none is offered.</p>
</section>`;
  }
  const typed = g.signIn.passwordKind === "app-password" ? "an app password" : "your password";
  return `<section class="card" id="apple">
<h2>iPhone, iPad and Mac</h2>
${builtInAccount(g)}
<div class="apple">
<div class="apple-text">
<p>${g.signIn.appleAccountType ? "Or use a" : "A"} configuration profile: it sets up the account in Apple Mail with these settings; you type only ${typed}.${g.signIn.passwordKind === "app-password" ? appPasswordLink(g) : ""}</p>
<p><a class="button" id="profile-link" href="${h(link)}">Download profile for ${h(g.email)}</a></p>
<p class="hint">On iPhone and iPad, open this page in <strong>Safari</strong>: other browsers save the profile as a file instead of offering to install it. After the download, open <strong>Settings → Profile Downloaded</strong> within 8 minutes and tap <strong>Install</strong>.</p>
</div>
<div class="qr">${renderQrSvg(link, `QR code of the profile link for ${g.email}`)}Scan with the iPhone camera</div>
</div>
</section>`;
}

/**
 * The Thunderbird step that enters the account. Thunderbird signs in with OAuth2 where the servers
 * offer it and the password fields would take only an app password (Gmail, Yahoo; Outlook.com takes
 * nothing else), so no password is typed there: an app password is for apps without OAuth2.
 */
function thunderbirdSignIn(g: SettingsGuide, email: string): string {
  const found = "then click <strong>Continue</strong>: Thunderbird finds these settings by itself.";
  if (g.signIn.oauth2Only || (g.signIn.oauth2 && g.signIn.passwordKind === "app-password")) {
    const who = g.signIn.appleAccountType ?? g.provider.displayShortName ?? g.provider.displayName;
    const appPassword =
      g.signIn.passwordKind === "app-password"
        ? " No app password is needed: that is for apps without OAuth2."
        : "";
    return `Enter your name and ${email}, ${found} Sign in with ${h(who)} on the page that opens (OAuth2).${appPassword}`;
  }
  const password = g.signIn.passwordKind === "app-password" ? "an app password" : "your password";
  return `Enter your name, ${email} and ${password}, ${found}`;
}

function steps(g: SettingsGuide): string {
  const imapFirst = g.incoming[0]?.protocol ?? "IMAP";
  const email = `<strong>${h(g.email)}</strong>`;
  const typed = g.signIn.passwordKind === "app-password" ? "your app password" : "your password";
  const builtIn = g.signIn.appleAccountType
    ? `<li>Open <strong>Settings → Apps → Mail → Mail Accounts → Add Account</strong>, choose <strong>${h(g.signIn.appleAccountType)}</strong> and sign in on the page that opens (recommended).</li>\n`
    : "";
  const apple =
    !g.links.mobileconfig || g.signIn.oauth2Only || !g.signIn.password
      ? builtIn ||
        `<li>Open <strong>Settings → Apps → Mail → Mail Accounts → Add Account</strong> and choose ${h(g.provider.displayShortName ?? g.provider.displayName)}.</li>
<li>Sign in on the page that opens.</li>`
      : `${builtIn}<li>${builtIn ? "Or tap" : "Tap"} <strong>Download profile</strong> above in Safari (or scan the QR code), then <strong>Allow</strong>.</li>
<li>Open <strong>Settings → Profile Downloaded → Install</strong> and enter ${typed} when asked.</li>
<li>Without the profile: <strong>Settings → Apps → Mail → Mail Accounts → Add Account → Other → Add Mail Account</strong>, then enter the values above. On a Mac, open the downloaded profile and install it in <strong>System Settings</strong> (Profiles or Device Management).</li>`;
  return `<section class="card" id="steps">
<h2>Step by step</h2>
<details open>
<summary>Thunderbird</summary>
<ol>
<li>Open <strong>Account Settings → Account Actions → Add Mail Account</strong>.</li>
<li>${thunderbirdSignIn(g, email)}</li>
<li>Choose <strong>${h(imapFirst)}</strong> and click <strong>Done</strong>. To enter the values yourself, click <strong>Configure manually</strong>.</li>
</ol>
</details>
<details>
<summary>Outlook for Windows</summary>
<ol>
<li>Open <strong>File → Add Account</strong> (new Outlook: <strong>Settings → Accounts → Add account</strong>).</li>
<li>Enter ${email} and click <strong>Continue</strong>; Outlook looks the settings up by itself.</li>
<li>If it asks for the account type, choose <strong>${h(imapFirst)}</strong> and enter the server, port and encryption method shown above.</li>
</ol>
</details>
<details>
<summary>Apple Mail (iPhone, iPad, Mac)</summary>
<ol>
${apple}
</ol>
</details>
</section>`;
}

/** What apps that speak PACC (the IETF's new JSON format) receive for the domain, and what they miss. */
function paccSection(g: SettingsGuide): string {
  const p = g.pacc;
  const servers = p.servers
    .map((s) => `<li>${h(s.protocol.toUpperCase())}: <code>${h(s.host ?? s.url ?? "")}</code></li>`)
    .join("\n");
  const signIn = [p.password ? "password" : "", p.oauthIssuer ? `OAuth (${p.oauthIssuer})` : ""].filter(
    Boolean,
  );
  const omitted = p.omitted.length
    ? `<p class="hint">Not in it:</p>
<ul class="pacc-omitted">
${p.omitted.map((o) => `<li>${h(o)}</li>`).join("\n")}
</ul>`
    : "";
  return `<section class="card" id="pacc">
<h2>Apps that use PACC</h2>
<p class="hint">Apps that follow the IETF's new configuration format (draft-ietf-mailmaint-pacc) read <code>${h(p.url)}</code>.</p>
${
  p.published
    ? `<ul class="pacc-servers">
${servers}
</ul>
<p>Sign-in: ${h(signIn.length ? signIn.join(", ") : "not announced")}. Text protocols use SSL/TLS on their standard port; the user name is the e-mail address.</p>`
    : "<p>No PACC document is published for this domain.</p>"
}
${omitted}
</section>`;
}

function guideSections(g: SettingsGuide): string {
  const notes = g.notes.map((n) => `<div class="note"><p>${h(n)}</p></div>`).join("\n");
  const dav = [
    g.caldav ? davCard("Calendars (CalDAV)", "caldav", g.caldav) : "",
    g.carddav ? davCard("Contacts (CardDAV)", "carddav", g.carddav) : "",
  ].filter(Boolean);
  const docs = g.documentation.length
    ? `<section class="card" id="docs">
<h2>Help from ${h(g.provider.displayName)}</h2>
<ul class="docs">
${g.documentation.map((d) => `<li><a href="${h(d.url)}" rel="noopener noreferrer">${h(d.description)}</a></li>`).join("\n")}
</ul>
</section>`
    : "";
  return `<section class="card" id="settings">
<div class="account"><h2>Settings for <span class="addr" id="guide-email">${h(g.email)}</span></h2><span class="provider" id="guide-provider">${h(g.provider.displayName)}</span></div>
${notes}
${passwordLine(g)}
<h3 class="section-title" id="incoming">Incoming mail</h3>
${new Set(g.incoming.map((s) => s.protocol)).size > 1 ? '<p class="hint">IMAP keeps your mail on the server and in sync on every device; POP3 downloads it to one device.</p>' : ""}
<div class="servers">
${g.incoming.map((s, i) => serverCard("incoming", s, i, g.incoming.length)).join("\n")}
</div>
<h3 class="section-title" id="outgoing">Outgoing mail (SMTP)</h3>
${g.outgoing.every((s) => s.authentication.some((a) => SIGN_IN_METHODS.has(a))) ? '<p class="hint">Sending needs sign-in too, with the user name shown here.</p>' : ""}
<div class="servers">
${g.outgoing.map((s, i) => serverCard("outgoing", s, i, g.outgoing.length)).join("\n")}
</div>
${
  dav.length
    ? `<h3 class="section-title" id="dav">Calendars and contacts</h3>
<div class="servers">
${dav.join("\n")}
</div>`
    : ""
}
</section>
${appleSection(g)}
${steps(g)}
${paccSection(g)}
${docs}`;
}

/**
 * Renders the guide page.
 * @returns a complete HTML document (serve as `text/html; charset=utf-8` with the CSP of pages.ts)
 */
export function renderGuidePage(input: GuidePageInput): string {
  const { guide, error } = input;
  const parts = [form(input.email, guide !== undefined || error !== undefined)];
  if (error) {
    parts.push(
      `<div class="error" role="alert" id="error"><p><strong>${h(error.title)}</strong></p><p>${h(error.detail)}</p></div>`,
    );
  }
  if (guide) {
    // Sections follow the form: a person who typed an address sees the answer directly under it.
    parts.push(guideSections(guide));
  }
  const title = guide ? `Mail settings for ${guide.email}` : "Mail settings";
  return renderPage({ title, main: parts.join("\n") });
}
