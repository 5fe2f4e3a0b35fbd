/**
 * Signals to a real `mailconf serve` process: SIGHUP reloads the settings files (a changed file
 * gives new answers; a broken one keeps the old answers and logs one `file:line: path: rule` line),
 * SIGTERM drains (uploads in flight are all answered, then the process exits 0), and the grace
 * period bounds the drain. `mailconf reload --pid-file` sends the SIGHUP to the server named in the
 * pid file `serve --pid-file` writes, and says why not (exit 1) when no server is there. `--watch`
 * reloads on a file change by itself. The start-up log reads in order: the report, the listening
 * line, then the published settings held in memory.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fetchBounded } from "./helpers/server.ts";

const BIN = resolve(import.meta.dirname, "../bin/mailconf.js");

const settings = (port: string) => `providers:
  - id: reload.example
    displayName: Reload Mail
    domains: [reload.example]
    incoming:
      - type: imap
        hostname: imap.reload.example
        port: ${port}
        socketType: SSL
    outgoing:
      - hostname: smtp.reload.example
        port: 465
        socketType: SSL
`;

interface Child {
  process: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

/** Starts `mailconf serve` on a free port and waits (at most 60 s) until it listens. */
async function serve(args: string[]): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), "mailconf-signals-"));
  const child = spawn(
    process.execPath,
    [BIN, "serve", "--port", "0", "--no-mx", "--db", join(dir, "s.db"), ...args],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MAILCONF_RATE_LIMIT: "0" } },
  );
  children.push(child);
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setInterval(() => {
      const m = /mailconf listening on (http:\/\/[^ ]+)/.exec(out);
      if (m) {
        clearInterval(timer);
        ok(m[1] as string);
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(timer);
      fail(new Error(`mailconf exited with ${code}: ${err}`));
    });
  });
  return { process: child, url, stdout: () => out, stderr: () => err, exited };
}

const imapPort = async (url: string) => {
  const xml = await (await fetchBounded(`${url}/v1.1/reload.example`)).text();
  return /<incomingServer type="imap">[\s\S]*?<port>(\d+)<\/port>/.exec(xml)?.[1];
};

