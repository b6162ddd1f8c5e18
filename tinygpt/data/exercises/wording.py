"""The generator's language, split in two: the words training may use, and the words only the unseen-words set uses.

A model that recalls the sentences it was trained on scores well on any test written in those sentences. To see
whether it understands a request rather than recognises it, part of the generator's language is held out: every
place where the generator chooses how to say something offers `Choices`, a `seen` share (training) and an `unseen`
share (only `tinygpt exercises --unseen`, the fixed evaluation set in `tinygpt/tasks/unseen.jsonl.gz`):

- sentence frames: "Return the sum of ..." (seen) against "Work out the sum of ..." (unseen); the wider frames of
  `frames.py` (the inputs named with their kinds, questions, claims, two sentences) likewise;
- verbs and synonyms of each operation: "a times b", "a multiplied by b" (seen) against "a and b multiplied
  together" (unseen);
- parameter-name families: `nums`, `lst`, `arr` (seen) against `seq`, `series` (unseen);
- docstring conventions: a one-line docstring, a `# comment`, `>>>` examples and Google's `Args:` (seen) against
  numpy's `Parameters` sections and a comment inside the body (unseen).

The common ways of saying a thing are seen (people use them, and the model must learn them); the unseen share holds
plausible, rarer ones. The functions themselves (the skills, their bodies and tests)
are shared: the unseen set asks for the same kinds of function in words training never used, so its gap to the
project's suite measures recall of sentences.

`Wording("seen")` picks only seen choices, `Wording("unseen")` only unseen ones. Nothing else chooses words: a skill
asks its `Wording` for every phrase, so no unseen phrase can reach training by a path that forgets the split
(`held_out_fragments` lists the unseen choices' fixed words; a test checks training requests never hold them).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

__all__ = ["SPLITS", "Choices", "Wording", "fits", "held_out_fragments"]

SPLITS = ("seen", "unseen")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
REGISTRY: list[Choices] = []  # every Choices made, in definition order: the whole vocabulary, for held_out_fragments


@dataclass(frozen=True)
class Choices:
    """Ways to say one thing: `seen` ones for training, `unseen` ones held out for the unseen-words set."""

    seen: tuple
    unseen: tuple

    def __post_init__(self):
        if not self.seen or not self.unseen:
            raise ValueError(f"both shares need at least one choice: {self}")
        REGISTRY.append(self)


def choices(seen, unseen) -> Choices:
    return Choices(tuple(seen), tuple(unseen))


VALUE_FRAMES = choices(["Return {what}.", "Compute and return {what}.", "Find and return {what}.",
                        "Calculate and return {what}.", "Give back {what}.", "Write a function that returns {what}.",
                        "Get {what}.", "Returns {what}.", "Compute {what}.", "Calculate {what}.",
                        "Implement a function that returns {what}.", "Create a function that returns {what}.",
                        "The function should return {what}.", "This function returns {what}.",
                        "Write a function to compute {what}.", "Can you write a function that returns {what}?"],
                       ["Determine {what}.", "Work out {what}.", "Hand back {what}."])


def fits(frame: str, what: str) -> bool:
    """Whether a value frame reads well around `what`: "Compute ..." and "Calculate ..." only around a definite value
    ("the sum of ...", "how many ..."), not around "a list of ..." or "s reversed"."""
    return not ("ompute" in frame or "alculate" in frame) or what.startswith(("the ", "how "))


class Wording:
    """Picks words from one share of the language: "seen" (training) or "unseen" (the evaluation set only)."""

    def __init__(self, split: str = "seen"):
        if split not in SPLITS:
            raise ValueError(f"a wording is 'seen' or 'unseen', got {split!r}")
        self.split = split

    @property
    def unseen(self) -> bool:
        return self.split == "unseen"

    def options(self, what: Choices) -> tuple:
        return what.unseen if self.unseen else what.seen

    def pick(self, rng: random.Random, what: Choices):
        options = self.options(what)
        return options[rng.randrange(len(options))]

    def value_request(self, rng: random.Random, what: str) -> str:
        """A request for a value ("the sum of a and b") in a sentence frame: "Return ..." half the time in training,
        a seen frame that fits the value otherwise (`fits`); an unseen frame in the unseen share."""
        if self.unseen:
            return self.pick(rng, VALUE_FRAMES).format(what=what)
        frames = [frame for frame in VALUE_FRAMES.seen if fits(frame, what)]
        frame = frames[rng.randrange(len(frames))] if rng.random() < 0.5 else VALUE_FRAMES.seen[0]
        return frame.format(what=what)

    def __repr__(self) -> str:
        return f"Wording({self.split!r})"


def held_out_fragments(min_words: int = 2, vocabulary: list[Choices] | None = None) -> set[str]:
    """The fixed words of every unseen choice that no seen choice also holds: each stretch between placeholders of
    at least `min_words` words, lower case. Training requests must contain none of them. `vocabulary`: the choices
    to look at (all that were made, unless told)."""
    vocabulary = REGISTRY if vocabulary is None else vocabulary
    def stretches(text) -> list[str]:
        if not isinstance(text, str):
            return []
        return [" ".join(part.lower().split()) for part in PLACEHOLDER.split(text)]

    seen_text = " | ".join(s for what in vocabulary for option in what.seen for s in stretches(option))
    fragments = set()
    for what in vocabulary:
        for option in what.unseen:
            for stretch in stretches(option):
                words = re.findall(r"[a-z]+", stretch)
                if len(words) >= min_words and " ".join(words) not in " ".join(re.findall(r"[a-z]+", seen_text)):
                    fragments.add(" ".join(words))
    return fragments
