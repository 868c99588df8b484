// Slugs: lowercase ASCII words joined by '-', Latin accents folded.

// StarlingMonkey, the engine componentize-js embeds, has no
// String.prototype.normalize, so accents are folded by table.
const FOLD = {
  a: "àáâãäåā", c: "çćč", e: "èéêëēėę", i: "ìíîïī", n: "ñń", o: "òóôõöøō",
  s: "śšß", u: "ùúûüū", y: "ýÿ", z: "źżž",
};
const FOLDED = new Map(
  Object.entries(FOLD).flatMap(([plain, marked]) => [...marked].map((c) => [c, plain])),
);

/** `text` as a slug of at most `max` characters, cut at a word. */
export function slugify(text, max) {
  const words = [...text.toLowerCase()]
    .map((c) => FOLDED.get(c) ?? c)
    .join("")
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  let slug = "";
  for (const word of words) {
    const next = slug ? `${slug}-${word}` : word;
    if (next.length > max) break;
    slug = next;
  }
  return slug || (words[0] ?? "").slice(0, max);
}
