"""The command line: parse the arguments (`arguments.py`), turn them into a use case's options
(`options.py`), run it (`usecases.py`), print what the chosen renderer writes
(`reports/output.py`), say the errors, return the exit code. The only module that prints.

Exit codes follow `kubectl diff`: 0 clean, 1 findings (or changes), 2 errors or bad usage.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterable

from kubectl_podsec import options
from kubectl_podsec.arguments import build_parser
from kubectl_podsec.errors import UsageError, WorkerDied
from kubectl_podsec.reports import output

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
__all__ = ["EXIT_CLEAN", "EXIT_ERROR", "EXIT_FINDINGS", "build_parser", "main", "run"]


def _say(lines: Iterable[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _say_errors(result) -> None:
    _say(f"error: {error}" for error in result.errors)


def _exit(result, failing: bool | None = None) -> int:
    """Errors first, then the result's own gate (or `failing`, counted as it streamed)."""
    if result.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if (result.failing if failing is None else failing) else EXIT_CLEAN


def _painter(args):
    from kubectl_podsec.reports.terminal import painter

    return painter(sys.stdout, args.color)


def _write(pieces: Iterable[str]) -> None:
    for piece in pieces:
        sys.stdout.write(piece)


def cmd_check(args) -> int:
    from kubectl_podsec import usecases

    check = options.check_options(args)
    if args.compare_versions:
        if args.output not in output.STREAMED:
            raise UsageError(f"--compare-versions prints text, json or yaml, not {args.output}")
        result = usecases.run_compare(check, args.compare_versions)
        _say(result.said)
        _say_errors(result)
        sys.stdout.write(output.compare_report(result, args.output))
        return _exit(result)
    if args.output in output.STREAMED and usecases.streamable(check):
        # Written object by object as the files are read; what goes to stderr follows it.
        stream = usecases.CheckStream(check)
        entries = stream.entries(output.file_parts(args.output, _painter(args), check.level))
        _write(output.file_pieces(args.output, stream.head, entries, stream.result))
        run = stream.result()
        _say(run.said)
        _say_errors(run)
        return _exit(run, stream.failing > 0)
    if args.output in output.STREAMED and usecases.live_streamable(check):
        # Each object held as its text until its pod count is known: much less memory.
        live = usecases.run_check_live(check, output.live_parts(args.output, _painter(args), check.level))
        _say(live.run.said)
        _say_errors(live.run)
        _write(output.live_pieces(args.output, live.run, live.entries))
        return _exit(live.run, live.failing > 0)
    run = usecases.run_check(check)
    _say(run.said)
    _say_errors(run)
    sys.stdout.write(output.check_report(run, args.output, _painter(args)))
    return _exit(run)


def cmd_fix(args) -> int:
    from kubectl_podsec.usecases import refuse_terminal_stdin

    specs, resources = options.fix_inputs(args)
    if resources:
        return _fix_live(args, resources[0])
    refuse_terminal_stdin(specs, "-" in specs and options.stdin_is_terminal(), "fix")
    stdin = sys.stdin.buffer.read() if "-" in specs else None
    if stdin is None or args.dry_run or args.output == "json":
        return _fix_files(args, specs, stdin)
    # A filter (an editor's `:%!`, format on save) replaces the buffer with what it prints:
    # whatever goes wrong, the input comes back unchanged.
    try:
        return _fix_files(args, specs, stdin)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
    except BrokenPipeError:
        raise
    except Exception as error:  # a bug must not cost the user their buffer
        print(f"error: {args.stdin_filename or '-'}: internal error: {error!r}; input left unchanged",
              file=sys.stderr)
    sys.stdout.buffer.write(stdin)
    return EXIT_ERROR


