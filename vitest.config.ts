import { defineConfig } from "vitest/config";

// Two projects: pure-logic unit tests (no servers, most of the suite) and
// integration tests that talk to the real local stack started by deploy/local/up.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          // Integration files share one Prosody, Redis and Cassandra: run them one at a time.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
