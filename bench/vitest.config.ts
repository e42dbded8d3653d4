import { defineConfig } from "vitest/config";

// Side-by-side benchmarks of skiff and containerd: `npm run bench` (root).
// Not part of the test suite: they take minutes and report ratios.
export default defineConfig({
  test: {
    include: ["bench/**/*.bench.ts"],
    fileParallelism: false,
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
    globalSetup: ["./test/e2e/global-setup.ts"],
  },
});
