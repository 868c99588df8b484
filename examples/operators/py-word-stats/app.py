"""py-word-stats: counts the words of one text field and names the most
frequent ones, passing the rest of its input through."""

import re
from collections import Counter

import symphony_ext as symphony

# Words too common to say anything about a text.
STOP_WORDS = set(
    "a an and are as at be by for from has have in is it its of on or so that the "
    "this to was were will with".split()
)


@symphony.operator
class WordStats:
    def __init__(self):
        # Kept across calls and across a hot reload (snapshot/restore).
        self.calls = 0

    def validate_input(self, input):
        if not isinstance(input, dict):
            raise symphony.InvalidInput(
                f"expected a JSON object, got {type(input).__name__}"
            )

    def process(self, input):
        # A workflow calls validate_input first; a direct call may not.
        self.validate_input(input)
        field = symphony.config("field", "text")
        top = symphony.config("top", 3)
        if not isinstance(top, int) or top < 0:
            raise symphony.InvalidConfig(f"top must be a whole number, got {top!r}")
        text = input.get(field)
        if not isinstance(text, str):
            raise symphony.InvalidInput(f'expected a text in "{field}", got {text!r}')
        self.calls += 1
        words = [w for w in re.findall(r"[a-z0-9']+", text.lower())]
        counts = Counter(w for w in words if w not in STOP_WORDS)
        symphony.log.debug(f"{len(words)} words, call {self.calls}")
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return {
            **input,
            "stats": {
                "words": len(words),
                "distinct": len(set(words)),
                "top": [word for word, _ in ranked[:top]],
                "calls": self.calls,
            },
        }

    def snapshot(self):
        return str(self.calls).encode()

    def restore(self, state):
        self.calls = int(state.decode())
