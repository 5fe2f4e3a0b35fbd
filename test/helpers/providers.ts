/** Test providers built through the settings model (defaults applied), as every write path does. */
import { type Provider, type ProviderInput, parseProvider } from "../../src/providers/model.ts";

/** A provider `id` serving `id` with IMAP 993 SSL and SMTP 587 STARTTLS at `imap.<id>`/`smtp.<id>`, unless overridden. */
export function provider(input: Partial<ProviderInput> & { id: string }): Provider {
  const r = parseProvider({
    displayName: `${input.id} mail`,
    domains: [input.id],
    incoming: [{ type: "imap", hostname: `imap.${input.id}`, port: 993, socketType: "SSL" }],
    outgoing: [{ hostname: `smtp.${input.id}`, port: 587, socketType: "STARTTLS" }],
    ...input,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}
