"""The unseen-words set: the generator's kinds of function, asked for only in words training never sees.

    tinygpt exercises --unseen 300 --seed 0 --out tinygpt/tasks/unseen.jsonl.gz
    tinygpt eval-suite --suite tinygpt/tasks/unseen.jsonl.gz

Each task is drawn like a training exercise but from the unseen share of the generator's language (`wording.py`):
held-out sentence frames, synonyms and parameter names. Its styles come in equal shares: the three every evaluation
set is written in (a one-line docstring, a `# comment`, `>>>` examples), and the two held-out docstring conventions
(numpy's sections, a comment inside the body); the task id says which, `unseen/<style>/<n>`, so a report can split
"new words" from "new words in a new convention". Classes are left out: the sandbox judges plain values only, and a
class's tests call its methods on an instance.

The tasks are in HumanEval's format (task_id, prompt, canonical_solution, test, entry_point; plus request, skill and
style), every reference passes its tests and a trivial body does not (as for training exercises), and no two share
a prompt or a shape. Training never holds one of their sentences: `tinygpt exercises` drops any draw that asks one.
The set is committed and fixed; rebuilding it (same seed, same vocabulary) gives the same file, byte for byte.
"""

from __future__ import annotations

import json
import random
from collections import Counter

from tinygpt.data.exercises.build import ExerciseError, draw_exercise, normalized, shape
from tinygpt.data.exercises.loops import number_loop, recursive_list, small_class, two_number_loop
from tinygpt.data.exercises.render import FAMILIAR_STYLES, UNSEEN_STYLES
from tinygpt.data.exercises.skills import (
    collection_op,
    list_pipeline,
    number_predicate,
    number_sentence,
    string_chars,
    string_op,
)
from tinygpt.data.exercises.wording import Wording

__all__ = ["UNSEEN_STYLE_ORDER", "build_unseen", "task_lines"]

UNSEEN_STYLE_ORDER = FAMILIAR_STYLES + UNSEEN_STYLES
# The skills the set was drawn from, frozen: new skills join build.SKILLS (training) without changing this set. The
# set stays fixed as long as the unseen path draws the same numbers: add seen choices freely, but no new entries to
# the tables these skills pick from (a test rebuilds the set and compares it byte for byte).
UNSEEN_SKILLS = [(list_pipeline, 0.24), (number_sentence, 0.11), (number_predicate, 0.11), (string_chars, 0.09),
                 (string_op, 0.11), (collection_op, 0.11), (number_loop, 0.09), (two_number_loop, 0.05),
                 (recursive_list, 0.04), (small_class, 0.05)]
MAX_DRAWS_PER_TASK = 500


def build_unseen(count: int, rng: random.Random, forbidden: set[str]) -> list[dict]:
    """`count` tasks in HumanEval's format, styles in turn (`UNSEEN_STYLE_ORDER`), no class, no repeated prompt or
    shape. Raises ExerciseError if the unseen vocabulary cannot give that many."""
    words = Wording("unseen")
    tasks: list[dict] = []
    prompts, shapes, per_style = set(), set(), Counter()
    draws = 0
    while len(tasks) < count:
        style = UNSEEN_STYLE_ORDER[len(tasks) % len(UNSEEN_STYLE_ORDER)]
        draws += 1
        if draws > MAX_DRAWS_PER_TASK * (count + 10):
            raise ExerciseError(f"the unseen vocabulary gave only {len(tasks)} distinct tasks, not {count}")
        exercise, _ = draw_exercise(rng, forbidden, words, (style,), UNSEEN_SKILLS)
        if exercise is None or exercise["skill"] == "class" or exercise["style"] != style:
            continue
        text = exercise["prompt"] + exercise["completion"]
        if normalized(exercise["prompt"]) in prompts or shape(text) in shapes:
            continue
        prompts.add(normalized(exercise["prompt"]))
        shapes.add(shape(text))
        tasks.append({"task_id": f"unseen/{style}/{per_style[style]}", "prompt": exercise["prompt"],
                      "canonical_solution": exercise["completion"], "test": exercise["tests"],
                      "entry_point": exercise["name"], "request": exercise["request"], "skill": exercise["skill"],
                      "style": style})
        per_style[style] += 1
    return tasks


def task_lines(tasks: list[dict]) -> str:
    return "".join(json.dumps(task, sort_keys=True) + "\n" for task in tasks)
