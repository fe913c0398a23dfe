"""The command line: parse the arguments (`arguments.py`), run a use case (`usecases.py`),
choose a renderer (`reports/`), say the errors, return the exit code. The only module that
prints.

Exit codes follow `kubectl diff`: 0 clean, 1 findings (or changes), 2 errors or bad usage.
"""

from __future__ import annotations

import gc
import os
import sys

from kubectl_podsec.arguments import build_parser, split_inputs
from kubectl_podsec.errors import UsageError

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
__all__ = ["EXIT_CLEAN", "EXIT_ERROR", "EXIT_FINDINGS", "build_parser", "main", "run"]


def _say(lines) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _exit(result) -> int:
    """Errors first, then the result's own gate."""
    if result.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if result.failing else EXIT_CLEAN


def _painter(args):
    from kubectl_podsec.reports.terminal import painter

    return painter(sys.stdout, args.color)


def _stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _kubectl(args):
    from kubectl_podsec.cluster import Kubectl

    return Kubectl(args.kubectl, args.namespace, args.all_namespaces, args.selector, args.field_selector,
                   args.context, args.cluster, args.user, args.kubeconfig, args.request_timeout, args.chunk_size)


def _config(args):
    """The .podsec.yaml in force (its pod templates give the run its WorkloadKinds)."""
    from kubectl_podsec.checks import BY_ID
    from kubectl_podsec.config import ConfigError, find_config, load_config

    path = args.config or find_config()
    if path is None:
        return None
    try:
        config = load_config(path, BY_ID)
    except ConfigError as error:
        raise UsageError(f"config {error.problem}") from None
    return config


def _check_options(args, config):
    from kubectl_podsec.parallel import default_jobs
    from kubectl_podsec.usecases import CheckOptions

    specs, resources = split_inputs(args)
    return CheckOptions(
        args.level, args.policy_version, tuple(specs), tuple(resources), tuple(args.kustomize), args.recursive,
        args.stdin_filename or "-", "-" in specs and _stdin_is_terminal(), config,
        getattr(args, "baseline", None), getattr(args, "write_baseline", None), _kubectl(args),
        getattr(args, "admission_config", None), default_jobs())


def _render_check(args, run) -> str:
    # Each renderer is imported only when chosen: the CI ones import xml and hashlib.
    if args.output in ("json", "yaml"):
        from kubectl_podsec.reports.data import check_data, render_json, render_yaml

        return (render_json if args.output == "json" else render_yaml)(check_data(run))
    if args.output == "sarif":
        from kubectl_podsec.checks import ALL_CHECKS
        from kubectl_podsec.reports.sarif import render_sarif

        return render_sarif(run, ALL_CHECKS)
    if args.output == "junit":
        from kubectl_podsec.reports.junit import render_junit

        return render_junit(run)
    if args.output == "github":
        from kubectl_podsec.reports.github import render_github

        return render_github(run)
    from kubectl_podsec.reports.text import render_text

    return render_text(run, _painter(args))


def cmd_check(args) -> int:
    from kubectl_podsec.usecases import live_streamable, run_check, run_compare, streamable

    options = _check_options(args, _config(args))
    if args.compare_versions:
        from kubectl_podsec.reports import compare

        result = run_compare(options, args.compare_versions)
        _say(result.said)
        if args.output not in ("text", "json", "yaml"):
            raise UsageError(f"--compare-versions prints text, json or yaml, not {args.output}")
        _say(f"error: {error}" for error in result.errors)
        sys.stdout.write(compare.render_text(result) if args.output == "text"
                         else _render_data(args.output, compare.compare_data(result)))
        return _exit(result)
    if args.output in ("json", "yaml", "text") and streamable(options):
        return _check_streaming(args, options)
    if args.output in ("json", "yaml", "text") and live_streamable(options):
        return _check_live(args, options)
    run = run_check(options)
    _say(run.said)
    _say(f"error: {error}" for error in run.errors)
    sys.stdout.write(_render_check(args, run))
    return _exit(run)


def _render_data(output: str, data: dict) -> str:
    from kubectl_podsec.reports.data import render_json, render_yaml

    return render_json(data) if output == "json" else render_yaml(data)


