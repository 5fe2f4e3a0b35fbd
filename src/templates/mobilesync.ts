/**
 * ActiveSync ("mobilesync") Autodiscover settings answer (MS-ASCMD §2.2.1.1, example §4.2.4;
 * reference/autodiscover.md §2.1). Element order follows the XSD: Culture, User, Action.
 */
import type { AccountSettings } from "../providers/account.ts";
import { AUTODISCOVER_RESPONSE_NS, MOBILESYNC_RESPONSE_NS } from "./autodiscover.ts";
import { element } from "./xml.ts";

/** Renders the mobilesync `Settings` answer pointing at `url` (the provider's ActiveSync endpoint). */
export function renderMobilesyncSettings(account: AccountSettings, url: string): string {
  const address = account.address?.address ?? "";
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${AUTODISCOVER_RESPONSE_NS}">`,
    `  <Response xmlns="${MOBILESYNC_RESPONSE_NS}">`,
    element("Culture", "en:us", "    "),
    "    <User>",
    element("DisplayName", address, "      "),
    element("EMailAddress", address, "      "),
    "    </User>",
    "    <Action>",
    "      <Settings>",
    "        <Server>",
    element("Type", "MobileSync", "          "),
    element("Url", url, "          "),
    element("Name", url, "          "),
    "        </Server>",
    "      </Settings>",
    "    </Action>",
    "  </Response>",
    "</Autodiscover>",
    "",
  ].join("\n");
}
