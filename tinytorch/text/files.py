"""Reading tokenizer JSON files, and the one error every bad file gives.

A tokenizer file comes from disk, so it may be anything: not JSON, not UTF-8, a JSON list, another program's file, a
hand edit with a broken regex or a merge that names a token that does not exist yet. Each of these is reported as one
`TokenizerFileError` naming the file and what is wrong with it, rather than as a traceback from deep inside the
tokenizer. `TokenizerFileError` is a `ValueError`, so callers that already catch `ValueError` keep working.

This module only reads the file and checks the fields every tokenizer file shares (`format`, `version`); each
tokenizer class checks its own fields in `from_dict`, raising `ValueError`, which `load` re-raises with the path.
"""

from __future__ import annotations

import json
from pathlib import Path


class TokenizerFileError(ValueError):
    """A tokenizer file that cannot be used; the message names the file and the problem."""


def read_document(path: str | Path) -> dict:
    """The JSON object stored in `path`. A missing or unreadable file raises `OSError`, as `open` does; a file that
    is not UTF-8 JSON holding an object raises `TokenizerFileError`."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise TokenizerFileError(f"{path}: not UTF-8 text (byte {err.start}); expected a tokenizer JSON file") from None
    except json.JSONDecodeError as err:
        raise TokenizerFileError(f"{path}: not valid JSON ({err}); expected a tokenizer JSON file") from None
    except RecursionError:
        raise TokenizerFileError(f"{path}: JSON nested too deeply to read; expected a tokenizer JSON file") from None
    if not isinstance(document, dict):
        raise TokenizerFileError(f"{path}: holds {json_type(document)}, expected a JSON object")
    return document


JSON_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}


def json_type(value: object) -> str:
    """What `value`, read from JSON, is called in JSON: 'a JSON array' for a list, and so on."""
    return f"a JSON {'null' if value is None else JSON_NAMES.get(type(value), type(value).__name__)}"


def check_format(document: dict, format_name: str, version: int) -> None:
    """Raise `ValueError` unless `document` says it is `format_name` at `version`."""
    if "format" not in document:
        raise ValueError(f'not a {format_name} v{version} document: it has no "format" field')
    if document["format"] != format_name or document.get("version") != version:
        raise ValueError(
            f"not a {format_name} v{version} document: format={document['format']!r}, "
            f"version={document.get('version')!r}"
        )


def require_fields(document: dict, types: dict[str, type]) -> None:
    """Raise `ValueError` unless each field of `types` is present in `document` with that type (`str` or `list`)."""
    for field, expected in types.items():
        if field not in document:
            raise ValueError(f'the "{field}" field is missing')
        if not isinstance(document[field], expected):
            raise ValueError(f'"{field}" is {json_type(document[field])}, expected a JSON {JSON_NAMES[expected]}')
