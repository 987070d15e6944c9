// @xmpp/component-core ships no type declarations; this is the part of its API the node uses.
declare module "@xmpp/component-core" {
  import type { EventEmitter } from "node:events";
  import type { Element } from "@xmpp/xml";

  export interface Component extends EventEmitter {
    status: string;
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(el: Element): Promise<void>;
    write(data: string): Promise<void>;
    /** Replaced by the node to decode TCP chunks with a StringDecoder. */
    _onData(data: Buffer): void;
    parser: { write(str: string): void } | null;
    authenticate(id: string, password: string): Promise<void>;
  }

  export const Component: new (options: { service: string; domain: string }) => Component;
}
