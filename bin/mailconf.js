#!/usr/bin/env node
// The `mailconf` command: loads the TypeScript sources through tsx (a runtime dependency).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
await main();
