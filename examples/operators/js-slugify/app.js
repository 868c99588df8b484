// js-slugify: adds a URL slug made from one text field of its input.

import { InvalidConfig, InvalidInput, config, log } from "./symphony.js";
import { slugify } from "./slug.js";

export default class Slugify {
  constructor() {
    // Kept across calls and across a hot reload (snapshot/restore).
    this.calls = 0;
  }

  validateInput(input) {
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
      throw new InvalidInput(`expected a JSON object, got ${JSON.stringify(input)}`);
    }
  }

  process(input) {
    // A workflow calls validateInput first; a direct call may not.
    this.validateInput(input);
    const field = config("field", "text");
    const max = config("max_length", 48);
    if (!Number.isInteger(max) || max < 1) {
      throw new InvalidConfig(`max_length must be a whole number of at least 1, got ${max}`);
    }
    const text = input[field];
    if (typeof text !== "string") {
      throw new InvalidInput(`expected a text in "${field}", got ${JSON.stringify(text)}`);
    }
    this.calls += 1;
    const slug = slugify(text, max);
    log.debug(`slug ${slug} (call ${this.calls})`);
    return { ...input, slug, slug_calls: this.calls };
  }

  snapshot() {
    return String(this.calls);
  }

  restore(state) {
    this.calls = Number(new TextDecoder().decode(state));
  }
}
