/** Runs the `mailconf` command in-process through the real commander program (fast). */
import { vi } from "vitest";
import { program } from "../../src/cli/main.ts";
import { ConfigError } from "../../src/node/config-files.ts";

/** Runs `mailconf <args>` in-process; returns stdout, stderr and the exit code it set. */
export async function cli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
  let code = 0;
  try {
    await program().parseAsync(["node", "mailconf", ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err.push(...e.problems);
    code = 2;
  } finally {
    process.exitCode = undefined;
    log.mockRestore();
    error.mockRestore();
  }
  return { out: out.join("\n"), err: err.join("\n"), code };
}
