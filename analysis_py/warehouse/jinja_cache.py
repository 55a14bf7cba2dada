"""Dbt's Jinja templates compiled once per project, not once per `xp` command.

Each dbt process compiles every template it renders (the models' SQL, our macros, dbt's
materializations) from Jinja source to Python code: about 300 templates on a night, 1.2-1.7
s of CPU of a 10,000-event night whose dbt elapsed is 4-5 s (docs/decisions/0021). The
compiled code depends only on the source and on the environment that compiles it, so `xp`
keeps it in dbt's target directory, as Python keeps ``.pyc`` files beside its sources, and
reuses it while both are the same.

Only sources with Jinja in them are kept: plain text (a profile's password written in
clear) compiles in no time and is never copied. The cache is keyed by a digest of the
source, the template's name and file, Jinja's and dbt's versions, and every setting of the
environment that the compiler reads: its class, delimiters, whitespace options, extensions,
finalize, autoescape, and the filters and tests it knows (the compiler checks their names
and how each takes its context). Anything else compiles as before. The file is Python's
``marshal`` format with the interpreter's magic number; a file of another Python, or one
that does not read, is ignored and rewritten.
Entries unused in :data:`KEEP_COMMANDS` commands are dropped.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import marshal
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import CodeType
from typing import Any

#: The cache's file, in dbt's target directory (removed by `dbt clean` with the rest).
CACHE_FILE = "xp_compiled_templates.marshal"
#: Bumped when what a key covers changes.
CACHE_FORMAT = 1
#: Commands an entry survives unused (a night's `xp run`, `xp analyze` and `xp plan` use
#: different templates).
KEEP_COMMANDS = 20
#: dbt's setting that keeps compiled templates' sources for debugging: then no cache.
MACRO_DEBUGGING = "DBT_MACRO_DEBUGGING"

_lock = threading.Lock()


@functools.cache
def _versions() -> str:
    """The versions of what compiles the templates, as text."""

    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "none"

    return repr((CACHE_FORMAT, *map(of, ("jinja2", "dbt-common", "dbt-core", "markupsafe"))))


class _Cache:
    """The entries of one target directory while a dbt call runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.generation = 0
        self.entries: dict[bytes, tuple[int, bytes]] = {}
        self.used: set[bytes] = set()
        self.hits = 0
        self.misses = 0
        self._environments: dict[Any, str] = {}
        self._versions = _versions()
        self._load()

    def _load(self) -> None:
        try:
            stored = marshal.loads(self.path.read_bytes())
            if stored["python"] != importlib.util.MAGIC_NUMBER or stored["format"] != CACHE_FORMAT:
                return
            self.generation = int(stored["generation"]) + 1
            self.entries = dict(stored["entries"])
        except (OSError, EOFError, ValueError, TypeError, KeyError):
            self.generation, self.entries = 0, {}

    def save(self) -> None:
        """Write the entries back, without those unused in :data:`KEEP_COMMANDS` commands."""
        if not self.used:  # every entry added or hit is in it
            return
        kept = {
            key: (self.generation if key in self.used else generation, code)
            for key, (generation, code) in self.entries.items()
            if key in self.used or generation > self.generation - KEEP_COMMANDS
        }
        stored = {
            "python": importlib.util.MAGIC_NUMBER,
            "format": CACHE_FORMAT,
            "generation": self.generation,
            "entries": kept,
        }
        # Written beside, then renamed over: a reader sees the old file or the new one. The
        # name is this thread's own; open() gives the file the umask's permissions.
        written = self.path.with_name(f".{CACHE_FILE}.{os.getpid()}.{threading.get_ident()}")
        try:  # only a speed-up: a directory it cannot write leaves the next run to compile
            written.write_bytes(marshal.dumps(stored))
            os.replace(written, self.path)
        except OSError:
            written.unlink(missing_ok=True)

    def key(self, environment: Any, source: str, name: Any, filename: Any, defer: bool) -> bytes:
        settings = self._environment_settings(environment)
        text = repr((settings, name, filename, defer))
        digest = hashlib.sha256(text.encode())
        digest.update(b"\0")
        digest.update(source.encode("utf-8", "surrogatepass"))
        return digest.digest()

    def _environment_settings(self, environment: Any) -> str:
        """What of the environment the compiler reads, as text (memoised per environment)."""
        filters, tests = environment.filters, environment.tests
        # The objects themselves, not their ids: held here, no id is reused for another.
        identity: Any = (
            type(environment),
            tuple(filters.items()),
            tuple(tests.items()),
            environment.finalize,
            environment.autoescape,
            tuple(map(type, environment.extensions.values())),
        )
        try:
            settings = self._environments.get(identity)
        except TypeError:  # an unhashable filter: described every time
            identity, settings = None, None
        if settings is None:
            settings = repr(
                (
                    self._versions,
                    _described(type(environment)),
                    sorted(_described(type(e)) for e in environment.extensions.values()),
                    [
                        getattr(environment, attribute)
                        for attribute in (
                            "block_start_string",
                            "block_end_string",
                            "variable_start_string",
                            "variable_end_string",
                            "comment_start_string",
                            "comment_end_string",
                            "line_statement_prefix",
                            "line_comment_prefix",
                            "trim_blocks",
                            "lstrip_blocks",
                            "newline_sequence",
                            "keep_trailing_newline",
                            "optimized",
                            "is_async",
                            "sandboxed",
                        )
                    ],
                    _described(environment.autoescape),
                    _described(environment.finalize),
                    sorted((name, _described(f)) for name, f in filters.items()),
                    sorted((name, _described(f)) for name, f in tests.items()),
                )
            )
            if identity is not None:
                self._environments[identity] = settings
        return settings


