/**
 * `mailconf reload --pid-file <file>`: makes a running `mailconf serve --pid-file <file>` read its
 * settings files and ISPDB folder again, by sending it SIGHUP (the reload itself, and its log line,
 * happen in the server: docs/operations.md). Exit codes: 0 signal sent; 1 no server to signal
 * (pid file missing, not a pid, stale, or another user's process); 2 bad usage.
 */
import { type Command, Option } from "commander";

/** Adds `reload` to the program. */
export function registerReload(cmd: Command): void {
  cmd
    .command("reload")
    .description("make a running mailconf serve --pid-file <file> reload its settings files (sends SIGHUP)")
    .addOption(
      new Option("--pid-file <file>", "the pid file mailconf serve writes")
        .env("MAILCONF_PID_FILE")
        .makeOptionMandatory(),
    )
    .action(reload);
}

async function reload(opts: { pidFile: string }): Promise<void> {
  const { signalPidFile } = await import("../node/pid-file.ts");
  const result = signalPidFile(opts.pidFile, "SIGHUP");
  if (!result.ok) {
    console.error(`mailconf reload: ${result.message}`);
    process.exitCode = 1;
    return;
  }
  console.log(`mailconf reload: sent SIGHUP to mailconf serve (pid ${result.pid})`);
}
