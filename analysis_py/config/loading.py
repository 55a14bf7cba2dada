"""Read the experiment config file: UTF-8, YAML without duplicate keys, then parse.

Every error names the file, and where it can the entry and the key, e.g.::

    experiments.yml: experiments[0] (id 'checkout_redesign'): key 'control': given twice, at
    lines 110 and 112 (YAML would silently keep the last)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from analysis_py.config.parsing import parse_config
from analysis_py.config.schema import Entry
from analysis_py.config.types import ConfigError, ExperimentConfig


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate the config file at ``path``; raise :class:`ConfigError` if invalid."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the experiment config: {error.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text: byte 0x{data[error.start]:02x} at line "
            f"{line}; save the file as UTF-8"
        ) from None
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)
    except _DuplicateKeyError as error:
        raise Entry(str(path), error.entry, {"id": error.entry_id}).error(str(error)) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML{_yaml_problem(error, text)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    if document is None:
        raise ConfigError(
            f"{path}: the file is empty; it must be a mapping with keys 'metrics' and 'experiments'"
        )
    return parse_config(document, str(path))


class _DuplicateKeyError(yaml.YAMLError):
    """A key given twice in one mapping, inside top-level ``entry`` (e.g. experiments[0])."""

    def __init__(self, message: str, entry: str, entry_id: Any) -> None:
        super().__init__(message)
        self.entry, self.entry_id = entry, entry_id


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error.

    PyYAML keeps the last, so a second ``control:`` would silently swap the arms.
    """

    def construct_document(self, node: yaml.Node) -> Any:
        self._check_unique_keys(node, (), None, set())
        return super().construct_document(node)

    def _check_unique_keys(
        self, node: yaml.Node, where: tuple[str | int, ...], entry_id: Any, checked: set[int]
    ) -> None:
        if id(node) in checked:  # an alias of a node already checked (or a recursive one)
            return
        checked.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._check_unique_keys(item, (*where, index), entry_id, checked)
            return
        if not isinstance(node, yaml.MappingNode):
            return
        # Keys merged in with `<<: *anchor` may be overridden: that is what merging is for.
        keys = [
            (k, v)
            for k, v in node.value
            if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge"
        ]
        if len(where) == 2 and isinstance(where[1], int):  # a top-level entry: label by its id
            entry_id = next(
                (
                    self.construct_object(v)
                    for k, v in keys
                    if k.value == "id" and isinstance(v, yaml.ScalarNode)
                ),
                None,
            )
        first_lines: dict[Any, int] = {}
        for key_node, _ in keys:
            key, line = self.construct_object(key_node), key_node.start_mark.line + 1
            if key in first_lines:
                entry, dotted = _dotted(where, key_node.value)
                lines = (
                    f"on line {line}"
                    if line == first_lines[key]
                    else f"at lines {first_lines[key]} and {line}"
                )
                raise _DuplicateKeyError(
                    f"key '{dotted}': given twice, {lines} (YAML would silently keep the last)",
                    entry,
                    entry_id,
                )
            first_lines[key] = line
        for key_node, value_node in node.value:
            key_text = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            self._check_unique_keys(value_node, (*where, key_text), entry_id, checked)


def _dotted(where: tuple[str | int, ...], key: str) -> tuple[str, str]:
    """The entry label and dotted key of ``key`` at ``where``, as the other errors name them.

    E.g. ("experiments[0]", "traffic.control"), or ("", "metrics") at the top level.
    """
    entry = ""
    if len(where) >= 2 and isinstance(where[1], int):
        entry, where = f"{where[0]}[{where[1]}]", where[2:]
    dotted = ""
    for part in (*where, key):
        dotted += f"[{part}]" if isinstance(part, int) else f".{part}" if dotted else part
    return entry, dotted


def _yaml_problem(error: yaml.YAMLError, text: str) -> str:
    """Where and what PyYAML found wrong, on one line (its own message spans several)."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = ", ".join(part for part in (error.context, error.problem) if part)
    elif isinstance(error, yaml.reader.ReaderError):
        where = f" at line {text[: error.position].count(chr(10)) + 1}"
        what = f"character #x{error.character:04x}: {error.reason}"
    else:
        where, what = "", str(error)
    return f"{where}: {' '.join(what.split())}" if what.strip() else where