def _described(value: Any) -> str:
    """A value the compiler reads, as stable text.

    A function by its module, name and how it takes its context (Jinja's pass_context and
    the like).
    """
    if callable(value):
        module = getattr(value, "__module__", None)
        name = getattr(value, "__qualname__", None) or type(value).__qualname__
        return f"{module}.{name}:{getattr(value, 'jinja_pass_arg', None)}"
    return repr(value)


def _has_tags(environment: Any, source: str) -> bool:
    """Whether the source has Jinja in it.

    Plain text compiles in no time, and is left out of the file: dbt renders every string
    of a profile as a template, and a password written there in clear must not be copied.
    """
    return any(
        start and start in source
        for start in (
            environment.variable_start_string,
            environment.block_start_string,
            environment.comment_start_string,
            environment.line_statement_prefix,
            environment.line_comment_prefix,
        )
    )


_active: _Cache | None = None


@contextmanager
def compiled_templates_kept(target_path: Path) -> Iterator[_Cache | None]:
    """Within this block, Jinja compiles each template once per project (see the module).

    Yields the cache (its hits and misses), or None where it is off: with
    DBT_MACRO_DEBUGGING set, or within another such block.
    """
    global _active
    import jinja2

    with _lock:
        if _active is not None or os.environ.get(MACRO_DEBUGGING):
            cache = None
        else:
            cache = _active = _Cache(Path(target_path) / CACHE_FILE)
    if cache is None:
        yield None
        return
    original: Any = jinja2.Environment.compile

    def compile(  # noqa: PLR0917 (jinja2's signature)
        self: Any,
        source: Any,
        name: Any = None,
        filename: Any = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if raw or not isinstance(source, str) or not _has_tags(self, source):
            return original(self, source, name, filename, raw, defer_init)
        key = cache.key(self, source, name, filename, defer_init)
        entry = cache.entries.get(key)
        if entry is not None:
            try:
                code = marshal.loads(entry[1])
            except (EOFError, ValueError, TypeError):
                code = None
            if isinstance(code, CodeType):
                cache.used.add(key)
                cache.hits += 1
                return code
        code = original(self, source, name, filename, raw, defer_init)
        cache.entries[key] = (cache.generation, marshal.dumps(code))
        cache.used.add(key)
        cache.misses += 1
        return code

    jinja2.Environment.compile = compile  # type: ignore[method-assign]
    try:
        yield cache
    finally:
        jinja2.Environment.compile = original  # type: ignore[method-assign]
        with _lock:
            _active = None
        cache.save()
