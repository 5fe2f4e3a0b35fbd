/** `mailconf validate <settings file>…`: every mistake with its line and field; exit 1 if any. */
import type { Command } from "commander";

/** Adds `validate` to the program. */
export function registerValidate(cmd: Command): void {
  cmd
    .command("validate")
    .description("check settings files and report every mistake with its line and field")
    .argument("<files...>", "settings files")
    .action(validate);
}

async function validate(files: string[]): Promise<void> {
  const { ConfigError, loadSettingsFile } = await import("../node/config-files.ts");
  const { loadSettings } = await import("../node/settings.ts");
  let failed = false;
  for (const file of files) {
    try {
      const settings = await loadSettingsFile(file);
      // Alias targets must be served: by this file or a built-in provider.
      await (await loadSettings({ configFiles: [file] })).close();
      console.log(`${file}: ok, ${settings.providers.length} provider(s)`);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const p of e.problems) console.error(p);
      failed = true;
    }
  }
  if (failed) process.exitCode = 1;
}
