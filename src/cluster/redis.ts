import { readFileSync } from "node:fs";
import { Redis, type RedisOptions } from "ioredis";
import type { Config } from "../config/config.ts";

/** Connection options shared by every Redis client of the node (commands, BullMQ, pub/sub). */
export function redisOptions(cfg: Config["redis"]): RedisOptions {
  const url = new URL(cfg.url);
  const opts: RedisOptions = {
    host: url.hostname,
    port: Number(url.port || 6379),
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    // BullMQ workers block on Redis; they must not give up on a slow or restarting server.
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  };
  const username = cfg.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const password = cfg.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  if (username) opts.username = username;
  if (password) opts.password = password;
  if (cfg.tls) opts.tls = cfg.tlsCaFile ? { ca: [readFileSync(cfg.tlsCaFile)] } : {};
  return opts;
}

export function connectRedis(cfg: Config["redis"], name: string): Redis {
  return new Redis({ ...redisOptions(cfg), connectionName: name });
}