/** Runs `mailconf reload --pid-file <file>` (at most 30 s): exit code, stdout, stderr. */
function reloadCommand(pidFile: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, "reload", "--pid-file", pidFile],
      { timeout: 30_000 },
      (error, stdout, stderr) => done({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

/** Waits until `check` is true, polling every 50 ms, at most `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("signals", () => {
  it("SIGHUP: a changed file gives new answers; a broken file keeps the old ones and logs one line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mailconf-reload-"));
    const file = join(dir, "settings.yaml");
    writeFileSync(file, settings("993"));
    const server = await serve(["--config", file]);
    expect(await imapPort(server.url)).toBe("993");

    writeFileSync(file, settings("1993"));
    server.process.kill("SIGHUP");
    await until(async () => (await imapPort(server.url)) === "1993");
    expect(server.stderr()).toContain("reload: settings loaded (settings: ");

    writeFileSync(file, settings("99x"));
    server.process.kill("SIGHUP");
    await until(() => server.stderr().includes("reload failed"));
    const failures = server
      .stderr()
      .split("\n")
      .filter((l) => l.includes("reload failed"));
    expect(failures).toEqual([
      `reload failed, the last good settings stay: ${file}:8: providers[0].incoming[0].port: expected an integer 1-65535, got "99x"`,
    ]);
    expect(await imapPort(server.url)).toBe("1993");
    expect(server.process.exitCode).toBeNull();
    server.process.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }, 90_000);

  it("SIGTERM: ten slow uploads in flight are all answered, new connections are refused, exit 0", async () => {
    const server = await serve(["--shutdown-grace", "20"]);
    const { port } = new URL(server.url);
    const body = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>jane@gmail.com</EMailAddress>
  <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request></Autodiscover>`;
    const half = Math.floor(body.length / 2);
    const sockets: Socket[] = [];
    const answers = Array.from(
      { length: 10 },
      () =>
        new Promise<string>((resolveAnswer) => {
          let text = "";
          const socket = connect(Number(port), "127.0.0.1", () => {
            socket.write(
              `POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: autodiscover.gmail.com\r\n` +
                `Content-Type: text/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
            );
          });
          socket.on("data", (d) => {
            text += d;
          });
          socket.on("error", () => {});
          socket.on("close", () => resolveAnswer(text));
          sockets.push(socket);
        }),
    );
    await until(() => sockets.every((s) => s.readyState === "open"));
    await new Promise((r) => setTimeout(r, 300)); // the server has read the first halves
    server.process.kill("SIGTERM");
    await until(() => server.stderr().includes("SIGTERM: stopping"));
    // The listener is closed: a new connection is refused.
    const refused = await new Promise<boolean>((r) => {
      const s = connect(Number(port), "127.0.0.1");
      s.on("connect", () => {
        s.destroy();
        r(false);
      });
      s.on("error", () => r(true));
    });
    expect(refused).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    for (const s of sockets) s.write(body.slice(half));
    const texts = await Promise.all(answers);
    for (const text of texts) {
      expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(text).toContain("<Server>imap.gmail.com</Server>");
    }
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain("mailconf: stopped");
  }, 90_000);

  it("SIGTERM: an upload that never finishes is cut off after the grace period", async () => {
    const server = await serve(["--shutdown-grace", "1"]);
    const socket = connect(Number(new URL(server.url).port), "127.0.0.1", () =>
      socket.write("PUT /api/v1/providers/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"),
    );
    socket.on("error", () => {});
    await until(() => socket.readyState === "open");
    await new Promise((r) => setTimeout(r, 200));
    const start = Date.now();
    server.process.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(Date.now() - start).toBeLessThan(15_000);
    socket.destroy();
  }, 90_000);

  it("mailconf reload --pid-file: the server writes its pid, reloads on the command, removes the file on exit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mailconf-reload-cmd-"));
    const file = join(dir, "settings.yaml");
    const pidFile = join(dir, "mailconf.pid");
    writeFileSync(file, settings("993"));
    const server = await serve(["--config", file, "--pid-file", pidFile]);
    expect(readFileSync(pidFile, "utf8")).toBe(`${server.process.pid}\n`);
    expect(await imapPort(server.url)).toBe("993");

    writeFileSync(file, settings("2993"));
    const reloaded = await reloadCommand(pidFile);
    expect(reloaded).toEqual({
      code: 0,
      stdout: `mailconf reload: sent SIGHUP to mailconf serve (pid ${server.process.pid})\n`,
      stderr: "",
    });
    await until(async () => (await imapPort(server.url)) === "2993");
    expect(server.stderr()).toContain("mailconf: SIGHUP: reloading the settings files");
    expect(server.process.exitCode).toBeNull();

    server.process.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
    // The server is gone with its pid file: nothing to signal.
    expect(await reloadCommand(pidFile)).toEqual({
      code: 1,
      stdout: "",
      stderr: `mailconf reload: no pid file ${pidFile}: is mailconf serve running with --pid-file ${pidFile}?\n`,
    });
  }, 90_000);

  it("mailconf reload: a stale or garbled pid file exits 1 and names the problem", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mailconf-reload-stale-"));
    const pidFile = join(dir, "mailconf.pid");
    // The pid of a process that has exited (a server killed with SIGKILL leaves such a file).
    const gone = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((r) => gone.on("exit", r));
    writeFileSync(pidFile, `${gone.pid}\n`);
    const stale = await reloadCommand(pidFile);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toBe(
      `mailconf reload: stale pid file ${pidFile}: no process ${gone.pid} is running (mailconf serve ended without removing it)\n`,
    );
    writeFileSync(pidFile, "mailconf\n");
    expect(await reloadCommand(pidFile)).toEqual({
      code: 1,
      stdout: "",
      stderr: `mailconf reload: pid file ${pidFile}: expected a process id, got "mailconf"\n`,
    });
  }, 60_000);

  it("--watch: a settings file written in place, then replaced by rename, gives new answers without a signal", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mailconf-watch-"));
    const file = join(dir, "settings.yaml");
    writeFileSync(file, settings("993"));
    const server = await serve(["--config", file, "--watch"]);
    expect(await imapPort(server.url)).toBe("993");

    writeFileSync(file, settings("3993")); // written in place
    await until(async () => (await imapPort(server.url)) === "3993", 10_000);

    const next = join(dir, "settings.yaml.new"); // how editors save: a new file renamed over the old
    writeFileSync(next, settings("4993"));
    renameSync(next, file);
    await until(async () => (await imapPort(server.url)) === "4993", 10_000);
    expect(server.stderr()).not.toContain("SIGHUP");
    expect(server.stderr()).toContain("reload: settings loaded (settings: ");
    server.process.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }, 90_000);
});

describe("mailconf serve start-up log", () => {
  it("the start-up report comes first, then 'N published domain(s) held in memory', in one stream", async () => {
    // stdout and stderr in one pipe (2>&1), as a terminal or the journal shows them. With --pid-file
    // and --metrics the start awaits more after listening, so the store used to finish loading and
    // log its line before the report's "database: <file>, applied …".
    const dir = mkdtempSync(join(tmpdir(), "mailconf-startup-"));
    const db = join(dir, "s.db");
    const args = [BIN, "serve", "--port", "0", "--no-mx", "--db", db, "--pid-file", join(dir, "pid")];
    const child = spawn(
      "sh",
      ["-c", 'exec "$@" 2>&1', "sh", process.execPath, ...args, "--metrics", "127.0.0.1:0"],
      {
        stdio: ["ignore", "pipe", "ignore"],
        env: { ...process.env, MAILCONF_RATE_LIMIT: "0" },
      },
    );
    children.push(child);
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await until(async () => /held in memory/.test(out), 60_000);
    const lines = out.split("\n");
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const report = at(new RegExp(`^database: ${db.replaceAll(".", "\\.")}, applied 0001_`));
    const listening = at(/^mailconf listening on /);
    const inMemory = at(/^database: 0 published domain\(s\) held in memory \(loaded in \d+ ms\)$/);
    expect(report).toBeGreaterThanOrEqual(0);
    expect([report < listening, listening < inMemory]).toEqual([true, true]);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 90_000);
});