def _check_streaming(args, options) -> int:
    """-o json, yaml or text written object by object as the input is read: the same bytes as
    run_check's report, without holding it; what goes to stderr follows the report."""
    from kubectl_podsec.usecases import CheckStream

    stream = CheckStream(options)
    if args.output == "json":
        from kubectl_podsec.reports.data import check_json_stream

        pieces = check_json_stream(stream.head, stream.objects(), stream.result)
    elif args.output == "yaml":
        from kubectl_podsec.reports.data import check_yaml_stream

        pieces = check_yaml_stream(stream.head, stream.objects(), stream.result)
    else:
        from kubectl_podsec.reports.text import check_text_stream

        pieces = check_text_stream(options.level, stream.objects(), stream.result, _painter(args))
    for piece in pieces:
        sys.stdout.write(piece)
    run = stream.result()
    _say(run.said)
    _say(f"error: {error}" for error in run.errors)
    if run.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if stream.failing else EXIT_CLEAN


def _check_live(args, options) -> int:
    """-o json, yaml or text of the cluster, each object held as its text from when it is
    judged (not as its result, nor the report's data) and written once its pod count is known
    (the order is the objects' as read, and pods are counted until the last is read): the same
    bytes as run_check's report, in much less memory."""
    from kubectl_podsec.reports import data, text
    from kubectl_podsec.usecases import run_check_live

    if args.output == "text":
        paint, gate = _painter(args), options.level
        live = run_check_live(options, lambda obj: text.object_text_parts(obj, paint, gate))
        entries = ((head + text.pods_text(pods) + tail, brief) for (head, tail, brief), pods in live.entries)
        pieces = text.check_text_pieces(gate, entries, lambda: live.run)
    else:
        as_json = args.output == "json"
        live = run_check_live(options, data.object_json_parts if as_json else data.object_yaml_parts)
        texts = (head + str(pods) + tail for (head, tail), pods in live.entries)
        pieces = (data.check_json_pieces if as_json else data.check_yaml_pieces)(live.run, texts, lambda: live.run)
    run = live.run
    _say(run.said)
    _say(f"error: {error}" for error in run.errors)
    for piece in pieces:
        sys.stdout.write(piece)
    if run.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if live.failing else EXIT_CLEAN


def cmd_fix(args) -> int:
    from kubectl_podsec.usecases import refuse_terminal_stdin

    if args.kustomize:
        raise UsageError(f"fix cannot change what kustomize renders: fix the resources that the "
                         f"kustomization in {' '.join(args.kustomize)} and its bases list "
                         "(kubectl podsec fix -f FILE), "
                         "or add the settings with a patch there")
    specs, resources = split_inputs(args)
    if not specs:
        if not resources:
            raise UsageError("nothing to fix: give manifests with -f PATH (- for stdin) or TYPE/NAME")
        return cmd_fix_live(args, resources)
    if args.output in ("yaml", "patch"):
        raise UsageError(f"-o {args.output} is for a live object (TYPE/NAME); for files use diff or json")
    refuse_terminal_stdin(specs, "-" in specs and _stdin_is_terminal(), "fix")
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


def _fix_files(args, specs: list, stdin) -> int:
    from kubectl_podsec.parallel import default_jobs
    from kubectl_podsec.reports.fix import fix_summary, note_text
    from kubectl_podsec.usecases import FixOptions, run_fix

    run = run_fix(FixOptions(args.level, args.policy_version, tuple(specs), args.recursive,
                             args.stdin_filename or "-", stdin, args.unsafe_fixes, args.dry_run, _config(args),
                             default_jobs()))
    _say(f"note: {note.source}: {note_text(note)}" for note in run.notes)
    _say(f"error: {error}" for error in run.errors)
    sys.stderr.write(fix_summary(run))
    if args.output == "json":
        sys.stdout.write(_render_fix_json(run))
    elif args.dry_run:
        sys.stdout.write(_render_diff(args, run))
    elif stdin is not None:  # the filter: on any error, the input as it came
        sys.stdout.buffer.write(stdin if run.errors else run.filtered)
    return _exit(run)


def _render_fix_json(run) -> str:
    from kubectl_podsec.reports.data import render_json
    from kubectl_podsec.reports.fix import fix_data

    return render_json(fix_data(run))


def _render_diff(args, run) -> str:
    from kubectl_podsec.reports.diff import render_diff
    from kubectl_podsec.reports.terminal import colour_diff

    return colour_diff(render_diff(run), _painter(args))


