/**
 * The DNS records page for admins (`GET /dns?domain=…`): the records of {@link dnsRecords} as a
 * table and as zone-file lines to paste. Every value is HTML-escaped. Pure; no scripts.
 */
import type { DnsRecordSet } from "./dns-records.ts";
import { escapeHtml as h, renderPage } from "./html.ts";

/** Input of {@link renderDnsPage}. */
export interface DnsPageInput {
  /** The domain as typed, to refill the form. */
  domain?: string;
  /** The records and their zone-file text; absent on the blank form and on errors. */
  result?: { set: DnsRecordSet; zone: string };
  error?: { title: string; detail: string };
}

/** Escapes a DNS name for HTML, letting long names wrap after their dots (`<wbr>`), not inside labels. */
function breakAtDots(name: string): string {
  return h(name).replace(/\.(?=.)/g, ".<wbr>");
}

/** Renders the page; serve as `text/html; charset=utf-8` with the CSP of pages.ts. */
export function renderDnsPage({ domain, result, error }: DnsPageInput): string {
  const parts = [
    `<h1>DNS records for your mail domain</h1>
<p class="lead">Publish these records so that Thunderbird, Outlook, Apple devices and other mail apps find this server and your mail servers by themselves.</p>
<form class="card" method="get" action="/dns">
<label for="domain">Mail domain</label>
<div class="field"><input id="domain" name="domain" type="text" inputmode="url" autocapitalize="none" spellcheck="false" required maxlength="253" placeholder="example.com" value="${h(domain ?? "")}"><button type="submit">Show records</button></div>
<p class="hint">On the command line: <span class="mono">mailconf dns example.com --check</span> also compares them with what DNS answers today.</p>
</form>`,
  ];
  if (error) {
    parts.push(
      `<div class="error" role="alert" id="error"><p><strong>${h(error.title)}</strong></p><p>${h(error.detail)}</p></div>`,
    );
  }
  if (result) {
    const { set, zone } = result;
    const rows = set.records
      .map(
        (r) =>
          `<tr><td class="mono">${breakAtDots(r.name)}</td><td class="type">${h(r.type)}</td><td class="mono">${breakAtDots(r.data)}</td><td class="purpose">${h(r.purpose)}${r.optional ? " <em>(optional)</em>" : ""}</td></tr>`,
      )
      .join("\n");
    const remarks = set.remarks
      .map((r) => `<div class="note"><p>${h(r.charAt(0).toUpperCase() + r.slice(1))}.</p></div>`)
      .join("\n");
    parts.push(`<section class="card" id="records">
<h2>Records for ${h(set.domain)}</h2>
${remarks}
<div class="table-wrap"><table>
<colgroup><col class="c-name"><col class="c-type"><col class="c-value"><col></colgroup>
<thead><tr><th>Name</th><th>Type</th><th>Value</th><th>Purpose</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>
</section>
<section class="card" id="zone">
<h2>Zone-file lines</h2>
<p>Paste into your zone, or enter them one by one in your DNS provider's form. <a href="/dns?domain=${encodeURIComponent(set.domain)}&amp;format=zone">Plain text</a></p>
<pre>${h(zone)}</pre>
</section>`);
  }
  return renderPage({
    title: result ? `DNS records for ${result.set.domain}` : "DNS records",
    main: parts.join("\n"),
    footer:
      "The records are generated from the same settings store that answers Thunderbird, Outlook and Apple devices.",
  });
}
