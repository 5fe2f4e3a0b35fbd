/**
 * The account settings a store gives for an address, as the handlers compute them.
 */
import { type AccountSettings, accountSettings } from "../../src/providers/account.ts";
import { parseEmailAddress } from "../../src/providers/domain.ts";
import type { SettingsStore } from "../../src/providers/store.ts";

/**
 * @throws Error when the address is malformed or no provider of the store knows its domain
 */
export async function accountFor(store: SettingsStore, input: string): Promise<AccountSettings> {
  const address = parseEmailAddress(input);
  if (!address) throw new Error(input);
  const resolution = await store.resolve(address.domain);
  if (!resolution) throw new Error(`no provider for ${input}`);
  return accountSettings(resolution, address);
}
