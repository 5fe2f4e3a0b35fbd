/**
 * The benchmark's process handling (bench/run.ts, bench/server.ts), not its numbers: `--help`
 * prints usage without starting anything, and the server child never outlives the runner (it used
 * to keep serving on two ports with PPID 1 after a Ctrl-C to the runner or an EPIPE from `| head`).
 * Bounded: each run is stopped within seconds of its servers starting.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/shared.ts";

const RUNNER = ["--import", "tsx", "bench/run.ts"];

/** True while `pid` runs (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (existsSync("/proc/self/stat")) {
    if (!existsSync(stat)) return false;
    const state = /\) (\S)/.exec(readFileSync(stat, "utf8"))?.[1];
    return state !== undefined && state !== "Z" && state !== "X";
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/** Starts the runner and resolves with it and its server child's pid once that child is listening. */
function startRunner(): Promise<{ runner: ChildProcessWithoutNullStreams; serverPid: number }> {
  const runner = spawn(process.execPath, [...RUNNER, "--duration", "1"], { cwd: REPO_ROOT });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      runner.kill("SIGKILL");
      reject(new Error(`the bench did not start within 30 s: ${out}`));
    }, 30_000);
    runner.stdout.on("data", (d: Buffer) => {
      out += d.toString("utf8");
      const pid = /servers: pid (\d+)/.exec(out)?.[1];
      if (pid) {
        clearTimeout(timer);
        runner.stdout.removeAllListeners("data");
        resolve({ runner, serverPid: Number(pid) });
      }
    });
    runner.on("exit", (code) => reject(new Error(`the bench exited (${code}) before starting: ${out}`)));
  });
}

describe("npm run bench", () => {
  it("--help prints usage and exits without running; a wrong option is a usage error", () => {
    const help = spawnSync(process.execPath, [...RUNNER, "--help"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run bench/);
    expect(help.stdout).toContain("--duration <s>");
    expect(help.stdout).not.toContain("mailconf bench:");
    const wrong = spawnSync(process.execPath, [...RUNNER, "--durration", "1"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/Unknown option '--durration'[\s\S]*usage: npm run bench/);
    expect(wrong.stdout).toBe("");
  });

  it("the server child exits when the runner is interrupted (SIGINT to the runner only)", async () => {
    const { runner, serverPid } = await startRunner();
    expect(alive(serverPid)).toBe(true);
    runner.kill("SIGINT");
    expect(await waitUntil(() => !alive(serverPid), 5000), `server pid ${serverPid} still runs`).toBe(true);
  });

  it("the server child exits when the runner's output is closed (| head)", async () => {
    const { runner, serverPid } = await startRunner();
    const exited = new Promise<number | null>((resolve) => runner.on("exit", (code) => resolve(code)));
    let stderr = "";
    runner.stderr.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    runner.stdout.destroy();
    expect(await waitUntil(() => !alive(serverPid), 20_000), `server pid ${serverPid} still runs`).toBe(true);
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|Error/);
  });

  it("bench/server.ts refuses to run on its own (no parent to follow)", () => {
    const alone = spawnSync(process.execPath, ["--import", "tsx", "bench/server.ts"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(alone.status).toBe(2);
    expect(alone.stderr).toContain("started by bench/run.ts");
  });
});
