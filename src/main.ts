import { ConfigError, describeConfig, loadConfig } from "./config/config.ts";
import { createLogger } from "./log/logger.ts";
import { ArchiveNode } from "./node/archive-node.ts";

// Entry point: validated config, one node, clean shutdown on SIGTERM/SIGINT.
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, { node: config.nodeId });
  log.info({ config: describeConfig(config) }, "starting");
  const node = new ArchiveNode(config, log);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const hard = setTimeout(() => {
      log.error("shutdown took too long; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    hard.unref();
    node.stop().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: Error) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection"));
  await node.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
