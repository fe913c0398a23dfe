"""The command line: argparse, colour, exit codes. The only module that prints.

Exit codes follow `kubectl diff`: 0 clean, 1 findings (or changes), 2 errors or bad usage.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import Optional

from kubectl_podsec import __version__
from kubectl_podsec.errors import UsageError
from kubectl_podsec.levels import Level, PolicyVersion

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


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


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return number


def _add_input_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH|TYPE[/NAME]",
                        help="manifest files or directories (like -f); without -f, names that are "
                             "not files are resources to read from the cluster (deploy/web, pods)")
    parser.add_argument("-f", "--filename", action="append", default=[], metavar="PATH",
                        help="file, directory or - for stdin; repeatable and comma-separated")
    parser.add_argument("-R", "--recursive", action="store_true",
                        help="read directories given with -f recursively")
    parser.add_argument("--version", dest="policy_version", type=_version, default=PolicyVersion(None),
                        metavar="VERSION", help="policy version: latest (default) or v1.N")
    parser.add_argument("--stdin-filename", metavar="PATH",
                        help="name to report for what is read from stdin")
    parser.add_argument("-k", "--kustomize", metavar="DIR", action="append", default=[],
                        help="render DIR with `kubectl kustomize` and read the result; repeatable")
    parser.add_argument("--config", metavar="FILE",
                        help="exemptions and custom pod templates (default: .podsec.yaml here or above)")


def _add_cluster_flags(parser: argparse.ArgumentParser, admission: bool = True,
                       title: str = "live cluster (when no -f is given; passed to kubectl)") -> None:
    group = parser.add_argument_group(title)
    group.add_argument("-n", "--namespace", metavar="NS", help="the namespace to read (default: the context's)")
    group.add_argument("-A", "--all-namespaces", action="store_true", help="read every namespace")
    group.add_argument("-l", "--selector", metavar="SELECTOR",
                       help="only workloads with these labels (app=web,tier!=db), as kubectl get -l")
    group.add_argument("--field-selector", metavar="SELECTOR",
                       help="only objects whose fields match (metadata.name=web), as kubectl get")
    for flag, what in (("--context", "the kubeconfig context to use"), ("--cluster", "the kubeconfig cluster to use"),
                       ("--user", "the kubeconfig user to use"), ("--kubeconfig", "the kubeconfig file to use")):
        group.add_argument(flag, metavar=flag[2:].upper(), help=what)
    group.add_argument("--request-timeout", metavar="DURATION",
                       help="the longest each request to the server may take, as for kubectl (30s, 2m; "
                            "default 30s); a listing in many pages may take longer in all")
    group.add_argument("--chunk-size", type=_positive, metavar="N",
                       help="list in pages of N objects (a positive integer; kubectl's default is 500)")
    group.add_argument("--kubectl", default=os.environ.get("KUBECTL") or "kubectl",
                       help="the kubectl to run (default: $KUBECTL or kubectl on PATH)")
    if admission:
        group.add_argument("--admission-config", metavar="FILE",
                           help="the API server's PodSecurityConfiguration: its defaults and exemptions")


def _kubectl(args):
    from kubectl_podsec.cluster import Kubectl

    return Kubectl(args.kubectl, args.namespace, args.all_namespaces, args.selector, args.field_selector,
                   args.context, args.cluster, args.user, args.kubeconfig, args.request_timeout, args.chunk_size)


def _add_colour_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--color", "--colour", choices=("auto", "always", "never"), default="auto",
                        help="colour the text output: auto (default: on a terminal, unless NO_COLOR is set or "
                             "TERM=dumb; FORCE_COLOR turns it on), always or never")


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
    check.add_argument("--level", type=_level, default=Level.RESTRICTED, metavar="{privileged,baseline,restricted}",
                       help="the gate: exit 1 when a workload does not pass this level (default restricted)")
    check.add_argument("-o", "--output", choices=("text", "json", "yaml", "sarif", "junit", "github"),
                       default="text", help="text (default), json, yaml, sarif (code scanning), junit, "
                                            "github (Actions annotations)")
    check.add_argument("--baseline", metavar="FILE", help="fail only on findings not recorded in FILE")
    check.add_argument("--write-baseline", metavar="FILE", help="record today's findings in FILE")
    check.add_argument("--compare-versions", metavar="FROM,TO",
                       help="list the workloads whose verdict differs between two policy versions "
                            "(for example v1.30,latest) and the checks that make the difference")
    _add_colour_flag(check)
    _add_cluster_flags(check)

    namespaces = commands.add_parser("namespaces", help="which enforce label each namespace could take today",
                                     description="Per namespace: its Pod Security labels, the highest level "
                                                 "all its workloads pass, and the label that is safe today. "
                                                 "A label that would lower the current level is shown apart, "
                                                 "as a downgrade, with the workloads that need it.")
    namespaces.add_argument("names", nargs="*", metavar="NAME",
                            help="the namespaces to summarise (default: all, or the one given with -n)")
    namespaces.add_argument("--version", dest="policy_version", type=_version, default=PolicyVersion(None),
                            metavar="VERSION", help="policy version for the HIGHEST column: latest (default, "
                                                    "the server's own version) or v1.N")
    namespaces.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text",
                            help="text (default), json or yaml")
    _add_colour_flag(namespaces)
    _add_cluster_flags(namespaces, title="cluster (passed to kubectl)")

    fix = commands.add_parser("fix", help="rewrite manifests so they pass a level",
                              description="Rewrite manifests so that they pass a level, changing "
                                          "nothing but the security settings the level needs.")
    _add_input_flags(fix)
    fix.add_argument("--level", type=_level, default=Level.RESTRICTED, choices=(Level.BASELINE, Level.RESTRICTED),
                     metavar="{baseline,restricted}", help="the level to reach (default restricted)")
    fix.add_argument("--dry-run", action="store_true", help="write nothing; print a unified diff")
    fix.add_argument("--unsafe-fixes", action="store_true",
                     help="also remove privileges the manifest asks for explicitly (may break it)")
    fix.add_argument("-o", "--output", choices=("diff", "json", "yaml", "patch"), default="diff",
                     help="files: diff (with --dry-run) or json; a live object: diff, yaml "
                          "(the fixed manifest) or patch (RFC 6902, for kubectl patch --type=json)")
    _add_colour_flag(fix)
    _add_cluster_flags(fix, admission=False)

    plan = commands.add_parser("plan", help="a migration plan to enforce a level, namespace by namespace",
                               description="Per namespace: its labels and the target, the workloads that block "
                                           "it (from templates, so CronJobs and scaled-down Deployments count), "
                                           "and ordered steps: warn and audit, safe fixes, unsafe fixes and what "
                                           "needs a human, enforce pinned to the server's version. Never writes.")
    plan.add_argument("names", nargs="*", metavar="NAMESPACE", help="the namespaces to plan (default: all)")
    plan.add_argument("--level", type=_level, default=Level.RESTRICTED, choices=(Level.BASELINE, Level.RESTRICTED),
                      metavar="{baseline,restricted}", help="the enforce level to reach (default restricted)")
    plan.add_argument("-f", "--filename", action="append", default=[], metavar="PATH",
                      help="plan for manifests instead of the cluster, grouped by metadata.namespace")
    plan.add_argument("-R", "--recursive", action="store_true", help="read directories given with -f recursively")
    plan.add_argument("-k", "--kustomize", metavar="DIR", action="append", default=[],
                      help="render DIR with `kubectl kustomize` and plan for the result; repeatable")
    plan.add_argument("--version", dest="policy_version", type=_version, default=PolicyVersion(None),
                      metavar="VERSION", help="the version to pin (default: the server's minor; for manifests "
                                              "the newest known)")
    plan.add_argument("--config", metavar="FILE", help="exemptions and custom pod templates")
    plan.add_argument("-o", "--output", choices=("text", "markdown", "json"), default="text",
                      help="text (default), markdown (for a pull request or ticket) or json")
    _add_cluster_flags(plan)

    audit = commands.add_parser("audit", help="Pod Security findings in API server audit logs, by workload",
                                description="Group the pod-security.kubernetes.io/audit-violations annotations "
                                            "(and enforce denials) of kube-apiserver audit logs by namespace, "
                                            "owner and check.")
    audit.add_argument("files", nargs="+", metavar="FILE", help="JSON-lines audit logs, rotated or .gz; - for stdin")
    audit.add_argument("--group-by", choices=("workload", "owner", "object"), default="workload",
                       help="workload: top owner, following ReplicaSet->Deployment and Job->CronJob (default); "
                            "owner: the controlling owner; object: the object the request named")
    audit.add_argument("--resolve", action="store_true",
                       help="ask the cluster (kubectl get) for owners the log does not show")
    audit.add_argument("-o", "--output", choices=("text", "json"), default="text", help="text (default) or json")
    resolve = audit.add_argument_group("cluster for --resolve (passed to kubectl)")
    for flag, what in (("--context", "the kubeconfig context to use"), ("--cluster", "the kubeconfig cluster to use"),
                       ("--user", "the kubeconfig user to use"), ("--kubeconfig", "the kubeconfig file to use"),
                       ("--request-timeout", "the longest each request to the server may take (default 30s)")):
        resolve.add_argument(flag, metavar=flag[2:].upper(), help=what)
    resolve.add_argument("--kubectl", default=os.environ.get("KUBECTL") or "kubectl",
                         help="the kubectl to run (default: $KUBECTL or kubectl on PATH)")

    explain = commands.add_parser("explain", help="what a check looks at, allows, and how fix treats it",
                                  description="Without CHECK: a table of every check. With CHECK: what the "
                                              "standard says, the fields it reads, the values it allows at "
                                              "each version, and how fix treats it.")
    explain.add_argument("check", nargs="?", metavar="CHECK",
                         help="a check id as the findings name it (runAsNonRoot, hostPathVolumes, ...)")

    lsp = commands.add_parser("lsp", help="a language server for editors, over stdio (the lsp extra)",
                              description="Speak the Language Server Protocol on stdin/stdout: findings as "
                                          "you type, quick fixes, hover. Needs pip install 'kubectl-podsec[lsp]'.")
    lsp.add_argument("--stdio", action="store_true", help="accepted for clients that pass it; stdio is the default")
    lsp.add_argument("--level", type=_level, default=None, help="default level (restricted); settings override it")
    lsp.add_argument("--version", dest="policy_version", type=_version, default=None, metavar="VERSION",
                     help="default policy version (latest); settings override it")
    parser.subcommands = commands.choices  # for errors in a subcommand's own usage
    return parser


def _looks_like_file(argument: str) -> bool:
    """A manifest's name, not kubectl's TYPE[/NAME]: a manifest suffix, or a path that a
    resource cannot be (./x, /x, ~/x, a/b/c)."""
    return argument.lower().endswith((".yaml", ".yml", ".json")) or argument.startswith((".", "/", "~")) \
        or argument.count("/") > 1 or os.sep != "/" and os.sep in argument


def _split_inputs(args) -> tuple:
    """(manifest specs, cluster resources). Without -f, positional arguments are files when
    one of them is a file or looks like one (a missing one is then an error among the
    results, as with -f), and otherwise resources, as kubectl takes them (deploy/web, pods)."""
    specs = [part for value in args.filename for part in value.split(",") if part]
    if specs:
        return specs + list(args.paths), []
    if any(p == "-" or os.path.exists(p) or _looks_like_file(p) for p in args.paths):
        return list(args.paths), []
    return [], list(args.paths)


def _wants_colour(stream, mode: str = "auto") -> bool:
    """--color always|never wins; then NO_COLOR (off), FORCE_COLOR (on, unless 0), TERM=dumb
    (off), and last whether the stream is a terminal."""
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    force = os.environ.get("FORCE_COLOR")
    if force is not None and force != "":
        return force not in ("0", "false")
    if os.environ.get("TERM") == "dumb":
        return False
    return getattr(stream, "isatty", lambda: False)()


def _painter(stream, mode: str = "auto"):
    if not _wants_colour(stream, mode):
        return lambda text, colour: text
    import colorama

    if hasattr(colorama, "just_fix_windows_console"):
        colorama.just_fix_windows_console()
    codes = {"green": colorama.Fore.GREEN, "yellow": colorama.Fore.YELLOW, "red": colorama.Fore.RED,
             "bold": colorama.Style.BRIGHT}
    return lambda text, colour: f"{codes[colour]}{text}{colorama.Style.RESET_ALL}"


def _refuse_terminal_stdin(specs: list, command: str = "check") -> None:
    if "-" in specs and sys.stdin is not None and sys.stdin.isatty():
        raise UsageError("refusing to read manifests from a terminal: pipe them in "
                         f"(cat app.yaml | kubectl podsec {command} -f -) or name a file with -f")


def _config(args):
    """The .podsec.yaml in force, with its custom pod templates registered."""
    from kubectl_podsec.checks import BY_ID
    from kubectl_podsec.config import ConfigError, find_config, load_config
    from kubectl_podsec.workloads import register_templates

    path = args.config or find_config()
    if path is None:
        return None
    try:
        config = load_config(path, BY_ID)
    except ConfigError as error:
        raise UsageError(f"config {error.problem}") from None
    register_templates(config.pod_templates)
    return config


def _check_options(args, config):
    from kubectl_podsec.parallel import default_jobs
    from kubectl_podsec.usecases import CheckOptions

    specs, resources = _split_inputs(args)
    return CheckOptions(
        args.level, args.policy_version, tuple(specs), tuple(resources), tuple(args.kustomize), args.recursive,
        args.stdin_filename or "-", "-" in specs and sys.stdin is not None and sys.stdin.isatty(), config,
        getattr(args, "baseline", None), getattr(args, "write_baseline", None), _kubectl(args),
        getattr(args, "admission_config", None), default_jobs())


def _render_check(output: str, run, colour: str = "auto") -> str:
    # Each renderer is imported only when chosen: the CI ones import xml and hashlib.
    if output in ("json", "yaml"):
        from kubectl_podsec.reports.data import check_data, render_json, render_yaml

        return (render_json if output == "json" else render_yaml)(check_data(run))
    if output == "sarif":
        from kubectl_podsec.checks import ALL_CHECKS
        from kubectl_podsec.reports.sarif import render_sarif

        return render_sarif(run, ALL_CHECKS)
    if output == "junit":
        from kubectl_podsec.reports.junit import render_junit

        return render_junit(run)
    if output == "github":
        from kubectl_podsec.reports.github import render_github

        return render_github(run)
    from kubectl_podsec.reports.text import render_text

    return render_text(run, _painter(sys.stdout, colour))


def cmd_check(args) -> int:
    from kubectl_podsec.usecases import checked_report, run_check, streamable

    options = _check_options(args, _config(args))
    if args.compare_versions:
        result, _, said = checked_report(options)
        _say(said)
        return _compare_versions(args, result)
    if args.output == "json" and streamable(options):
        return _check_streaming(options)
    run = run_check(options)
    _say(run.said)
    _say(f"error: {error}" for error in run.errors)
    sys.stdout.write(_render_check(args.output, run, args.color))
    if run.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if run.failing else EXIT_CLEAN


def _check_streaming(options) -> int:
    """-o json written object by object as the input is read: the same bytes as run_check's
    report, without holding it; what goes to stderr follows the report."""
    from kubectl_podsec.reports.data import check_json_stream
    from kubectl_podsec.usecases import CheckStream

    stream = CheckStream(options)
    for piece in check_json_stream(stream.head, stream.objects(), stream.result):
        sys.stdout.write(piece)
    run = stream.result()
    _say(run.said)
    _say(f"error: {error}" for error in run.errors)
    if run.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if stream.failing else EXIT_CLEAN


def _say(lines) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _compare_versions(args, result) -> int:
    from kubectl_podsec import compare
    from kubectl_podsec.levels import PolicyVersion
    from kubectl_podsec.reports.data import error_data, render_json, render_yaml

    try:
        old, new = compare.parse_pair(args.compare_versions)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.output not in ("text", "json", "yaml"):
        raise UsageError(f"--compare-versions prints text, json or yaml, not {args.output}")
    cap = result.policy_version.cap  # a live cluster's `latest` is its own minor version
    data = compare.compare(result.objects, PolicyVersion(old.requested, cap), PolicyVersion(new.requested, cap))
    data["errors"] = [error_data(error) for error in result.errors]
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    renderers = {"json": render_json, "yaml": render_yaml, "text": compare.render_text}
    sys.stdout.write(renderers[args.output](data))
    if result.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if data["changed"] else EXIT_CLEAN


def cmd_fix(args) -> int:
    if args.kustomize:
        raise UsageError(f"fix cannot change what kustomize renders: fix the resources that the "
                         f"kustomization in {' '.join(args.kustomize)} and its bases list "
                         "(kubectl podsec fix -f FILE), "
                         "or add the settings with a patch there")
    specs, resources = _split_inputs(args)
    if not specs:
        if not resources:
            raise UsageError("nothing to fix: give manifests with -f PATH (- for stdin) or TYPE/NAME")
        return cmd_fix_live(args, resources)
    if args.output in ("yaml", "patch"):
        raise UsageError(f"-o {args.output} is for a live object (TYPE/NAME); for files use diff or json")
    _refuse_terminal_stdin(specs, "fix")
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
    from kubectl_podsec.reports.data import render_json
    from kubectl_podsec.reports.diff import render_diff
    from kubectl_podsec.reports.fix import fix_data, fix_summary, note_text
    from kubectl_podsec.parallel import default_jobs
    from kubectl_podsec.usecases import FixOptions, run_fix

    run = run_fix(FixOptions(args.level, args.policy_version, tuple(specs), args.recursive,
                             args.stdin_filename or "-", stdin, args.unsafe_fixes, args.dry_run, _config(args),
                             default_jobs()))
    _say(f"note: {note.source}: {note_text(note)}" for note in run.notes)
    _say(f"error: {error}" for error in run.errors)
    sys.stderr.write(fix_summary(run))
    if args.output == "json":
        sys.stdout.write(render_json(fix_data(run)))
    elif args.dry_run:
        sys.stdout.write(_colour_diff(render_diff(run), _painter(sys.stdout, args.color)))
    elif stdin is not None:  # the filter: on any error, the input as it came
        sys.stdout.buffer.write(stdin if run.errors else run.filtered)
    if run.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if run.changed or run.unfixed else EXIT_CLEAN


def cmd_fix_live(args, resources: list) -> int:
    from kubectl_podsec.reports.data import render_json
    from kubectl_podsec.reports.diff import render_diff
    from kubectl_podsec.reports.fix import fix_data, fix_summary
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

        sys.stdout.write(render_patch(live.manifest, text.after))
    elif args.output == "json":
        sys.stdout.write(render_json(fix_data(run)))
    else:
        sys.stdout.write(_colour_diff(render_diff(run), _painter(sys.stdout, args.color)))
    return EXIT_FINDINGS if run.changed or run.unfixed else EXIT_CLEAN


def cmd_namespaces(args) -> int:
    from kubectl_podsec.reports.data import render_json, render_yaml
    from kubectl_podsec.reports.namespaces import namespaces_data, render_namespaces
    from kubectl_podsec.usecases import run_namespaces

    kubectl = _kubectl(args)
    run = run_namespaces(kubectl, list(args.names), args.policy_version, args.admission_config)
    _say(f"error: {error.message}" for error in run.errors)
    _say(kubectl.warnings)
    if args.output == "json":
        sys.stdout.write(render_json(namespaces_data(run.summaries)))
    elif args.output == "yaml":
        sys.stdout.write(render_yaml(namespaces_data(run.summaries)))
    elif run.summaries or not run.errors:  # nothing read: the error alone, no empty table
        sys.stdout.write(render_namespaces(run.summaries, _painter(sys.stdout, args.color)))
    if run.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if run.drift else EXIT_CLEAN


def _colour_diff(text: str, paint) -> str:
    colours = (("+++", "bold"), ("---", "bold"), ("diff ", "bold"), ("+", "green"), ("-", "red"), ("@@", "yellow"))
    out = []
    for line in text.splitlines(True):
        colour = next((c for prefix, c in colours if line.startswith(prefix)), None)
        body = line.rstrip("\r\n")
        out.append(paint(body, colour) + line[len(body):] if colour and body else line)
    return "".join(out)


def cmd_plan(args) -> int:
    from kubectl_podsec import plan
    from kubectl_podsec.checks import NEWEST_VERSION
    from kubectl_podsec.reports.data import error_data, render_json
    from kubectl_podsec.suppress import apply_exemptions
    from kubectl_podsec.usecases import load_admission, read_workloads

    config = _config(args)
    specs = [part for value in args.filename for part in value.split(",") if part]
    labels, names = None, list(args.names)
    if specs or args.kustomize:
        args.paths, args.stdin_filename = [], None
        result = read_workloads(_check_options(args, config))
        if names:
            result.objects = [r for r in result.objects if (r.workload.namespace or "") in names]
    else:
        from kubectl_podsec.live import plan_inputs

        result, labels = plan_inputs(_kubectl(args), names, args.policy_version, load_admission(args.admission_config))
    apply_exemptions(result.objects, config)
    pin = result.policy_version.resolve(NEWEST_VERSION)
    data = plan.build_plan(result.objects, labels, args.level, pin, labels is not None,
                           sorted(labels) if labels is not None else names)
    data["errors"] = [error_data(error) for error in result.errors]
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    renderers = {"json": render_json, "markdown": plan.render_markdown, "text": plan.render_text}
    sys.stdout.write(renderers[args.output](data))
    if result.errors:
        return EXIT_ERROR
    return EXIT_CLEAN if all(p["effort"] == "ready" for p in data["namespaces"]) else EXIT_FINDINGS


def cmd_audit(args) -> int:
    from kubectl_podsec import audit
    from kubectl_podsec.reports.data import render_json

    if "-" in args.files and sys.stdin is not None and sys.stdin.isatty():
        raise UsageError("refusing to read an audit log from a terminal: pipe it in (zcat audit.log.gz | "
                         "kubectl podsec audit -) or name the files")
    from kubectl_podsec.parallel import default_jobs

    log = audit.read_logs(args.files, getattr(sys.stdin, "buffer", sys.stdin), default_jobs())
    if args.resolve:
        from kubectl_podsec.cluster import Kubectl

        kubectl = Kubectl(args.kubectl, context=args.context, cluster=args.cluster, user=args.user,
                          kubeconfig=args.kubeconfig, request_timeout=args.request_timeout)
        unresolved = audit.resolve_owners(log, kubectl)
    else:
        unresolved = []
    data = audit.audit_data(log, args.group_by)
    for problem in log.problems:
        print(f"error: {problem}", file=sys.stderr)
    for message in unresolved:  # the groups are still given, from what the log says
        print(f"error: --resolve: {message}", file=sys.stderr)
    sys.stdout.write(render_json(data) if args.output == "json" else audit.render_text(data))
    if log.problems or unresolved:
        return EXIT_ERROR
    return EXIT_FINDINGS if data["groups"] else EXIT_CLEAN


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


def main(argv: Optional[list] = None) -> int:
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
