/**
 * globalSetup of the `workers` vitest project (runs in Node before the workerd tests): starts the
 * real Node servers (plain, and signing profiles with a throwaway RSA chain at a fixed time), sends
 * them every shared end-to-end case and hands their answers, with the input files and the signing
 * material, to the tests inside workerd through `provide` (test/e2e/files.ts). The workerd tests
 * then require the Worker's answers to be identical.
 */
import type { TestProject } from "vitest/node";
import { e2eCases } from "./cases.ts";
import { encodeAnswers, encodeFiles } from "./files.ts";
import { type E2EAnswer, send } from "./http.ts";
import { makeE2ESigning, readE2EFiles, startE2EServers } from "./node.ts";

export default async function recordNodeAnswers(project: TestProject): Promise<void> {
  const files = readE2EFiles();
  const { signing } = makeE2ESigning();
  const servers = await startE2EServers(signing);
  try {
    const answers: Record<string, E2EAnswer[]> = {};
    for (const c of e2eCases(files, { signingTime: signing.time })) {
      const list: E2EAnswer[] = [];
      for (const request of c.requests) list.push(await send(servers.targets, request));
      answers[c.id] = list;
    }
    project.provide("e2eFiles", encodeFiles(files));
    project.provide("e2eSigning", signing);
    project.provide("nodeAnswers", encodeAnswers(answers));
  } finally {
    await servers.close();
  }
}
