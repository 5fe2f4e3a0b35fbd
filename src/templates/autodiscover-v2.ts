/**
 * Autodiscover v2 JSON answers (reference/autodiscover.md §3.7; corpus v2-autodiscoverv1.json,
 * v2-error-invalid-protocol.json). Pure functions: the handler decides, these only spell the JSON.
 *
 * v2 gives a non-Exchange server nothing to describe IMAP/SMTP with: it only points Outlook at the
 * POX endpoint (`AutodiscoverV1`), or at an ActiveSync URL when a provider configures one.
 */

/** Protocols mailconf can answer in v2, in the spelling Exchange answers with. */
export type V2Protocol = "AutodiscoverV1" | "ActiveSync";

/** `{"Protocol":"AutodiscoverV1","Url":"https://…/autodiscover/autodiscover.xml"}` (HTTP 200). */
export function renderV2Endpoint(protocol: V2Protocol, url: string): string {
  return JSON.stringify({ Protocol: protocol, Url: url });
}

/** The protocol value as it may appear in an error message: ASCII letters and digits only, ≤ 40 of them. */
export function sanitizeProtocol(value: string): string {
  return value.replace(/[^A-Za-z0-9]/g, "").slice(0, 40);
}

/**
 * Exchange's `InvalidProtocol` error (HTTP 400). The requested value is reduced by
 * {@link sanitizeProtocol}, never echoed raw (mailcow and Stalwart filter it the same way).
 */
export function renderV2InvalidProtocol(requested: string): string {
  return JSON.stringify({
    ErrorCode: "InvalidProtocol",
    ErrorMessage: `The given protocol value '${sanitizeProtocol(requested)}' is invalid. Supported values are 'AutodiscoverV1'`,
  });
}

/** Any other v2 error: `{"ErrorCode":…,"ErrorMessage":…}`; both are constants of the handler, never request text. */
export function renderV2Error(code: string, message: string): string {
  return JSON.stringify({ ErrorCode: code, ErrorMessage: message });
}
