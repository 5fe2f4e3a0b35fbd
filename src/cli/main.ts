/**
 * The `mailconf` command (Node entry). `npm start` = `mailconf serve`; from a checkout,
 * `npm run cli -- <command>`.
 *
 *   mailconf serve [--port 8080] [--host 127.0.0.1] [--config FILE]… [--ispdb DIR] [--public-url URL]
 *                  [--sign-cert PEM --sign-key PEM [--sign-chain PEM]]
 *                  [--db ./mailconf.db|postgres://…] [--admin-token-file FILE] [--no-mx] [--dns-server IP[:PORT]]…
 *                  [--pid-file FILE] …   (`mailconf serve --help`)
 *   mailconf reload --pid-file FILE   (SIGHUP to that server: reload its settings files)
 *   mailconf check <address> [--config FILE]… [--ispdb DIR] [--db FILE|URL] [--no-mx]
 *   mailconf validate <settings file>…
 *   mailconf dns <domain> [--public-url URL] [--config FILE]… [--ispdb DIR] [--ttl S] [--check [--dns-server IP[:PORT]]… [--timeout MS]]
 *   mailconf providers|domains|import-ispdb|hash-token …   (publishing, src/cli/store.ts)
 *
 * Exit codes: 0 ok, 1 the check found nothing / validation failed / DNS records missing or
 * different / no server to reload, 2 bad usage or configuration, 3 `dns --check` could not look records up.
 * A reader that closes the output early (`| head`) ends the output quietly, not the command.
 *
 * One module per command (src/cli/<command>.ts); each imports what its action needs when it runs,
 * so `--version`, `--help` and light commands do not load the server, the SQL driver or signing.
 */

import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerCheck } from "./check.ts";
import { registerDns } from "./dns.ts";
import { registerDomains } from "./domains.ts";
import { registerHashToken } from "./hash-token.ts";
import { registerImportIspdb } from "./import-ispdb.ts";
import { registerProviders } from "./providers.ts";
import { registerReload } from "./reload.ts";
import { registerServe } from "./serve.ts";
import { registerValidate } from "./validate.ts";

/**
 * The server's modules as this build holds them (in dist/cli/, the very chunks `mailconf serve`
 * loads), for code that runs the shipped server in-process: the benchmark (bench/server.ts,
 * bench/directory.ts) imports dist/cli/main.js and calls this, so it measures the bundle, not the
 * TypeScript sources run through tsx. Loads nothing until called.
 *
 * @returns src/node/server.ts, src/app.ts, src/node/body.ts, src/providers/{directory,model,store}.ts
 */
export async function serverModules() {
  const [server, app, body, directory, model, store] = await Promise.all([
    import("../node/server.ts"),
    import("../app.ts"),
    import("../node/body.ts"),
    import("../providers/directory.ts"),
    import("../providers/model.ts"),
    import("../providers/store.ts"),
  ]);
  return { server, app, body, directory, model, store };
}

/** The package's version (package.json sits two levels up from src/cli/ and from dist/cli/). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** Builds the command-line program (exported for tests). */
export function program(): Command {
  const cmd = new Command("mailconf")
    .description(
      "Tells mail clients how to connect: Thunderbird autoconfig, Outlook Autodiscover, Apple profiles",
    )
    .version(packageVersion(), "-V, --version", "print the version")
    .showHelpAfterError()
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  registerServe(cmd);
  registerReload(cmd);
  registerCheck(cmd);
  registerValidate(cmd);
  registerDns(cmd);
  registerProviders(cmd);
  registerDomains(cmd);
  registerImportIspdb(cmd);
  registerHashToken(cmd);
  return cmd;
}

/**
 * Makes a closed pipe on stdout or stderr (`mailconf check … | head -3`) a non-event: the first
 * EPIPE stops output to that stream, silently, and the command finishes with its own exit code
 * (Node ignores SIGPIPE, so without this the write error is an unhandled 'error' event: a stack
 * trace and exit 1). Any other stream error is thrown as before.
 */
export function ignoreClosedPipes(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE" && e.code !== "ERR_STREAM_DESTROYED") throw e;
      stream.write = (() => true) as typeof stream.write;
    });
  }
}

/** Runs the CLI; configuration errors are printed without a stack trace and exit with 2. */
export async function main(argv = process.argv): Promise<void> {
  ignoreClosedPipes();
  try {
    await program().parseAsync(argv);
  } catch (e) {
    // Named, not instanceof: the modules that throw them are imported only by the commands that use them.
    if (e instanceof Error && e.name === "ConfigError") {
      console.error("mailconf: invalid configuration; nothing was started or changed:");
      for (const p of (e as Error & { problems: string[] }).problems) console.error(`  ${p}`);
      process.exit(2);
    }
    if (e instanceof Error && e.name === "SigningConfigError") {
      console.error(`mailconf: cannot sign Apple profiles, not starting: ${e.message}`);
      process.exit(2);
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EADDRINUSE" || err.code === "EACCES" || err.code === "EADDRNOTAVAIL") {
      console.error(`mailconf: cannot listen: ${err.message}`);
      process.exit(2);
    }
    throw e;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
}
