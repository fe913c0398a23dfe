"""The command line's arguments: every subcommand's flags and help, and how the positional
arguments are read (manifests or cluster resources). kubectl too keeps its flag definitions
apart from its commands."""

from __future__ import annotations

import argparse
import os

from kubectl_podsec import __version__
from kubectl_podsec.levels import Level, PolicyVersion


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


def _add_colour_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--color", "--colour", choices=("auto", "always", "never"), default="auto",
                        help="colour the text output: auto (default: on a terminal, unless NO_COLOR is set or "
                             "TERM=dumb; FORCE_COLOR turns it on), always or never")


class Parser(argparse.ArgumentParser):
    """The top parser; it knows its subcommands' parsers, for errors said in their own usage."""

    subcommands: dict[str, Parser]


def build_parser() -> Parser:
    parser = Parser(
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
    namespaces.add_argument("--config", metavar="FILE",
                            help="custom pod templates (default: .podsec.yaml here or above)")
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
    # The scope flags audit does not take: the Kubectl for --resolve is built as for the others.
    audit.set_defaults(namespace=None, all_namespaces=False, selector=None, field_selector=None, chunk_size=None)

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


def split_inputs(args) -> tuple:
    """(manifest specs, cluster resources). Without -f, positional arguments are files when
    one of them is a file or looks like one (a missing one is then an error among the
    results, as with -f), and otherwise resources, as kubectl takes them (deploy/web, pods)."""
    specs = [part for value in args.filename for part in value.split(",") if part]
    if specs:
        return specs + list(args.paths), []
    if any(p == "-" or os.path.exists(p) or _looks_like_file(p) for p in args.paths):
        return list(args.paths), []
    return [], list(args.paths)
