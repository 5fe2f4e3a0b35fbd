/**
 * A throw-away PostgreSQL server for tests: Debian's `postgresql` binaries, a temporary data
 * directory, listening on 127.0.0.1 only (and a Unix socket inside the data directory), trust
 * authentication for one user. PostgreSQL refuses to run as root, so as root the server runs as the
 * `postgres` user the Debian package creates. `stop()` stops it and deletes the directory; `start()`
 * starts it again on the same port (the connection-loss test).
 *
 * {@link postgresUnavailable} says why the tests must skip (no binaries); `.ci/run` installs them.
 */
import { execFile, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./wrangler-dev.ts";

const run = promisify(execFile);

/** The newest `/usr/lib/postgresql/<version>/bin`, or undefined. */
function binDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(root, versions[0], "bin");
}

const BIN = binDir();
const AS_ROOT = process.getuid?.() === 0;

/** Why PostgreSQL tests cannot run here (undefined: they can). */
export const postgresUnavailable: string | undefined = BIN
  ? undefined
  : "PostgreSQL server binaries not found under /usr/lib/postgresql (Debian package postgresql; .ci/run installs it)";

/** uid/gid of the `postgres` user when we are root (PostgreSQL refuses to run as root). */
function pgUser(): { uid: number; gid: number } | undefined {
  if (!AS_ROOT) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) throw new Error("no postgres user in /etc/passwd");
  return { uid: Number(uid), gid: Number(gid) };
}

/** Path of a PostgreSQL binary. */
const pgBin = (name: string) => join(BIN as string, name);

/** A running test server. */
export interface TestPostgres {
  /** `postgres://mailconf@127.0.0.1:<port>/<database>` */
  url: string;
  port: number;
  /** A connection URL for another, new database on the same server (created here). */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown: open connections are cut). The data directory stays. */
  pause(): Promise<void>;
  /** Starts it again on the same port after {@link pause}. */
  resume(): Promise<void>;
  /** Stops the server and deletes its data directory. */
  stop(): Promise<void>;
}

/**
 * Creates a cluster in a temporary directory and starts it on a free loopback port.
 * @throws if the binaries are missing (check {@link postgresUnavailable} first) or it does not start in 20 s
 */
export async function startPostgres(): Promise<TestPostgres> {
  if (!BIN) throw new Error(postgresUnavailable);
  const dir = mkdtempSync(join(tmpdir(), "mailconf-pg-"));
  const user = pgUser();
  if (user) chownSync(dir, user.uid, user.gid);
  const as = { ...user, env: { ...process.env, LC_ALL: "C" } };
  const data = join(dir, "data");
  await run(
    pgBin("initdb"),
    ["-D", data, "-U", "mailconf", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
    { ...as, timeout: 60_000 },
  );
  const port = await freePort();
  const base = `postgres://mailconf@127.0.0.1:${port}`;
  let child: ReturnType<typeof spawn> | undefined;

  const start = async () => {
    const args = [
      "-D",
      data,
      "-k",
      dir,
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-c",
      "fsync=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=60",
    ];
    child = spawn(pgBin("postgres"), args, { ...as, stdio: "ignore" });
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await run(pgBin("pg_isready"), ["-h", "127.0.0.1", "-p", String(port), "-t", "1"], {
          ...as,
          timeout: 5000,
        });
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`PostgreSQL did not start on port ${port}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const halt = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((r) => running.once("exit", r));
    // SIGINT = PostgreSQL's "fast" shutdown: cut sessions, write a checkpoint, exit.
    running.kill("SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (running.exitCode === null) running.kill("SIGKILL");
  };

  await start();
  return {
    url: `${base}/postgres`,
    port,
    async createDatabase(name) {
      await run(
        pgBin("psql"),
        [
          "-h",
          "127.0.0.1",
          "-p",
          String(port),
          "-U",
          "mailconf",
          "-d",
          "postgres",
          "-c",
          `CREATE DATABASE "${name}"`,
        ],
        { ...as, timeout: 20_000 },
      );
      return `${base}/${name}`;
    },
    pause: halt,
    resume: start,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
