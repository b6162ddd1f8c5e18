"""How an exercise's request is written above its function: the docstring conventions people use.

Seen in training (`STYLES`): a signature with a one-line docstring; a `# comment` above the signature; a docstring
with `>>>` examples; a Google-style docstring (`Args:` and `Returns:`). Held out for the unseen-words set
(`UNSEEN_STYLES`): a numpy-style docstring (`Parameters` and `Returns` sections under dashes) and the request as a
comment inside the body. The types the sections name are read off the values the tests pass and get back; so are
the type hints a share of training prompts carry (`def total(nums: list[int]) -> int:`).
"""

from __future__ import annotations

import random

from tinygpt.data.exercises.skills import Draft
from tinygpt.data.exercises.wording import choices

CONVENTIONS = choices(["docstring", "comment", "examples", "google"], ["numpy", "inner_comment"])
STYLES = CONVENTIONS.seen
UNSEEN_STYLES = CONVENTIONS.unseen
FAMILIAR_STYLES = ("docstring", "comment", "examples")  # the three every evaluation set is written in
DESCRIBED = {"int": "an integer", "float": "a number", "str": "a string", "bool": "True or False",
             "dict": "a dictionary", "list": "a list", "tuple": "a tuple", "set": "a set"}


def header(draft: Draft) -> str:
    if draft.setup == "class":
        return f"class {draft.name}:\n"
    return f"def {draft.name}({', '.join(draft.params)}):\n"


def typed_header(draft: Draft, cases: list[tuple], checks: list) -> str:
    """The signature with type hints read off the tests' arguments and results; '' when one has no hint."""
    if draft.setup == "class" or not draft.params:
        return ""
    hints = [merged_hint([hint_of(case[i]) for case in cases]) for i in range(len(draft.params))]
    result = merged_hint([hint_of(value) for _, _, value in checks])
    if not all(hints) or not result:
        return ""
    return f"def {draft.name}({', '.join(f'{name}: {hint}' for name, hint in zip(draft.params, hints))}) -> {result}:\n"


def hint_of(value) -> str:
    """"int", "list[int]", "dict[str, int]", "tuple[int, int]" for one value; '' for a kind with no hint here."""
    if value is None:
        return "None"
    if isinstance(value, (bool, int, float, str)):
        return type(value).__name__
    if isinstance(value, (list, set)):
        items = merged_hint([hint_of(item) for item in value])
        return f"{type(value).__name__}[{items}]" if items else type(value).__name__
    if isinstance(value, tuple):
        items = [hint_of(item) for item in value]
        return f"tuple[{', '.join(items)}]" if items and all(items) else "tuple"
    if isinstance(value, dict):
        keys, values = merged_hint([hint_of(k) for k in value]), merged_hint([hint_of(v) for v in value.values()])
        return f"dict[{keys}, {values}]" if keys and values else "dict"
    return ""


def merged_hint(hints: list[str]) -> str:
    """One hint for several values: "int", "int | None", "list[int]" (an empty list beside it says nothing);
    a container whose items differ between values is left bare; '' when there is none or more than two kinds."""
    kinds = list(dict.fromkeys(hints))
    if not kinds or "" in kinds:
        return ""
    kinds = [kind for kind in kinds if not any(other.startswith(kind + "[") for other in kinds)]
    if "int" in kinds and "float" in kinds:
        kinds.remove("int")
    bases = [kind.split("[")[0] for kind in kinds]
    kinds = list(dict.fromkeys(base if bases.count(base) > 1 else kind for kind, base in zip(kinds, bases)))
    plain = [kind for kind in kinds if kind != "None"]
    if not plain or len(plain) > 2:
        return "None" if kinds == ["None"] else ""
    return " | ".join(plain + ["None"] * ("None" in kinds))


def kind_of(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, list):
        items = {type(item).__name__ for item in value}
        return f"list of {items.pop()}" if len(items) == 1 else "list"
    return type(value).__name__


def type_name(values: list) -> str:
    """"int", "list of int", "str or None"... for the values one parameter (or the result) took in the tests."""
    kinds = list(dict.fromkeys(kind_of(value) for value in values))
    if any(kind.startswith("list of") for kind in kinds):  # an empty list says nothing about its items
        kinds = [kind for kind in kinds if kind != "list"]
    if "int" in kinds and "float" in kinds:
        kinds.remove("int")
    plain = [kind for kind in kinds if kind != "None"]
    return " or ".join(plain[:2] or ["None"]) + (" or None" if "None" in kinds and plain else "")


def describe(type_text: str) -> str:
    first = type_text.split(" ")[0]
    return DESCRIBED.get(first, f"a {first}") + (" of integers" if type_text.startswith("list of int") else "")


def sections(draft: Draft, cases: list[tuple], checks: list, google: bool) -> str:
    """The parameter and return sections of a Google- or numpy-style docstring, indented four spaces."""
    params = [type_name([case[i] for case in cases]) for i in range(len(draft.params))]
    result = type_name([value for _, _, value in checks])
    if google:
        lines = ["Args:"] + [f"    {name} ({kind}): {describe(kind)}." for name, kind in zip(draft.params, params)]
        lines += ["", "Returns:", f"    {result}: the result."]
    else:
        lines = ["Parameters", "----------"] + [f"{name} : {kind}" for name, kind in zip(draft.params, params)]
        lines += ["", "Returns", "-------", result]
    return "".join(f"    {line}\n" if line else "\n" for line in lines)


def comment(summary: str, rng: random.Random) -> str:
    """The request as a comment: lower case first word, sometimes without the full stop."""
    words = summary[0].lower() + summary[1:]
    return words.rstrip(".") if rng.random() < 0.6 else words


def examples(checks: list) -> list[str]:
    lines, previous = [], None
    for statements, expression, value in checks[:2]:
        if statements is not previous:
            lines += [f"    >>> {s}" for s in statements]
            previous = statements
        lines += [f"    >>> {expression}"] + ([f"    {value!r}"] if value is not None else [])
    return lines


def render_prompt(draft: Draft, style: str, cases: list[tuple], checks: list, rng: random.Random,
                  hinted: bool = False) -> tuple[str, str]:
    """(prompt, the style it was written in): a class, or a draft without checks, has no sections or examples to
    write and falls back to a one-line docstring. `hinted`: the signature carries type hints where the tests give
    them."""
    signature = (hinted and typed_header(draft, cases, checks)) or header(draft)
    if style in ("google", "numpy") and (draft.setup == "class" or not draft.params):
        style = "docstring"
    if style == "examples" and not checks:
        style = "docstring"
    if style == "comment":
        return f"# {comment(draft.summary, rng)}\n{signature}", style
    if style == "inner_comment":
        return f"{signature}    # {comment(draft.summary, rng)}\n", style
    if style == "docstring":
        return f'{signature}    """{draft.summary}"""\n', style
    if style == "examples":
        return f'{signature}    """{draft.summary}\n\n' + "\n".join(examples(checks)) + '\n    """\n', style
    if style == "google":
        return f'{signature}    """{draft.summary}\n\n{sections(draft, cases, checks, True)}    """\n', style
    return f'{signature}    """\n    {draft.summary}\n\n{sections(draft, cases, checks, False)}    """\n', style