def cmd_fix_live(args, resources: list) -> int:
    from kubectl_podsec.reports.fix import fix_summary
    from kubectl_podsec.usecases import run_fix_live

    if len(resources) != 1 or "/" not in resources[0]:
        raise UsageError("fix reads one live object at a time: kubectl podsec fix TYPE/NAME [-n NS]")
    live = run_fix_live(_kubectl(args), resources[0], args.level, args.policy_version, args.unsafe_fixes,
                        lambda: _config(args), args.output == "yaml")
    _say(f"error: {message}" for message in live.errors)
    if live.result is None:
        return EXIT_ERROR
    run, [text] = live.result, live.result.texts
    sys.stderr.write(fix_summary(run))
    if live.note:
        print(f"note: {live.note}", file=sys.stderr)
    if args.output == "yaml":
        sys.stdout.write(text.after)
    elif args.output == "patch":
        from kubectl_podsec.reports.patch import render_patch

        assert live.manifest is not None  # a fix result comes with the object it fixed
        sys.stdout.write(render_patch(live.manifest, text.after))
    elif args.output == "json":
        sys.stdout.write(_render_fix_json(run))
    else:
        sys.stdout.write(_render_diff(args, run))
    return _exit(run)


def cmd_namespaces(args) -> int:
    from kubectl_podsec.reports.namespaces import namespaces_data, render_namespaces
    from kubectl_podsec.usecases import run_namespaces

    run = run_namespaces(_kubectl(args), list(args.names), args.policy_version, args.admission_config,
                         _config(args))
    _say(f"error: {error.message}" for error in run.errors)
    _say(run.warnings)
    if args.output in ("json", "yaml"):
        sys.stdout.write(_render_data(args.output, namespaces_data(run.summaries)))
    elif run.summaries or not run.errors:  # nothing read: the error alone, no empty table
        sys.stdout.write(render_namespaces(run.summaries, _painter(args)))
    return _exit(run)


def cmd_plan(args) -> int:
    from kubectl_podsec.reports import plan
    from kubectl_podsec.usecases import run_plan

    args.paths, args.stdin_filename = [], None  # plan's positional arguments are namespaces
    result = run_plan(_check_options(args, _config(args)), tuple(args.names))
    _say(result.warnings)
    _say(f"error: {error}" for error in result.errors)
    if args.output == "json":
        sys.stdout.write(_render_data("json", plan.plan_data(result)))
    else:
        sys.stdout.write((plan.render_markdown if args.output == "markdown" else plan.render_text)(result))
    return _exit(result)


def cmd_audit(args) -> int:
    from kubectl_podsec.parallel import default_jobs
    from kubectl_podsec.reports import audit
    from kubectl_podsec.usecases import AuditOptions, run_audit

    result = run_audit(AuditOptions(tuple(args.files), args.group_by, _kubectl(args) if args.resolve else None,
                                    getattr(sys.stdin, "buffer", sys.stdin), "-" in args.files and _stdin_is_terminal(),
                                    default_jobs()))
    _say(f"error: {error}" for error in result.errors)
    _say(f"error: --resolve: {message}" for message in result.unresolved)  # the groups still come from the log
    sys.stdout.write(_render_data("json", audit.audit_data(result)) if args.output == "json"
                     else audit.render_text(result))
    if result.unresolved:
        return EXIT_ERROR
    return _exit(result)


def cmd_explain(args) -> int:
    from kubectl_podsec.explain import explain, suggestions, summary_table

    if not args.check:
        sys.stdout.write(summary_table())
        return EXIT_CLEAN
    text = explain(args.check)
    if text is None:
        hint = suggestions(args.check)
        raise UsageError(f"unknown check {args.check!r}" + (f"; did you mean {', '.join(hint)}?" if hint else ""))
    sys.stdout.write(text)
    return EXIT_CLEAN


COMMANDS = {"check": cmd_check, "fix": cmd_fix, "namespaces": cmd_namespaces, "explain": cmd_explain,
            "audit": cmd_audit, "plan": cmd_plan}


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


class _Stopped(BaseException):
    """A signal asking the process to stop: raised so that `with` and `finally` blocks run
    (forked workers are ended, temporary files removed) before the process exits."""

    def __init__(self, number: int):
        super().__init__(number)
        self.number = number


def _stop(number, frame) -> None:
    import signal

    for other in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)  # one stop is enough: let the cleanup finish
    raise _Stopped(number)


def run() -> None:
    import signal

    # A short-lived process whose data has no reference cycles: the cyclic collector would
    # only rescan the growing report again and again (about a third of the run time).
    gc.disable()
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _stop)
    try:
        code = main()
        sys.stdout.flush()
    except _Stopped as stopped:
        code = 128 + stopped.number  # as a shell reports a process the signal ended: 130, 143
    except BrokenPipeError:
        # A closed pipe (| head) is not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_FINDINGS
    sys.exit(code)


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


COMMANDS["lsp"] = cmd_lsp
