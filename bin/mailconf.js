#!/usr/bin/env node
// The `mailconf` command: the compiled CLI in dist/ (shipped in the package; in a checkout,
// `npm run build` writes it, and `npm run cli -- <command>` runs the TypeScript sources instead).
try {
  const { main } = await import("../dist/cli/main.js");
  await main();
} catch (e) {
  if (e?.code !== "ERR_MODULE_NOT_FOUND" || !String(e.message).includes("dist/cli/main.js")) throw e;
  console.error("mailconf: not built: run `npm run build` in the checkout (or `npm run cli -- <command>`)");
  process.exit(2);
}
