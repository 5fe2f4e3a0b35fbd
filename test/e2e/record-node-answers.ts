/**
 * globalSetup of the `workers` vitest project (runs in Node before the workerd tests): starts the
 * real Node server, sends it every shared end-to-end case and hands its answers, with the input
 * files, to the tests inside workerd through `provide` (test/e2e/files.ts). The workerd tests then
 * require the Worker's answers to be identical.
 */
import type { TestProject } from "vitest/node";
import { e2eCases } from "./cases.ts";
import { encodeAnswers, encodeFiles } from "./files.ts";
import type { E2EAnswer } from "./http.ts";
import { httpTarget, readE2EFiles, startE2EServer } from "./node.ts";

export default async function recordNodeAnswers(project: TestProject): Promise<void> {
  const files = readE2EFiles();
  const server = await startE2EServer();
  try {
    const target = httpTarget(server.url);
    const answers: Record<string, E2EAnswer[]> = {};
    for (const c of e2eCases(files)) {
      const list: E2EAnswer[] = [];
      for (const request of c.requests) list.push(await target(request));
      answers[c.id] = list;
    }
    project.provide("e2eFiles", encodeFiles(files));
    project.provide("nodeAnswers", encodeAnswers(answers));
  } finally {
    await server.close();
  }
}
