"""Issue 35 item 4: every `ipoke VERB ...` command the README (and docs/cli.md) shows is one the
command line accepts.

Commands in fenced code blocks and in table rows are complete: they must parse with the real parser
(the verb exists, every flag exists, required arguments are there, values have the right type).
Commands in running text are often fragments (`ipoke eval --record`): there the verb and every flag
must exist, i.e. appear in that verb's `--help`. Nothing is run, so the test takes well under a second.
"""
from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from ipoke_core import cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "docs" / "cli.md"]
# `ipoke VERB`, not `ipoke-gui`, `ipoke_core` or the package name in a path
COMMAND = re.compile(r"(?<![\w/.-])ipoke (?=[a-z])")


# where the shell takes over: what follows is not the command's (`ipoke info X --card > card.md`)
SHELL_OPERATORS = {">", ">>", "|", "&&", ";"}


def _tokens(command: str) -> list[str]:
    """The tokens from `ipoke` on (leading VAR=value assignments dropped), comments and any redirection
    or pipe removed."""
    tokens = shlex.split(command, comments=True)
    tokens = tokens[tokens.index("ipoke") + 1:]
    end = next((i for i, t in enumerate(tokens) if t in SHELL_OPERATORS), len(tokens))
    return tokens[:end]


def _fenced_commands(text: str) -> list[str]:
    commands: list[str] = []
    block: list[str] | None = None  # the lines of the open code block
    for line in text.splitlines():
        if line.startswith("```"):
            if block is not None:
                commands.extend(_join_continued(block))
            block = [] if block is None else None
        elif block is not None:
            block.append(line)
    return [c for c in commands if re.match(r"^(\w+=\S+\s+)*ipoke ", c.strip())]


def _join_continued(lines: list[str]) -> list[str]:
    out, current = [], ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
        else:
            out.append(current + line)
            current = ""
    return out


def _inline_commands(text: str) -> tuple[list[str], list[str]]:
    """Inline code spans that start with `ipoke VERB`: (in table rows, in running text)."""
    in_text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    rows = [line for line in in_text.splitlines() if line.lstrip().startswith("|")]
    running = " ".join(line for line in in_text.splitlines() if not line.lstrip().startswith("|"))

    def spans(lines: list[str]) -> list[str]:
        return [s for line in lines for s in re.findall(r"`([^`]+)`", line) if COMMAND.match(s)]

    return spans(rows), spans([running])  # a span in running text may wrap onto the next line


def _help(verb: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main([verb, "--help"])  # main() turns argparse's SystemExit into its status
    assert status == 0, f"ipoke {verb} --help failed"
    return out.getvalue()


def _flags(tokens: list[str]) -> list[str]:
    # a flag is -x or --xyz (with or without =value); "-4,6" is a value, "…" a placeholder
    return [t.split("=", 1)[0] for t in tokens if re.match(r"^--?[A-Za-z]", t)]


FENCED, TABLE, PROSE = [], [], []
for _doc in DOCS:
    _text = _doc.read_text(encoding="utf-8")
    FENCED += _fenced_commands(_text)
    _table, _prose = _inline_commands(_text)
    TABLE += _table
    PROSE += _prose


def test_the_readme_shows_commands_of_every_verb():
    text = DOCS[0].read_text(encoding="utf-8")
    verbs = {_tokens(c)[0] for c in _fenced_commands(text) + _inline_commands(text)[0]}
    assert verbs >= set(cli.VERBS), f"verbs without an example in the README: {set(cli.VERBS) - verbs}"


@pytest.mark.parametrize("command", FENCED + TABLE)
def test_a_complete_command_parses(command):
    tokens = _tokens(command)
    assert tokens[0] in cli.VERBS, f"unknown verb in: {command}"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            cli.build_parser().parse_args(cli._join_negative_pairs(tokens))
        except SystemExit as exc:  # argparse reports a bad command this way
            pytest.fail(f"`ipoke {' '.join(tokens)}` does not parse (exit {exc.code}): {err.getvalue()}")


@pytest.mark.parametrize("command", FENCED + TABLE + PROSE)
def test_every_flag_is_in_the_verbs_help(command):
    tokens = _tokens(command)
    verb = tokens[0]
    assert verb in cli.VERBS, f"unknown verb in: {command}"
    text = _help(verb)
    missing = [f for f in _flags(tokens[1:]) if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text)]
    assert not missing, f"`{command}`: not in `ipoke {verb} --help`: {missing}"
