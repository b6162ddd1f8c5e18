"""The exercise generator's language: sentence frames, type hints, the tables of operations and chains the newer
skills draw from, and the discipline that keeps the unseen-words set's words out of training."""

import gzip
import itertools
import json
import random
import re

import pytest

from tinygpt.data.exercises import build, frames, loops, render, skills, unseen, wording
from tinygpt.data.exercises.compose import chain
from tinygpt.data.exercises.lists import LIST_OPS
from tinygpt.data.exercises.mappings import MAPPING_OPS
from tinygpt.data.exercises.number_ops import NUMBER_OPS
from tinygpt.data.exercises.strings import STRING_OPS
from tinygpt.data.exercises.tables import ROLES
from tinygpt.data.exercises.two_lists import TWO_LIST_OPS
from tinygpt.data.exercises.word_ops import WORD_OPS
from tinygpt.data.exercises.wording import Choices, Wording, held_out_fragments
from tinygpt.tasks import UNSEEN_PATH

TABLES = {"lists": LIST_OPS, "two_lists": TWO_LIST_OPS, "strings": STRING_OPS, "words": WORD_OPS,
          "numbers": NUMBER_OPS, "mappings": MAPPING_OPS}
FROZEN_FRAGMENTS = 145  # the unseen-words set's held-out stretches (2026-12-06); new seen words must not lower it


@pytest.fixture(scope="module")
def training_draws() -> list[dict]:
    rng, found = random.Random(5), []
    while len(found) < 3000:
        exercise, _ = build.draw_exercise(rng, set())
        found += [exercise] if exercise else []
    return found


def frame_pattern(frame: str) -> re.Pattern:
    """A frame as a regular expression: each placeholder any text, a question one that asks."""
    parts = re.split(r"(\{\w+\})", frame)
    pattern = "".join(r"(Is|Are|Does|Do) .+\?" if part == "{question}" else ".+" if part.startswith("{")
                      else re.escape(part) for part in parts)
    return re.compile(pattern + "$")


# ---- frames ------------------------------------------------------------------------------------------------------

def test_there_are_eight_or_more_seen_frames_for_values_and_for_claims():
    value_frames = (wording.VALUE_FRAMES.seen + frames.VALUE_GIVEN_FRAMES.seen + frames.VALUE_QUESTIONS.seen)
    claim_frames = frames.CLAIM_FRAMES.seen + frames.CLAIM_GIVEN_FRAMES.seen + frames.CLAIM_QUESTIONS.seen
    assert len(value_frames) >= 8 and len(claim_frames) >= 8
    kinds = {"imperative": "Return {what}.", "function": "Write a function that returns {what}.",
             "kinds named": "Given {inputs}, return {what}.", "question": "What is {what}?",
             "described": "Takes {inputs} and returns {what}.", "third person": "Returns {what}.",
             "two sentences": "You are given {inputs}. Return {what}."}
    assert set(kinds.values()) <= set(value_frames)


def test_every_seen_frame_is_produced_in_3000_training_draws(training_draws):
    requests = [exercise["request"] for exercise in training_draws]
    every = (wording.VALUE_FRAMES.seen + frames.VALUE_GIVEN_FRAMES.seen + frames.VALUE_QUESTIONS.seen
             + frames.CLAIM_FRAMES.seen + frames.CLAIM_GIVEN_FRAMES.seen + frames.CLAIM_QUESTIONS.seen)
    for frame in every:
        pattern = frame_pattern(frame)
        assert any(pattern.match(request) for request in requests), frame


def test_questions_and_named_inputs_read_right():
    assert frames.question(("n", "is", "even")) == "Is n even?"
    assert frames.question(("s", "contains", "a digit")) == "Does s contain a digit?"
    assert frames.question(("xs and ys", "have", "no value in common")) == "Do xs and ys have no value in common?"
    assert frames.question(("s", "matches", "t")) == "Does s match t?"
    words, rng = Wording("seen"), random.Random(0)
    two = frames.inputs(["a", "b"], ["int", "int"], rng, words)
    assert re.fullmatch(r"two (integers|whole numbers|ints) a and b", two)
    for _ in range(20):
        given = frames.inputs(["strings", "k"], ["list of str", "int"], rng, words)
        assert "strings strings" not in given and given.endswith(" k")
    assert frames.inputs(["x"], ["list of set"], rng, words) == ""  # a kind without a name: no frame names it


def test_a_question_frame_only_asks_for_one_definite_value():
    draft = skills.Draft("t", "f", ["xs"], "", [], lambda rng: ([],), what="a list of the squares of xs")
    assert frames.frame_families(draft, "a list of integers xs", Wording("seen"))[2][0] == 0  # no "What is a list"
    draft.what = "the sum of xs"
    assert frames.frame_families(draft, "a list of integers xs", Wording("seen"))[2][0] > 0


