"""Reading tokenizer JSON files, and the one error every bad file gives.

A tokenizer file comes from disk, so it may be anything: not JSON, not UTF-8, a JSON list, another program's file, a
hand edit with a broken regex or a merge that names a token that does not exist yet. Each of these is reported as one
`TokenizerFileError` naming the file and what is wrong with it, rather than as a traceback from deep inside the
tokenizer. `TokenizerFileError` is a `ValueError`, so callers that already catch `ValueError` keep working.

This module reads the file and checks the fields every tokenizer file shares (`format`, `version`); `TokenizerFile`
gives each tokenizer class its `save`, `load` and `from_dict` from what the class declares (its format name and the
fields of its document, with their JSON types) and its `to_dict` / `from_fields`. A field that is missing or of the
wrong type is a `ValueError`, which `load` re-raises as a `TokenizerFileError` with the path.
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


class TokenizerFile:
    """Saving and loading as one JSON object, shared by the tokenizers. A subclass sets `FORMAT_NAME` and `FIELDS`
    (each field its document must hold, with its type: `str` or `list`), writes its document in `to_dict` (starting
    with `format_header()`), and builds itself from a checked document in `from_fields`."""

    FORMAT_NAME: str
    FORMAT_VERSION = 1
    FIELDS: dict[str, type]

    def to_dict(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_fields(cls, document: dict):
        raise NotImplementedError

    @classmethod
    def format_header(cls) -> dict:
        return {"format": cls.FORMAT_NAME, "version": cls.FORMAT_VERSION}

    @classmethod
    def from_dict(cls, document: dict):
        """The tokenizer `to_dict` describes; a `ValueError` names the first field that is missing or wrong."""
        if not isinstance(document, dict):
            raise ValueError(f"a tokenizer document is a JSON object, got a {type(document).__name__}")
        check_format(document, cls.FORMAT_NAME, cls.FORMAT_VERSION)
        require_fields(document, cls.FIELDS)
        return cls.from_fields(document)

    @classmethod
    def from_file_document(cls, path: str | Path, document: dict):
        """`from_dict` of the document read from `path`: any problem is one `TokenizerFileError` naming the file."""
        try:
            return cls.from_dict(document)
        except ValueError as err:
            raise TokenizerFileError(f"{path}: {err}") from None

    def save(self, path: str | Path) -> None:
        """Write `to_dict()` as JSON."""
        Path(path).write_text(json.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path):
        """Read a file written by `save`. Any problem with its contents is one `TokenizerFileError` naming the file."""
        return cls.from_file_document(path, read_document(path))
