/**
 * Stable identity of Apple profiles (reference/mobileconfig.md §7): name-based UUIDs (RFC 9562
 * version 5, SHA-1) so a re-download replaces the installed profile and two accounts never
 * overwrite each other. WebCrypto only (Node and Workers).
 */

/** mailconf's namespace for profile UUIDs (a fixed random UUID; changing it would duplicate every installed profile). */
export const PROFILE_UUID_NAMESPACE = "6b1c6f4e-3f0a-4c9e-9a57-2c1d5f0e8a31";

function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, "");
  return Uint8Array.from({ length: 16 }, (_, i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

/**
 * RFC 9562 §5.5 UUID version 5 of `name` in `namespace`, upper-case 8-4-4-4-12 as Apple writes them.
 * @returns e.g. `"3F1C2B1A-…"`; the same inputs always give the same UUID
 */
export async function uuidV5(name: string, namespace = PROFILE_UUID_NAMESPACE): Promise<string> {
  const ns = uuidBytes(namespace);
  const nameBytes = new TextEncoder().encode(name);
  const data = new Uint8Array(ns.length + nameBytes.length);
  data.set(ns);
  data.set(nameBytes, ns.length);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-1", data)).slice(0, 16);
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`.toUpperCase();
}

/** Lower-case hex SHA-1 of a string (for short, collision-resistant identifier suffixes). */
export async function sha1Hex(text: string): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text)));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}
