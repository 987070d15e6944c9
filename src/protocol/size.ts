// Byte sizes of rendered XML, to cut pages before a stanza outgrows the server's limit (D8).
import type { Element } from "@xmpp/xml";

/** UTF-8 length of the serialized element (or already serialized string). */
export function byteLength(node: Element | string): number {
  return Buffer.byteLength(typeof node === "string" ? node : node.toString(), "utf8");
}

/**
 * How many leading `items` fit in `budgetBytes` when each is rendered by `render`.
 * The caller subtracts its envelope (iq, wrapper, `<set/>`) from the budget. May return 0
 * when the first item alone is larger than the budget; the caller decides what to do then.
 */
export function fitToBudget<T>(items: readonly T[], render: (item: T) => Element, budgetBytes: number): number {
  let used = 0;
  let n = 0;
  for (const item of items) {
    used += byteLength(render(item));
    if (used > budgetBytes) break;
    n++;
  }
  return n;
}
