/**
 * Field paths as admins write them, apart from the settings model (./model.ts, which re-exports
 * it) so that the `mailconf` commands can name fields without loading zod at start-up.
 */

/** Formats a field path the way admins write it: `providers[0].incoming[1].port`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(String(part))) out += out ? `.${String(part)}` : String(part);
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out || "(root)";
}
