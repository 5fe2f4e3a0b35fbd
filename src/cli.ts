/**
 * The `mailconf` command (Node entry). `npm start` = `mailconf serve`; from a checkout,
 * `npm run cli -- <command>`.
 *
 *   mailconf serve [--port 8080] [--host 127.0.0.1] [--config FILE]… [--ispdb DIR] [--public-url URL]
 *                  [--sign-cert PEM --sign-key PEM [--sign-chain PEM]]
 *   mailconf check <address> [--config FILE]… [--ispdb DIR]
 *   mailconf validate <settings file>…
 *
 * Exit codes: 0 ok, 1 the check found nothing / validation failed, 2 bad usage or configuration.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { checkAddress } from "./check.ts";
import { ConfigError, loadSettingsFile } from "./config-files.ts";
import { loadProfileSigner, loadSettings, signingReport, startServer } from "./node.ts";
import { SigningConfigError } from "./signing/signer.ts";

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new InvalidArgumentError("expected an integer 0-65535");
  return Number(value);
}

function parseUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error();
    return url.href.replace(/\/+$/, "");
  } catch {
    throw new InvalidArgumentError("expected an absolute http(s) URL, e.g. https://autoconfig.example.com");
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Builds the command-line program (exported for tests). */
export function program(): Command {
  const cmd = new Command("mailconf")
    .description(
      "Tells mail clients how to connect: Thunderbird autoconfig, Outlook Autodiscover, Apple profiles",
    )
    .showHelpAfterError()
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    });

  cmd
    .command("serve")
    .description("serve autoconfig, Autodiscover and profiles over HTTP")
    .addOption(new Option("-p, --port <port>", "TCP port").env("PORT").default(8080).argParser(parsePort))
    .addOption(new Option("--host <address>", "listen address").env("HOST").default("127.0.0.1"))
    .option("-c, --config <file>", "settings file, YAML or JSON (repeatable; first wins)", collect, [])
    .option("--ispdb <folder>", "serve every Mozilla ISPDB *.xml file in this folder")
    .addOption(
      new Option("--public-url <url>", "URL clients reach this server at")
        .env("MAILCONF_PUBLIC_URL")
        .argParser(parseUrl),
    )
    .addOption(
      new Option("--sign-cert <pem>", "sign Apple profiles with this certificate (file or PEM text)").env(
        "MAILCONF_SIGN_CERT",
      ),
    )
    .addOption(
      new Option("--sign-key <pem>", "its private key, unencrypted PKCS#8 (file or PEM text)").env(
        "MAILCONF_SIGN_KEY",
      ),
    )
    .addOption(
      new Option("--sign-chain <pem>", "intermediate certificates (file or PEM text)").env(
        "MAILCONF_SIGN_CHAIN",
      ),
    )
    .action(
      async (opts: {
        port: number;
        host: string;
        config: string[];
        ispdb?: string;
        publicUrl?: string;
        signCert?: string;
        signKey?: string;
        signChain?: string;
      }) => {
        const signer = await loadProfileSigner({
          cert: opts.signCert,
          key: opts.signKey,
          chain: opts.signChain,
        });
        const server = await startServer({
          signProfile: signer?.sign,
          port: opts.port,
          host: opts.host,
          configFiles: opts.config,
          ispdb: opts.ispdb,
          publicUrl: opts.publicUrl,
          log: (m) => console.error(m),
        });
        for (const line of server.report) console.log(line);
        for (const line of signingReport(signer)) console.log(line);
        console.log(`mailconf listening on ${server.url} (public URL ${server.publicUrl})`);
        console.log(
          `  Thunderbird autoconfig  ${server.url}/mail/config-v1.1.xml?emailaddress=user@example.com`,
        );
        console.log(`                          ${server.url}/.well-known/autoconfig/mail/config-v1.1.xml`);
        console.log(`                          ${server.url}/v1.1/example.com`);
        console.log(`  Outlook Autodiscover    POST ${server.url}/autodiscover/autodiscover.xml`);
        console.log(`  Apple profile           ${server.url}/mobileconfig?email=user@example.com`);
        const stop = () => {
          console.log("mailconf stopping");
          server.close().then(() => process.exit(0));
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      },
    );

  cmd
    .command("check")
    .description("show what each client would receive for an address")
    .argument("<address>", "e-mail address, e.g. user@example.com")
    .option("-c, --config <file>", "settings file, YAML or JSON (repeatable)", collect, [])
    .option("--ispdb <folder>", "Mozilla ISPDB folder")
    .action(async (address: string, opts: { config: string[]; ispdb?: string }) => {
      const { store } = await loadSettings({ configFiles: opts.config, ispdb: opts.ispdb });
      const result = await checkAddress(store, address);
      for (const line of result.lines) console.log(line);
      if (!result.ok) process.exitCode = 1;
    });

  cmd
    .command("validate")
    .description("check settings files and report every mistake with its line and field")
    .argument("<files...>", "settings files")
    .action(async (files: string[]) => {
      let failed = false;
      for (const file of files) {
        try {
          const settings = await loadSettingsFile(file);
          console.log(`${file}: ok, ${settings.providers.length} provider(s)`);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          for (const p of e.problems) console.error(p);
          failed = true;
        }
      }
      if (failed) process.exitCode = 1;
    });
  return cmd;
}

/** Runs the CLI; configuration errors are printed without a stack trace and exit with 2. */
export async function main(argv = process.argv): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error("mailconf: invalid configuration, not starting:");
      for (const p of e.problems) console.error(`  ${p}`);
      process.exit(2);
    }
    if (e instanceof SigningConfigError) {
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
