/**
 * `mailconf hash-token [token|-]`: the `sha256:` line of an admin token for the token file (stdout);
 * without a token, a random one is made and shown on stderr only.
 */
import type { Command } from "commander";

/** Adds `hash-token` to the program. */
export function registerHashToken(cmd: Command): void {
  cmd
    .command("hash-token")
    .description(
      "print the sha256: line of an admin token for --admin-token-file (no token: make one, shown on stderr)",
    )
    .argument("[token]", "the token, or - to read it from standard input")
    .action(hashToken);
}

async function hashToken(token?: string): Promise<void> {
  const { MIN_TOKEN_LENGTH, tokenHashLine } = await import("../handlers/admin-auth.ts");
  let value = token;
  if (value === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    value = Buffer.concat(chunks).toString("utf8").trim();
  }
  if (value !== undefined && value.length < MIN_TOKEN_LENGTH) {
    // The same rule as tokens written in a token file: a short token is guessable.
    console.error(
      `mailconf: a token needs at least ${MIN_TOKEN_LENGTH} characters; run hash-token without one to make a random token`,
    );
    process.exitCode = 2;
    return;
  }
  if (value === undefined) {
    // The secret goes to the terminal (stderr), never to stdout: `hash-token >> admin-tokens`
    // must leave only the hash in the file.
    value = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    console.error("mailconf: new admin token; clients send it as 'Authorization: Bearer <token>'.");
    console.error("Keep it secret; only the sha256: line (stdout) goes into the token file:");
    console.error(value);
  }
  console.log(await tokenHashLine(value));
}
