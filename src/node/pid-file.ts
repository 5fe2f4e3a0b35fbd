/**
 * The pid file of `mailconf serve --pid-file <file>`, read by `mailconf reload --pid-file <file>`:
 * one line, the server's process id in decimal (the format of systemd's `PIDFile=` and of start-stop-daemon).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

/**
 * Writes `pid` to `path` whole: a temporary file beside it is renamed over it, so a reader never
 * sees half a number. Throws the file system's error (e.g. ENOENT for a missing folder).
 */
export function writePidFile(path: string, pid = process.pid): void {
  const temporary = `${path}.${pid}.tmp`;
  writeFileSync(temporary, `${pid}\n`);
  renameSync(temporary, path);
}

/** Removes `path` if it still holds `pid` (another server may have taken it over); never throws. */
export function removePidFile(path: string, pid = process.pid): void {
  try {
    if (readFileSync(path, "utf8").trim() === String(pid)) rmSync(path);
  } catch {
    // already gone or unreadable: nothing of ours to remove
  }
}

/** What {@link signalPidFile} found. */
export type SignalResult =
  | { ok: true; pid: number }
  | { ok: false; reason: "missing" | "invalid" | "stale" | "denied"; message: string };

/**
 * Sends `signal` to the process named in the pid file `path`.
 * @returns `ok` with the pid; otherwise why not: `missing` (no such file: the server is not
 *   running with `--pid-file`, or stopped), `invalid` (not one decimal pid), `stale` (no process
 *   has that pid: the server ended without removing its file), `denied` (EPERM: another user's process).
 */
export function signalPidFile(path: string, signal: NodeJS.Signals): SignalResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      ok: false,
      reason: "missing",
      message:
        code === "ENOENT"
          ? `no pid file ${path}: is mailconf serve running with --pid-file ${path}?`
          : `cannot read pid file ${path}: ${(e as Error).message}`,
    };
  }
  const pid = Number(text.trim());
  if (!/^\d{1,10}$/.test(text.trim()) || !Number.isSafeInteger(pid) || pid < 2)
    return {
      ok: false,
      reason: "invalid",
      message: `pid file ${path}: expected a process id, got ${JSON.stringify(text.trim().slice(0, 40))}`,
    };
  try {
    process.kill(pid, signal);
    return { ok: true, pid };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ESRCH")
      return {
        ok: false,
        reason: "stale",
        message: `stale pid file ${path}: no process ${pid} is running (mailconf serve ended without removing it)`,
      };
    return {
      ok: false,
      reason: "denied",
      message: `cannot signal process ${pid} from ${path}: ${code ?? (e as Error).message}`,
    };
  }
}
