"""Jinja templates compiled once per project: the same output, and nothing stale.

Plain Jinja environments stand in for dbt's here; tests/integration/dbt/
test_compiled_templates.py runs dbt itself.
"""

from __future__ import annotations

import importlib.util
import marshal
from pathlib import Path

import jinja2
import pytest
from jinja2.sandbox import SandboxedEnvironment

from analysis_py.warehouse import jinja_cache
from analysis_py.warehouse.jinja_cache import CACHE_FILE, KEEP_COMMANDS, compiled_templates_kept

TEMPLATE = "{% macro twice(x) %}{{ x * 2 }}{% endmacro %}{{ twice(n) }}-{{ 'ab' | upper }}"


def _rendered(source: str, environment: jinja2.Environment | None = None, **values: object) -> str:
    return (environment or SandboxedEnvironment()).from_string(source).render(**values)


def test_a_second_command_reuses_the_compiled_code_and_renders_the_same(tmp_path: Path) -> None:
    with compiled_templates_kept(tmp_path) as first:
        assert _rendered(TEMPLATE, n=3) == "6-AB"
    with compiled_templates_kept(tmp_path) as second:
        assert _rendered(TEMPLATE, n=4) == "8-AB"
    assert first is not None and (first.hits, first.misses) == (0, 1)
    assert second is not None and (second.hits, second.misses) == (1, 0)
    assert (tmp_path / CACHE_FILE).exists()


def test_an_edited_template_compiles_again(tmp_path: Path) -> None:
    with compiled_templates_kept(tmp_path):
        assert _rendered("select {{ n }} as x", n=1) == "select 1 as x"
    with compiled_templates_kept(tmp_path) as cache:
        assert _rendered("select {{ n }} + 1 as x", n=1) == "select 1 + 1 as x"
    assert cache is not None and (cache.hits, cache.misses) == (0, 1)


def test_an_environment_whose_filter_takes_the_context_compiles_its_own_code(
    tmp_path: Path,
) -> None:
    # The compiler writes a context argument into the call for a pass_context filter: code
    # compiled for the plain filter would call it without one.
    plain = SandboxedEnvironment()
    plain.filters["greet"] = lambda name: f"hello {name}"
    with_context = SandboxedEnvironment()
    with_context.filters["greet"] = jinja2.pass_context(
        lambda context, name: f"{context['greeting']} {name}"
    )
    source = "{{ who | greet }}"
    with compiled_templates_kept(tmp_path):
        assert _rendered(source, plain, who="ann") == "hello ann"
    with compiled_templates_kept(tmp_path) as cache:
        assert _rendered(source, with_context, who="ann", greeting="hi") == "hi ann"
    assert cache is not None and cache.misses == 1


def test_other_delimiters_compile_their_own_code(tmp_path: Path) -> None:
    source = "[[ n ]]{{ n }}"
    with compiled_templates_kept(tmp_path):
        assert _rendered(source, n=1) == "[[ n ]]1"
    brackets = SandboxedEnvironment(variable_start_string="[[", variable_end_string="]]")
    with compiled_templates_kept(tmp_path):
        assert _rendered(source, brackets, n=1) == "1{{ n }}"


@pytest.mark.parametrize(
    "content",
    [
        b"not marshal at all",
        b"",
        marshal.dumps({"python": b"\x00\x00\r\n", "format": 1, "generation": 3, "entries": {}}),
        marshal.dumps(["a list"]),
    ],
    ids=["garbage", "empty", "another-python", "another-shape"],
)
def test_a_file_that_does_not_read_is_ignored_and_rewritten(tmp_path: Path, content: bytes) -> None:
    (tmp_path / CACHE_FILE).write_bytes(content)
    with compiled_templates_kept(tmp_path) as cache:
        assert _rendered(TEMPLATE, n=1) == "2-AB"
    assert cache is not None and cache.misses == 1
    stored = marshal.loads((tmp_path / CACHE_FILE).read_bytes())
    assert stored["python"] == importlib.util.MAGIC_NUMBER
    assert len(stored["entries"]) == 1


def test_an_entry_that_does_not_load_compiles_again(tmp_path: Path) -> None:
    with compiled_templates_kept(tmp_path):
        _rendered(TEMPLATE, n=1)
    stored = marshal.loads((tmp_path / CACHE_FILE).read_bytes())
    stored["entries"] = {
        key: (generation, b"broken") for key, (generation, _) in stored["entries"].items()
    }
    (tmp_path / CACHE_FILE).write_bytes(marshal.dumps(stored))
    with compiled_templates_kept(tmp_path) as cache:
        assert _rendered(TEMPLATE, n=5) == "10-AB"
    assert cache is not None and (cache.hits, cache.misses) == (0, 1)


def test_entries_unused_for_many_commands_are_dropped(tmp_path: Path) -> None:
    with compiled_templates_kept(tmp_path):
        _rendered("old {{ n }}", n=1)
    for _ in range(KEEP_COMMANDS):
        with compiled_templates_kept(tmp_path):
            _rendered("kept {{ n }}", n=1)
    stored = marshal.loads((tmp_path / CACHE_FILE).read_bytes())
    assert len(stored["entries"]) == 1  # "old" went; "kept" stays
    with compiled_templates_kept(tmp_path) as cache:
        _rendered("kept {{ n }}", n=2)
    assert cache is not None and cache.hits == 1


def test_a_directory_it_cannot_write_only_costs_the_speed(tmp_path: Path) -> None:
    missing = tmp_path / "not" / "there"
    with compiled_templates_kept(missing) as cache:
        assert _rendered(TEMPLATE, n=2) == "4-AB"
    assert cache is not None and not missing.exists()


def test_off_while_dbt_keeps_sources_for_debugging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(jinja_cache.MACRO_DEBUGGING, "1")
    compile_before = jinja2.Environment.compile
    with compiled_templates_kept(tmp_path) as cache:
        assert cache is None
        assert jinja2.Environment.compile is compile_before
        assert _rendered(TEMPLATE, n=1) == "2-AB"
    assert not (tmp_path / CACHE_FILE).exists()


def test_jinja_compiles_as_before_after_the_block(tmp_path: Path) -> None:
    compile_before = jinja2.Environment.compile
    with pytest.raises(RuntimeError), compiled_templates_kept(tmp_path):
        assert jinja2.Environment.compile is not compile_before
        raise RuntimeError("a dbt call that fails")
    assert jinja2.Environment.compile is compile_before
    assert (tmp_path / CACHE_FILE).exists() is False  # nothing was compiled in it


def test_text_without_jinja_is_not_kept(tmp_path: Path) -> None:
    # dbt renders every string of a profile as a template: a password written in clear.
    with compiled_templates_kept(tmp_path) as cache:
        assert _rendered("hunter2-in-clear") == "hunter2-in-clear"
        assert _rendered("{{ n }}", n=1) == "1"
    assert cache is not None and (cache.hits, cache.misses) == (0, 1)
    assert b"hunter2-in-clear" not in (tmp_path / CACHE_FILE).read_bytes()
