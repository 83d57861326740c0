"""Write ``docs/cli.rst``, the reference of the ``skdec`` command line, from
its parser (``skdec._cli.build_parser``), so that the page says what
``--help`` says::

    python docs/cli_reference.py

``tests/test_cli.py`` checks that the page is current; Sphinx reads it as any
other page.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

PAGE = Path(__file__).with_name("cli.rst")

INTRO = """\
Command-line reference
======================

.. This page is written by docs/cli_reference.py from the parser of the
   skdec command; edit the help texts there (skdec/_cli.py,
   skdec/_workflow.py, the estimators' docstrings), then run
   ``python docs/cli_reference.py``.

``skdec COMMAND [OPTIONS]`` (or ``python -m skdec COMMAND``). ``skdec
cluster`` writes a run folder; every other command reads one with
``--model DIR`` and, without ``--output``, writes into ``DIR/<command>``.
The options of the DEC parameters, the autoencoder and the label head are
made from the estimators' parameter constraints and docstrings.

Exit status: 0 on success; 1 when the run fails (bad input, a missing file:
one line on standard error naming the file and the row); 2 for a usage error
(an unknown option, a bad value, options that do not go together); 130 after
Ctrl-C. Outputs are written into a temporary folder and moved into place at
the end, so a failed or interrupted command leaves the earlier outputs as
they were.
"""


def _flags(action) -> str:
    if not action.option_strings:
        return action.metavar or action.dest
    if action.nargs == 0:
        return ", ".join(action.option_strings)
    metavar = action.metavar
    if metavar is None:
        metavar = (
            "{" + ",".join(map(str, action.choices)) + "}"
            if action.choices
            else action.dest.upper()
        )
    return ", ".join(f"{flag} {metavar}" for flag in action.option_strings)


def _text(text: str) -> str:
    """Help text as reStructuredText: inline markup characters left alone."""
    return " ".join(text.split()).replace("*", r"\*").replace("`", "'")


def _section(parser: argparse.ArgumentParser, title: str, underline: str):
    formatter = parser._get_formatter()
    lines = [title, underline * len(title), ""]
    if parser.description:
        lines += [_text(parser.description), ""]
    usage = parser.format_usage().strip()
    lines += ["::", ""] + ["    " + u for u in usage.splitlines()] + [""]
    for group in parser._action_groups:
        actions = [
            a
            for a in group._group_actions
            if a.help is not argparse.SUPPRESS
            and not isinstance(a, argparse._SubParsersAction)
            and a.dest != "help"
        ]
        if not actions:
            continue
        if group.title not in ("options", "optional arguments"):
            lines += [f"**{group.title}**", ""]
            if group.description:
                lines += [_text(group.description), ""]
        for action in actions:
            lines += [f"``{_flags(action)}``"]
            lines += ["    " + _text(formatter._expand_help(action)), ""]
    return lines


def render() -> str:
    """The page, as text."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from skdec._cli import build_parser

    width = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # the usage lines wrap as on any terminal
    try:
        return _render(build_parser())
    finally:
        if width is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = width


def _render(parser) -> str:
    lines = INTRO.splitlines() + [""]
    lines += _section(parser, "skdec", "-")[3:]  # the top level: no title again
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    lines += ["The commands:", ""]
    for choice in sub._choices_actions:
        lines += [f"``{choice.dest}``", "    " + _text(choice.help), ""]
    for name, command in sub.choices.items():
        lines += _section(command, f"skdec {name}", "-")
    while lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    PAGE.write_text(render())
    print(f"wrote {PAGE}")
