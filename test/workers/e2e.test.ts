/**
 * The shared end-to-end suite inside workerd, against the Worker's own fetch handler (src/worker/index.ts,
 * bundled settings, `MAILCONF_PUBLIC_URL` from vitest.config.ts), and a second Worker with the
 * signing secrets set and the same fixed clock as the Node server. Every answer must pass the
 * suite's checks and equal the Node server's answer byte for byte (recorded by
 * test/e2e/record-node-answers.ts).
 */
import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { inject } from "vitest";
import { createWorker, type WorkerEnv } from "../../src/worker/app.ts";
import { DEFAULT_HOST } from "../e2e/cases.ts";
import { decodeAnswers, decodeFiles } from "../e2e/files.ts";
import { answerFromResponse, type E2ERequest, type E2ETarget } from "../e2e/http.ts";
import { defineE2ESuite } from "../e2e/suite.ts";

/** A request as the edge would deliver it: URL from the Host header, same headers and body. */
function toRequest(req: E2ERequest): Request {
  const host = req.headers.Host ?? DEFAULT_HOST;
  return new Request(`http://${host}${req.path}`, {
    method: req.method,
    headers: req.headers,
    body: req.body as Uint8Array<ArrayBuffer> | undefined,
  });
}

const signing = inject("e2eSigning");
const signedEnv: WorkerEnv = {
  ...env,
  MAILCONF_SIGN_CERT: signing.certificatePem,
  MAILCONF_SIGN_KEY: signing.privateKeyPem,
  MAILCONF_SIGN_CHAIN: signing.chainPem,
};
const signedWorker = createWorker({ now: () => new Date(signing.time) });

const plain: E2ETarget = async (req) => answerFromResponse(await exports.default.fetch(toRequest(req)));
const signed: E2ETarget = async (req) =>
  answerFromResponse(await signedWorker.fetch(toRequest(req), signedEnv, createExecutionContext()));

defineE2ESuite({
  runtime: "workerd",
  targets: () => ({ plain, signed }),
  files: decodeFiles(inject("e2eFiles")),
  caseOptions: { signingTime: signing.time },
  reference: decodeAnswers(inject("nodeAnswers")),
});
