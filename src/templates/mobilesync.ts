/**
 * ActiveSync ("mobilesync") Autodiscover settings answer (MS-ASCMD §2.2.1.1, example §4.2.4;
 * reference/autodiscover.md §2.1). Element order follows the XSD: Culture, User, Action.
 */
import type { AccountSettings } from "../providers/account.ts";
import { AUTODISCOVER_RESPONSE_NS, MOBILESYNC_RESPONSE_NS } from "./autodiscover.ts";
import { element } from "./xml.ts";

/** The mobilesync document around an `Action` body: Culture, User (the requested address), Action (XSD order). */
function mobilesyncResponse(account: AccountSettings, action: string[]): string {
  const address = account.address?.address ?? "";
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${AUTODISCOVER_RESPONSE_NS}">`,
    `  <Response xmlns="${MOBILESYNC_RESPONSE_NS}">`,
    element("Culture", "en:us", "    "),
    "    <User>",
    element("DisplayName", account.displayName ?? address, "      "),
    element("EMailAddress", address, "      "),
    "    </User>",
    "    <Action>",
    ...action,
    "    </Action>",
    "  </Response>",
    "</Autodiscover>",
    "",
  ].join("\n");
}

/**
 * Renders the mobilesync `Settings` answer pointing at `url` (the provider's ActiveSync endpoint):
 * one `Server` of `Type` MobileSync whose `Url` and `Name` are the URL (MS-ASCMD §2.2.3.120.1).
 */
export function renderMobilesyncSettings(account: AccountSettings, url: string): string {
  return mobilesyncResponse(account, [
    "      <Settings>",
    "        <Server>",
    element("Type", "MobileSync", "          "),
    element("Url", url, "          "),
    element("Name", url, "          "),
    "        </Server>",
    "      </Settings>",
  ]);
}

/**
 * The mobilesync redirect (MS-ASCMD §6.2 `Action/Redirect`, the address to repeat Autodiscover with):
 * what an ActiveSync client gets for an alias domain of a provider with an ActiveSync URL.
 */
export function renderMobilesyncRedirect(account: AccountSettings, address: string): string {
  return mobilesyncResponse(account, [element("Redirect", address, "      ")]);
}
