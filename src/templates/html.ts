/**
 * The HTML shell of mailconf's pages for people (settings guide, DNS records): escaping, one
 * stylesheet and the layout. No external assets and no scripts: the pages work without
 * JavaScript, and the only inline code is {@link PAGE_CSS}, allowed by its SHA-256 hash in the
 * Content-Security-Policy (see src/handlers/pages.ts). Pure; Web APIs only.
 */

/** Escapes text for HTML element content and quoted attribute values (`& < > " '`). */
export function escapeHtml(value: string | number): string {
  return String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * The stylesheet of every page, inlined as one `<style>` element. Its exact text is hashed for
 * the CSP `style-src 'sha256-…'`, so it must not be built per request.
 */
export const PAGE_CSS = `:root{--bg:#f5f7fa;--card:#fff;--text:#17202f;--muted:#5a6577;--line:#dde3ea;--accent:#1b5fc1;--accent-dark:#134a99;--ok:#17683b;--ok-bg:#e5f3ea;--warn-bg:#fff8e6;--warn-line:#ecc66a;--err-bg:#fdeeee;--err-line:#e3a3a3;color-scheme:light}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
a{color:var(--accent)}
.wrap{max-width:900px;margin:0 auto;padding:0 20px}
.top{background:var(--card);border-bottom:1px solid var(--line)}
.top .wrap{display:flex;align-items:center;justify-content:space-between;min-height:58px;gap:12px}
.brand{display:flex;align-items:center;gap:10px;font-weight:700;color:var(--text);text-decoration:none;font-size:1.05rem}
.brand svg{width:30px;height:30px;flex:none}
.nav a{color:var(--muted);text-decoration:none;font-size:.95rem}
.nav a:hover{color:var(--accent)}
main.wrap{padding-top:28px;padding-bottom:24px}
h1{font-size:1.8rem;line-height:1.25;margin:0 0 8px;letter-spacing:-.01em}
h2{font-size:1.25rem;line-height:1.3;margin:0 0 14px}
h3{font-size:1.05rem;margin:0}
.section-title{margin:22px 0 2px}
.server h3{margin:0}
p{margin:0 0 12px}
.lead{color:var(--muted);font-size:1.05rem;margin-bottom:20px}
.card{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:22px 24px;margin:0 0 20px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
label{display:block;font-weight:600;margin:0 0 6px}
.field{display:flex;gap:10px;flex-wrap:wrap}
input{flex:1 1 280px;min-width:0;font:inherit;padding:11px 13px;border:1px solid #b8c1ce;border-radius:9px;background:#fff;color:var(--text)}
input:focus{outline:3px solid #c4d8f6;border-color:var(--accent)}
.button,button{display:inline-flex;align-items:center;justify-content:center;gap:8px;font:inherit;font-weight:600;padding:11px 20px;border-radius:9px;border:1px solid var(--accent);background:var(--accent);color:#fff;text-decoration:none;cursor:pointer;text-align:center;max-width:100%;overflow-wrap:anywhere}
.button:hover,button:hover{background:var(--accent-dark);border-color:var(--accent-dark)}
.hint{color:var(--muted);font-size:.9rem;margin:8px 0 0}
.account{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;gap:4px 16px;margin-bottom:14px}
.account h2{margin:0}
.addr{overflow-wrap:anywhere}
.provider{color:var(--muted)}
.servers{display:grid;grid-template-columns:repeat(auto-fit,minmax(290px,1fr));gap:14px}
.server{border:1px solid var(--line);border-radius:11px;padding:14px 16px 16px;background:#fbfcfd}
.server-head{display:flex;align-items:center;justify-content:space-between;gap:8px;margin-bottom:10px}
.badge{font-size:.75rem;font-weight:700;color:var(--ok);background:var(--ok-bg);border-radius:999px;padding:2px 10px;white-space:nowrap}
.badge.alt{color:var(--muted);background:#eef1f5}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:7px 16px;margin:0}
dt{color:var(--muted)}
dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-weight:600;font-size:.95em;user-select:all}
.note{background:var(--warn-bg);border:1px solid var(--warn-line);border-radius:11px;padding:12px 16px;margin:0 0 12px}
.note p:last-child{margin:0}
.error{background:var(--err-bg);border:1px solid var(--err-line);border-radius:11px;padding:14px 16px;margin:0 0 20px}
.error p:last-child{margin:0}
.apple{display:flex;gap:24px;align-items:flex-start}
.apple-text{flex:1 1 auto;min-width:0}
.qr{flex:none;width:184px;text-align:center;color:var(--muted);font-size:.85rem}
.qr svg{display:block;width:184px;height:184px;border:1px solid var(--line);border-radius:10px;margin-bottom:6px}
details{border-top:1px solid var(--line);padding:12px 0}
details:last-of-type{padding-bottom:0}
summary{cursor:pointer;font-weight:600}
ol,ul{padding-left:1.3em;margin:8px 0 0}
li{margin:4px 0}
.docs li{margin:6px 0}
pre{overflow:auto;background:#0f1729;color:#e3e9f3;border-radius:11px;padding:16px;font:13px/1.6 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;margin:0 0 12px}
table{width:100%;min-width:620px;table-layout:fixed;border-collapse:collapse;font-size:.9rem}
.table-wrap{overflow-x:auto;margin:0 -4px;padding:0 4px}
col.c-name{width:31%}col.c-type{width:74px}col.c-value{width:29%}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:break-word}
td.type{white-space:nowrap}
td.purpose{overflow-wrap:anywhere}
th{color:var(--muted);font-weight:600}
.ok{color:var(--ok)}
footer{color:var(--muted);font-size:.875rem;padding-bottom:36px}
@media (max-width:600px){.wrap{padding-left:14px;padding-right:14px}main.wrap{padding-top:16px}h1{font-size:1.45rem}.card{padding:18px 16px;border-radius:12px}.server{padding:12px 14px 14px}.apple{flex-direction:column}.qr{display:none}.button,button{width:100%}dl{gap:6px 12px}.nav a{font-size:.85rem}}`;

const LOGO_SHAPES =
  '<rect width="32" height="32" rx="8" fill="#1b5fc1"/><path d="M7 10.5h18v11H7z" fill="#fff"/>' +
  '<path d="M7.6 11l8.4 6.6 8.4-6.6" fill="none" stroke="#1b5fc1" stroke-width="1.8" stroke-linejoin="round"/>';
const LOGO = `<svg viewBox="0 0 32 32" aria-hidden="true">${LOGO_SHAPES}</svg>`;

/** The site icon (`/favicon.svg`, `/favicon.ico`): the envelope of the page header, as a standalone SVG. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">${LOGO_SHAPES}</svg>\n`;

const DEFAULT_FOOTER =
  "These are the same settings that Thunderbird, Outlook and Apple devices receive when they set up an account automatically. This page never asks for your password.";

/** Input of {@link renderPage}. */
export interface PageInput {
  /** `<title>` text (escaped here). */
  title: string;
  /** Trusted HTML of `<main>`: every value in it must already be escaped. */
  main: string;
  /** Footer sentence (escaped here); default: the guide's "same settings, never your password". */
  footer?: string;
}

/** Wraps `main` in the document shell (header with the site name, footer). */
export function renderPage({ title, main, footer = DEFAULT_FOOTER }: PageInput): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<title>${escapeHtml(title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header class="top"><div class="wrap"><a class="brand" href="/">${LOGO}<span>Mail settings</span></a><nav class="nav"><a href="/dns">DNS records for admins</a></nav></div></header>
<main class="wrap">
${main}
</main>
<footer class="wrap"><p>${escapeHtml(footer)}</p></footer>
</body>
</html>
`;
}
