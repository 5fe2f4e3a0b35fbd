/**
 * Runs in its own process (test/worker-dev.test.ts starts it, inside a network namespace with
 * loopback only when the machine allows): starts `wrangler dev` on 127.0.0.1, sends it every
 * shared end-to-end case (all but the signed-profile ones: wrangler dev has no fixed clock), then the
 * RAW_REQUESTS, stops it by PID and prints `{"answers": {<case id>: [answer…]}, "output": <wrangler's
 * output before the raw requests>, "raw": {<label>: raw answer}}` (bodies base64) as JSON on stdout.
 * On failure: exit 1 and wrangler's output on stderr.
 *
 *   node --import tsx test/helpers/wrangler-dev-runner.ts
 */
import { e2eCases } from "../e2e/cases.ts";
import { encodeAnswers } from "../e2e/files.ts";
import type { E2EAnswer } from "../e2e/http.ts";
import { E2E_ADMIN_TOKEN, E2E_PUBLIC_URL } from "../e2e/http.ts";
import { httpTarget, readE2EFiles } from "../e2e/node.ts";
import { RAW_REQUESTS, rawRequest, startWranglerDev } from "./wrangler-dev.ts";

// As the Node server of the end-to-end tests; D1 starts empty (--persist-to a new folder), so the
// Worker applies the migrations itself on its first request.
const dev = await startWranglerDev({
  MAILCONF_PUBLIC_URL: E2E_PUBLIC_URL,
  MAILCONF_ADMIN_TOKENS: E2E_ADMIN_TOKEN,
  MAILCONF_MX: "off",
});
try {
  const target = httpTarget(dev.url);
  const answers: Record<string, E2EAnswer[]> = {};
  for (const c of e2eCases(readE2EFiles())) {
    const list: E2EAnswer[] = [];
    for (const request of c.requests) list.push(await target(request));
    answers[c.id] = list;
  }
  // wrangler's output before the raw requests, whose refusals workerd logs as uncaught exceptions.
  const output = dev.output();
  const raw: Record<string, string> = {};
  for (const [label, text] of Object.entries(RAW_REQUESTS)) raw[label] = await rawRequest(dev.url, text);
  process.stdout.write(JSON.stringify({ answers: encodeAnswers(answers), output, raw }));
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n${dev.output()}`);
  process.exitCode = 1;
} finally {
  await dev.stop();
}
