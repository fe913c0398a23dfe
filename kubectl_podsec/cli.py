"""The command line: argparse, colour, exit codes. The only module that prints.

Exit codes follow `kubectl diff`: 0 clean, 1 findings (or changes), 2 errors or bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

from kubectl_podsec import __version__
from kubectl_podsec.levels import Level, PolicyVersion

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    pass


def _level(text: str) -> Level:
    try:
        return Level.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _version(text: str) -> PolicyVersion:
    try:
        return PolicyVersion.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_input_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="manifest files or directories (like -f)")
    parser.add_argument("-f", "--filename", action="append", default=[], metavar="PATH",
                        help="file, directory or - for stdin; repeatable and comma-separated")
    parser.add_argument("-R", "--recursive", action="store_true",
                        help="read directories given with -f recursively")
    parser.add_argument("--version", dest="policy_version", type=_version, default=PolicyVersion(None),
                        metavar="VERSION", help="policy version: latest (default) or v1.N")
    parser.add_argument("--stdin-filename", metavar="PATH",
                        help="name to report for what is read from stdin")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubectl podsec",
        description="Check and fix manifests against the Pod Security Standards, "
                    "with the official evaluator's verdicts.",
    )
    parser.add_argument("--version", action="version", version=f"kubectl-podsec {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    check = commands.add_parser("check", help="report the highest level each workload passes",
                                description="Report, for every workload, the highest Pod Security "
                                            "Standards level it passes and why it misses the next.")
    _add_input_flags(check)
    check.add_argument("--level", type=_level, default=Level.RESTRICTED,
                       help="the gate: exit 1 when a workload does not pass it (default restricted)")
    check.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")
    return parser


def _input_specs(args) -> list:
    specs = [part for value in args.filename for part in value.split(",") if part]
    return specs + list(args.paths)


def _painter(stream):
    if os.environ.get("NO_COLOR") or not getattr(stream, "isatty", lambda: False)():
        return lambda text, colour: text
    import colorama

    if hasattr(colorama, "just_fix_windows_console"):
        colorama.just_fix_windows_console()
    codes = {"green": colorama.Fore.GREEN, "yellow": colorama.Fore.YELLOW, "red": colorama.Fore.RED,
             "bold": colorama.Style.BRIGHT}
    return lambda text, colour: f"{codes[colour]}{text}{colorama.Style.RESET_ALL}"


def _refuse_terminal_stdin(specs: list) -> None:
    if "-" in specs and sys.stdin is not None and sys.stdin.isatty():
        raise UsageError("refusing to read manifests from a terminal: pipe them in "
                         "(cat app.yaml | kubectl podsec check -f -) or name a file with -f")


def cmd_check(args) -> int:
    from kubectl_podsec import report as render
    from kubectl_podsec.scan import scan

    specs = _input_specs(args)
    if not specs:
        raise UsageError("nothing to check: give manifests with -f PATH (or - for stdin)")
    _refuse_terminal_stdin(specs)
    result = scan(specs, args.policy_version, recursive=args.recursive,
                  stdin_name=args.stdin_filename or "-")
    data = render.report_data(result, args.level)
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    if args.output == "json":
        sys.stdout.write(render.render_json(data))
    elif args.output == "yaml":
        sys.stdout.write(render.render_yaml(data))
    else:
        sys.stdout.write(render.render_text(data, _painter(sys.stdout)))
    if result.errors:
        return EXIT_ERROR
    failing = any(obj.verdict.highest < args.level for obj in result.objects)
    return EXIT_FINDINGS if failing else EXIT_CLEAN


COMMANDS = {"check": cmd_check}


def main(argv: Optional[list] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_ERROR if exit_.code not in (0, None) else EXIT_CLEAN
    try:
        return COMMANDS[args.command](args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR


def run() -> None:
    try:
        code = main()
        sys.stdout.flush()
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # A closed pipe (| head) is not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_FINDINGS
    sys.exit(code)
