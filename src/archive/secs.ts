// Message times inside a collection: `secs` (cumulative whole seconds) and `utc` (D5, §2.4).
// The spec's rule is that the sum of a message's `secs` and the `secs` of the messages before
// it gives its time. Elements carrying `utc` have no `secs`, so they add nothing to that sum;
// both directions (output and upload) follow this literal reading.
import type { ArchivedItem, TimedItem } from "./model.ts";

/** Offset from start rounded to whole seconds, half up, so running sums track absolute time. */
function roundedOffset(at: number, start: number): number {
  return Math.floor((at - start + 500) / 1000);
}

/**
 * Times one page of items (D5): the first element of every page counts from the collection's
 * `start`, each later one from the element before it. `secs_i = round(t_i − start) − sum`, where
 * `sum` is the total emitted so far, so sums stay within half a second of the real time
 * (0.51 s intervals give 0,1,0,1,…). `utc` replaces `secs` for a message before `start`, for a
 * message earlier than the running sum (a negative `secs` is not allowed), and always for notes
 * (the schema gives `<note/>` only `utc`).
 */
export function timeItems(collectionStart: number, items: readonly ArchivedItem[]): TimedItem[] {
  let sum = 0;
  return items.map((item) => {
    if (item.kind === "note" || item.at < collectionStart) return { ...item, utc: item.at };
    const offset = roundedOffset(item.at, collectionStart);
    if (offset < sum) return { ...item, utc: item.at };
    const secs = offset - sum;
    sum = offset;
    return { ...item, secs };
  });
}

/**
 * Absolute times (epoch ms) of uploaded `<to/>`/`<from/>`/`<note/>` elements. `secs` adds to the
 * running sum from `start`; `utc` gives the element's time without moving the sum (if both are
 * present, `utc` is the time and `secs` still counts, as the sum is over `secs` attributes); an
 * element with neither is at the running sum.
 */
export function absoluteTimes(start: number, uploaded: readonly { secs?: number; utc?: number }[]): number[] {
  let sum = 0;
  return uploaded.map((u) => {
    if (u.secs !== undefined) sum += u.secs;
    return u.utc ?? start + sum * 1000;
  });
}
