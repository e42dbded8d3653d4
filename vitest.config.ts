import { defineConfig } from "vitest/config";

// Two projects: fast pure-logic unit tests, and end-to-end tests that drive a real
// daemon as root. e2e files run one at a time: each starts daemons, registries and
// real runtimes, and this machine has two cores.
export default defineConfig({
  test: {
    reporters: ["default", "./test/summary-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          globalSetup: ["./test/e2e/global-setup.ts"],
        },
      },
    ],
  },
});