def _fix_files(args, specs: list, stdin: bytes | None) -> int:
    from kubectl_podsec.reports.fix import fix_summary, note_text
    from kubectl_podsec.usecases import run_fix

    run = run_fix(options.fix_options(args, specs, stdin))
    _say(f"note: {note.source}: {note_text(note)}" for note in run.notes)
    _say_errors(run)
    sys.stderr.write(fix_summary(run))
    if args.output == "json" or args.dry_run:
        sys.stdout.write(output.fix_report(run, args.output, _painter(args)))
    elif stdin is not None:  # the filter: on any error, the input as it came
        sys.stdout.buffer.write(stdin if run.errors else run.filtered)
    return _exit(run)


def _fix_live(args, resource: str) -> int:
    from kubectl_podsec.reports.fix import fix_summary
    from kubectl_podsec.usecases import run_fix_live

    live = run_fix_live(options.kubectl_of(args), resource, args.level, args.policy_version, args.unsafe_fixes,
                        lambda: options.config_of(args), args.output == "yaml")
    _say(f"error: {message}" for message in live.errors)
    if live.result is None:
        return EXIT_ERROR
    sys.stderr.write(fix_summary(live.result))
    _say([f"note: {live.note}"] if live.note else [])
    sys.stdout.write(output.live_fix_report(live.result, live.manifest, args.output, _painter(args)))
    return _exit(live.result)


def cmd_namespaces(args) -> int:
    from kubectl_podsec.usecases import run_namespaces

    run = run_namespaces(options.kubectl_of(args), list(args.names), args.policy_version, args.admission_config,
                         options.config_of(args))
    _say(run.warnings)
    _say(f"error: {error.message}" for error in run.errors)
    sys.stdout.write(output.namespaces_report(run, args.output, _painter(args)))
    return _exit(run)


def cmd_plan(args) -> int:
    from kubectl_podsec.usecases import run_plan

    args.paths, args.stdin_filename = [], None  # plan's positional arguments are namespaces
    result = run_plan(options.check_options(args), tuple(args.names))
    _say(result.warnings)
    _say_errors(result)
    sys.stdout.write(output.plan_report(result, args.output))
    return _exit(result)


def cmd_audit(args) -> int:
    from kubectl_podsec.usecases import run_audit

    result = run_audit(options.audit_options(args))
    _say_errors(result)
    _say(f"error: --resolve: {message}" for message in result.unresolved)  # the groups still come from the log
    sys.stdout.write(output.audit_report(result, args.output))
    return EXIT_ERROR if result.unresolved else _exit(result)


def cmd_explain(args) -> int:
    from kubectl_podsec.explain import explain_text

    sys.stdout.write(explain_text(args.check))
    return EXIT_CLEAN


def cmd_lsp(args) -> int:
    try:  # pygls 2 has this module; 1.x would fail later with a less helpful error
        import lsprotocol.types  # noqa: F401
        import pygls.lsp.server  # noqa: F401
    except ImportError:
        print("error: the language server needs pygls: pip install 'kubectl-podsec[lsp]'", file=sys.stderr)
        return EXIT_ERROR
    from kubectl_podsec.lsp import serve

    gc.enable()  # run() turns it off for short runs; a server lives as long as the editor
    return serve(args.level, args.policy_version)


COMMANDS = {"check": cmd_check, "fix": cmd_fix, "namespaces": cmd_namespaces, "explain": cmd_explain,
            "audit": cmd_audit, "plan": cmd_plan, "lsp": cmd_lsp}


def main(argv: list | None = None) -> int:
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        parser.print_help()  # bare `kubectl podsec`, as bare `kubectl` does
        return EXIT_CLEAN
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # said with the subcommand's own usage, as `kubectl get --bogus` is
            parser.subcommands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as exit_:
        return EXIT_ERROR if exit_.code not in (0, None) else EXIT_CLEAN
    try:
        return COMMANDS[args.command](args)
    except UsageError as error:
        _say(error.said)
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except WorkerDied as error:  # partial output may precede it; the exit code says the run failed
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR


def run() -> None:
    from kubectl_podsec.process import run_process

    sys.exit(run_process(main, closed_pipe_code=EXIT_FINDINGS))
