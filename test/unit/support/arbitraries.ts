import fc from "fast-check";

/** Any UTF-16 text, lone surrogates included (fast-check's "binary" unit is slow here). */
export const anyUtf16 = (maxLength: number) =>
  fc
    .array(
      fc.oneof(
        fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
        fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
      ),
      { maxLength },
    )
    .map((a) => a.join(""));
