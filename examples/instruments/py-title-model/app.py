"""py-title-model: a deterministic stand-in model that writes a title for
a text: its first sentence, cut to a few words, in title case."""

import re

import symphony_ext as symphony


@symphony.instrument
class TitleModel:
    def __init__(self):
        self.max_words = 6
        self.calls = 0

    def configure(self, config):
        words = config.get("max_words", self.max_words) if isinstance(config, dict) else None
        if not isinstance(words, int) or not 1 <= words <= 50:
            raise symphony.InvalidConfig(f"max_words must be 1 to 50, got {words!r}")
        self.max_words = words

    def invoke(self, input):
        text = input.get("text") if isinstance(input, dict) else input
        if not isinstance(text, str) or not text.strip():
            raise symphony.InvalidInput('expected {"text": "..."} or a non-empty string')
        self.calls += 1
        sentence = re.split(r"(?<=[.!?])\s+", text.strip())[0].rstrip(".!?")
        words = sentence.split()
        title = " ".join(w[:1].upper() + w[1:] for w in words[: self.max_words])
        if len(words) > self.max_words:
            title += " …"
        return {"model": "py-title-model", "title": title, "tokens": len(text.split())}

    def health_check(self):
        return symphony.Health("healthy", f"{self.calls} calls served")

    def snapshot(self):
        return f"{self.max_words},{self.calls}".encode()

    def restore(self, state):
        max_words, calls = state.decode().split(",")
        self.max_words, self.calls = int(max_words), int(calls)
