/**
 * The small page a person sees when a profile link cannot be answered (no address, a malformed
 * one, a domain without settings): what is wrong, in words, and a form to try again. The form is a
 * plain GET to the profile URL, because iOS only hands a real navigation to Settings
 * (reference/mobileconfig.md §8, celzero/rethink-app#580). Pure: string in, string out.
 */
import { escapeHtml, renderPage } from "./html.ts";

/** What went wrong with a profile request. */
export type ProfileProblem =
  | { kind: "missing" }
  | { kind: "malformed"; value: string }
  | { kind: "unknown-domain"; domain: string }
  | {
      /** The provider's servers take no method a profile can set up (OAuth2 only, as at Outlook.com). */
      kind: "no-profile";
      address: string;
      /** Why, from profileProblem (src/templates/mobileconfig.ts). */
      reason: string;
      /** Apple's built-in account type that signs in, if the provider has one. */
      appleAccountType?: string;
    };

/** Where Apple devices add an account of a built-in type (support.apple.com/HT201320). */
export function appleAddAccountPath(type?: string): string {
  return `Settings → Apps → Mail → Mail Accounts → Add Account${type ? ` → ${type}` : ""} (on a Mac: System Settings → Internet Accounts)`;
}

/** One sentence naming the `email` parameter and the problem (also the plain-text answer). */
export function profileProblemText(problem: ProfileProblem, path: string): string {
  switch (problem.kind) {
    case "missing":
      return `The email parameter is missing: open ${path}?email=you@example.com with your own address.`;
    case "malformed":
      return `The email parameter ${JSON.stringify(clip(problem.value))} is not an e-mail address; expected something like you@example.com.`;
    case "unknown-domain":
      return `There are no settings for ${problem.domain} on this server, so no profile can be made for it.`;
    case "no-profile":
      return `No profile for ${problem.address}: ${problem.reason}. Add the account on the device instead: ${appleAddAccountPath(problem.appleAccountType)}${problem.appleAccountType ? ", then sign in on the page that opens" : ", or use a mail app that supports the provider's sign-in"}.`;
  }
}

/**
 * A complete HTML page (UTF-8) with the problem and an address form that submits to `path`, in the
 * shared page shell ({@link renderPage}: its one stylesheet is the only inline code the pages' CSP
 * allows, src/handlers/page-headers.ts).
 * @param path the profile path the request came to, e.g. `/mobileconfig` (escaped here)
 */
export function renderProfileProblemPage(problem: ProfileProblem, path: string): string {
  if (problem.kind === "no-profile") {
    return renderPage({
      title: "Mail profile for iPhone, iPad and Mac",
      main: `<h1>Mail profile for iPhone, iPad and Mac</h1>
<div class="note" id="no-profile"><p>${escapeHtml(profileProblemText(problem, path))}</p></div>`,
      footer: "Apple's built-in account types sign in with the provider's own page; no profile is needed.",
    });
  }
  const value = problem.kind === "malformed" ? clip(problem.value) : "";
  return renderPage({
    title: "Mail profile for iPhone, iPad and Mac",
    main: `<h1>Mail profile for iPhone, iPad and Mac</h1>
<div class="error" role="alert" id="error"><p>${escapeHtml(profileProblemText(problem, path))}</p></div>
<form class="card" method="get" action="${escapeHtml(path)}">
<label for="email">Your e-mail address</label>
<div class="field"><input id="email" name="email" type="email" inputmode="email" autocomplete="email" autocapitalize="none" spellcheck="false" required maxlength="320" placeholder="you@example.com" value="${escapeHtml(value)}"><button type="submit">Download profile</button></div>
</form>`,
    footer: "Open this page in Safari on iPhone or iPad; then install the profile in Settings.",
  });
}

function clip(value: string): string {
  return value.length > 100 ? `${value.slice(0, 97)}...` : value;
}
