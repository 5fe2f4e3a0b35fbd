/**
 * QR codes as inline SVG (uqr encodes; this module draws), for the profile link on the guide page
 * (a phone scans it and opens the link in Safari). No `style` attributes, so the page's
 * Content-Security-Policy needs nothing for it. Pure; Web APIs only.
 */
import { encode } from "uqr";

/**
 * Renders `text` as an SVG QR code: one `<path>` of horizontal runs of dark modules, a quiet zone
 * of 4 modules (ISO/IEC 18004 §7.3.8), error correction level M.
 * @param text the payload (a URL); it is encoded as bytes, never inserted into the markup
 * @param label accessible name (`aria-label`); HTML-escaped here
 * @returns `<svg …>…</svg>` for inline use in HTML
 */
export function renderQrSvg(text: string, label: string): string {
  const qr = encode(text, { ecc: "M", border: 0 });
  const quiet = 4;
  const size = qr.size + 2 * quiet;
  let d = "";
  qr.data.forEach((row, y) => {
    let x = 0;
    while (x < row.length) {
      if (!row[x]) {
        x++;
        continue;
      }
      const start = x;
      while (x < row.length && row[x]) x++;
      d += `M${start + quiet} ${y + quiet}h${x - start}v1h-${x - start}z`;
    }
  });
  const safeLabel = label.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" role="img" aria-label="${safeLabel}" shape-rendering="crispEdges">` +
    `<rect width="${size}" height="${size}" fill="#fff"/><path fill="#000" d="${d}"/></svg>`
  );
}
