import { pino, type Logger } from "pino";

export type { Logger };

// JSON lines on stdout (what log collectors on Kubernetes expect). Secret-bearing
// keys are redacted even if a caller logs a whole config or error object.
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ["secret", "password", "*.secret", "*.password", "*.*.secret", "*.*.password"],
      censor: "***",
    },
  });
}
