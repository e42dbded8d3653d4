import { defineConfig } from "vitest/config";

// Two projects: fast pure-logic unit tests, and end-to-end tests that drive a real
// daemon as root. Files run one at a time: e2e files start daemons, registries and
// real runtimes, and these machines have two cores.
export default defineConfig({
  test: {
    fileParallelism: false,
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
          testTimeout: 60_000,
          hookTimeout: 60_000,
          globalSetup: ["./test/e2e/global-setup.ts"],
        },
      },
    ],
  },
});
