import { connectClient, type TestClient } from "./client.ts";
import { createAccount, type Account } from "./stack.ts";

export interface User {
  acc: Account;
  c: TestClient;
}

/** Fresh accounts with a connected client each, all stopped together when the file is done. */
export interface UserPool {
  user(prefix: string, domain?: string, resource?: string): Promise<User>;
  /** A client connected some other way, stopped with the rest. */
  track(c: TestClient): TestClient;
  stopAll(): Promise<void>;
}

export function userPool(): UserPool {
  const open: TestClient[] = [];
  return {
    async user(prefix, domain, resource) {
      const acc = createAccount(prefix, domain);
      const c = await connectClient(acc, resource);
      open.push(c);
      return { acc, c };
    },
    track(c) {
      open.push(c);
      return c;
    },
    async stopAll() {
      for (const c of open.splice(0)) await c.stop();
    },
  };
}
