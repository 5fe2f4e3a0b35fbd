/**
 * The small page a person sees when a profile link cannot be answered (no address, a malformed
 * one, a domain without settings): what is wrong, in words, and a form to try again. The form is a
 * plain GET to the profile URL, because iOS only hands a real navigation to Settings
 * (reference/mobileconfig.md §8, celzero/rethink-app#580). Pure: string in, string out.
 */
import { escapeXml } from "./xml.ts";

/** What went wrong with a profile request. */
export type ProfileProblem =
  | { kind: "missing" }
  | { kind: "malformed"; value: string }
  | { kind: "unknown-domain"; domain: string };

/** One sentence naming the `email` parameter and the problem (also the plain-text answer). */
export function profileProblemText(problem: ProfileProblem, path: string): string {
  switch (problem.kind) {
    case "missing":
      return `The email parameter is missing: open ${path}?email=you@example.com with your own address.`;
    case "malformed":
      return `The email parameter ${JSON.stringify(clip(problem.value))} is not an e-mail address; expected something like you@example.com.`;
    case "unknown-domain":
      return `There are no settings for ${problem.domain} on this server, so no profile can be made for it.`;
  }
}

/**
 * A complete HTML page (UTF-8) with the problem and an address form that submits to `path`.
 * @param path the profile path the request came to, e.g. `/mobileconfig` (escaped here)
 */
export function renderProfileProblemPage(problem: ProfileProblem, path: string): string {
  const value = problem.kind === "malformed" ? clip(problem.value) : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mail profile for iPhone, iPad and Mac</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:2em auto;padding:0 1em}input,button{font:inherit;padding:.4em}</style>
</head>
<body>
<h1>Mail profile for iPhone, iPad and Mac</h1>
<p>${escapeXml(profileProblemText(problem, path))}</p>
<form method="get" action="${escapeXml(path)}">
<label for="email">Your e-mail address</label><br>
<input id="email" name="email" type="email" autocomplete="email" required value="${escapeXml(value)}">
<button type="submit">Download profile</button>
</form>
<p>Open this page in Safari on iPhone or iPad; then install the profile in Settings.</p>
</body>
</html>
`;
}

function clip(value: string): string {
  return value.length > 100 ? `${value.slice(0, 97)}...` : value;
}
