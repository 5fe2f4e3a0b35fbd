/**
 * Preloaded (`node --import`) into a server the benchmark starts with an IPC channel: the server
 * exits as soon as the channel closes (the runner went: Ctrl-C, a kill, a crash), so no orphan
 * keeps serving.
 */
if (process.send) process.on("disconnect", () => process.exit(0));
