/**
 * Reads the settings guide page back (the server cards and the profile link), so tests compare
 * what a person sees with what clients receive.
 */

/** Decodes the entities escapeHtml writes, plus numeric references. */
export function unescapeHtml(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** One server card as shown: field name (hostname, port, security, username, authentication) → text. */
export type ShownServer = Record<string, string> & { kind: string; index: string; badge: string };

/** Every `<div class="server" data-kind=… data-index=…>` card of incoming/outgoing servers, in page order. */
export function shownServers(html: string): ShownServer[] {
  const out: ShownServer[] = [];
  const card = /<div class="server" data-kind="(incoming|outgoing)" data-index="(\d+)">([\s\S]*?)<\/dl>/g;
  for (const m of html.matchAll(card)) {
    const fields: Record<string, string> = {};
    for (const f of (m[3] as string).matchAll(/<dd[^>]*data-field="([a-z]+)"[^>]*>([\s\S]*?)<\/dd>/g)) {
      fields[f[1] as string] = unescapeHtml(f[2] as string);
    }
    const badge = /<span class="badge[^"]*">([^<]*)<\/span>/.exec(m[3] as string)?.[1] ?? "";
    out.push({ ...fields, kind: m[1] as string, index: m[2] as string, badge });
  }
  return out;
}

/** The href of the profile download button, unescaped. */
export function profileHref(html: string): string | undefined {
  const m = /<a class="button" id="profile-link" href="([^"]*)"/.exec(html);
  return m ? unescapeHtml(m[1] as string) : undefined;
}
