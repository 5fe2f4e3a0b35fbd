/**
 * The shared end-to-end suite inside workerd, against the Worker's own fetch handler
 * (src/worker.ts, bundled settings, `MAILCONF_PUBLIC_URL` from vitest.config.ts). Every answer
 * must pass the suite's checks and equal the Node server's answer byte for byte (recorded by
 * test/e2e/record-node-answers.ts).
 */
import { exports } from "cloudflare:workers";
import { inject } from "vitest";
import { DEFAULT_HOST } from "../e2e/cases.ts";
import { decodeAnswers, decodeFiles } from "../e2e/files.ts";
import { answerFromResponse, type E2ETarget } from "../e2e/http.ts";
import { defineE2ESuite } from "../e2e/suite.ts";

/** A request to the Worker as the edge would deliver it: URL from the Host header, same headers and body. */
const worker: E2ETarget = async (req) => {
  const host = req.headers.Host ?? DEFAULT_HOST;
  const res = await exports.default.fetch(
    new Request(`http://${host}${req.path}`, { method: req.method, headers: req.headers, body: req.body }),
  );
  return answerFromResponse(res);
};

defineE2ESuite({
  runtime: "workerd",
  target: () => worker,
  files: decodeFiles(inject("e2eFiles")),
  reference: decodeAnswers(inject("nodeAnswers")),
});
