// The skiff side of a benchmark: a daemon as an operator would run it, on its
// default runtime handler (crun where it can run, else runc), unless
// BENCH_SKIFF_HANDLER names one (e.g. runc, to compare runtimes like for like).

import { TestDaemon } from "../../test/e2e/harness/daemon.js";

export async function startSkiff(): Promise<{ d: TestDaemon; handler: string }> {
  // undefined removes the test harness's pinned handler, leaving skiff's own default.
  const d = await TestDaemon.start({ config: { log_level: "warn", runtime: { default_handler: process.env.BENCH_SKIFF_HANDLER } } });
  const info = JSON.parse((await d.client.runtime.Status({ verbose: true })).info.runtimeHandlers!) as { default: string };
  return { d, handler: info.default };
}