# ---- type hints --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("values, expected", [
    ([1, 2], "int"), ([[1, 2], []], "list[int]"), ([[]], "list"), ([{"a": 1}, {}], "dict[str, int]"),
    ([(1, 2)], "tuple[int, int]"), ([3, None], "int | None"), ([1, 2.5], "float"),
    ([[1, [2]]], "list[int | list[int]]"), ([["a"], [1]], "list"), ([None], "None"), ([1, "a", [1]], ""),
])
def test_hints_are_read_off_the_values(values, expected):
    assert render.merged_hint([render.hint_of(value) for value in values]) == expected


def test_a_share_of_training_prompts_carry_type_hints_and_they_compile(training_draws):
    hinted = [e for e in training_draws if re.search(r"^def .*\) -> .*:$", e["prompt"], re.MULTILINE)]
    assert 0.15 < len(hinted) / len(training_draws) < 0.45
    assert any("list[int]" in e["prompt"] for e in hinted) and any("-> bool:" in e["prompt"] for e in hinted)
    for exercise in hinted[:300]:
        exec(compile(exercise["prompt"] + exercise["completion"] + exercise["tests"], exercise["name"], "exec"), {})


def test_the_unseen_path_never_hints_or_reframes():
    rng = random.Random(0)
    for _ in range(300):
        exercise, _ = build.draw_exercise(rng, set(), Wording("unseen"), render.UNSEEN_STYLES, unseen.UNSEEN_SKILLS)
        assert exercise is None or ") -> " not in exercise["prompt"]


# ---- the new vocabulary ------------------------------------------------------------------------------------------

def name_families(op) -> list[list[str]]:
    """Each name family of each role once (the longest role's families, the others cycled)."""
    families = [ROLES[role].seen + ROLES[role].unseen for role in op.roles]
    rows = []
    for row in itertools.islice(zip(*(itertools.cycle(f) for f in families)), max(map(len, families))):
        names = [name for option in row for name in (option if isinstance(option, tuple) else (option,))]
        rows += [names] if len(set(names)) == len(names) else []
    return rows


@pytest.mark.parametrize("table", TABLES, ids=str)
def test_every_op_agrees_with_itself_under_every_name_family(table):
    rng = random.Random(0)
    for op in TABLES[table]:
        assert len(op.bodies) >= 2, op.names[0]
        for names in name_families(op):
            bodies = [body.format(*names, name=op.names[0]) for body in op.bodies]
            draft = skills.Draft("t", op.names[0], names, "", bodies, op.draw, list(op.edge))
            assert build.test_lines(draft, list(op.edge) + [op.draw(rng) for _ in range(6)])[1], (op.names[0], names)


def test_chains_say_change_then_keep_only_in_steps_and_have_three_body_styles():
    rng = random.Random(0)
    for split in ("seen", "unseen"):
        for _ in range(400):
            draft = chain(rng, Wording(split))
            assert len(draft.bodies) == 3
            if any("        y = " in body for body in draft.bodies):  # the map runs before the filter
                assert len(re.findall(r"[.?!](\s|$)", draft.summary)) >= 2, draft.summary
                assert not draft.what


def test_a_function_that_can_return_none_says_so(training_draws):
    for exercise in training_draws:
        if exercise["skill"] != "class" and re.search(r"(==|is) None$", exercise["tests"], re.MULTILINE):
            assert "None" in exercise["request"], exercise["request"]


def test_new_skills_train_only_and_the_unseen_sets_skills_lead_in_order():
    assert [skill for skill, _ in build.SKILLS[:len(unseen.UNSEEN_SKILLS)]] == [s for s, _ in unseen.UNSEEN_SKILLS]
    new = {skill for skill, _ in build.SKILLS} - {skill for skill, _ in unseen.UNSEEN_SKILLS}
    assert len(new) >= 8
    assert sum(weight for skill, weight in build.SKILLS if skill in new) > 0.5


# ---- the held-out words stay held out ----------------------------------------------------------------------------

def choices_in(module) -> list[Choices]:
    found: list[Choices] = []

    def walk(value):
        if isinstance(value, Choices):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    for name, value in vars(module).items():
        if name != "REGISTRY":
            walk(value)
    return found


def test_no_new_seen_phrase_swallows_an_unseen_stretch_of_the_unseen_sets_vocabulary():
    frozen = list({id(c): c for module in (skills, loops, render, wording) for c in choices_in(module)}.values())
    fragments = held_out_fragments(vocabulary=frozen)
    assert len(fragments) >= FROZEN_FRAGMENTS
    assert fragments <= held_out_fragments()  # no seen phrase anywhere holds them


def test_every_unseen_task_still_holds_a_held_out_fragment():
    fragments = held_out_fragments()
    for line in gzip.decompress(UNSEEN_PATH.read_bytes()).decode("utf-8").splitlines():
        request = json.loads(line)["request"]
        text = " " + " ".join(re.findall(r"[a-z]+", request.lower())) + " "
        assert any(f" {fragment} " in text for fragment in fragments), request
