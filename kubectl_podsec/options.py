"""From parsed flags to the use cases' options: the config file in force, the user's kubectl
with its flags, the inputs. Reads the config file; judges nothing and prints nothing."""

from __future__ import annotations

import argparse
import sys

from kubectl_podsec.arguments import split_inputs
from kubectl_podsec.errors import UsageError


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def kubectl_of(args: argparse.Namespace):
    from kubectl_podsec.cluster import Kubectl

    return Kubectl(args.kubectl, args.namespace, args.all_namespaces, args.selector, args.field_selector,
                   args.context, args.cluster, args.user, args.kubeconfig, args.request_timeout, args.chunk_size)


def config_of(args: argparse.Namespace):
    """The .podsec.yaml in force (its pod templates give the run its WorkloadKinds), or None."""
    from kubectl_podsec.checks import BY_ID
    from kubectl_podsec.config import ConfigError, find_config, load_config

    path = args.config or find_config()
    if path is None:
        return None
    try:
        return load_config(path, BY_ID)
    except ConfigError as error:
        raise UsageError(f"config {error.problem}") from None


def check_options(args: argparse.Namespace):
    from kubectl_podsec.parallel import default_jobs
    from kubectl_podsec.usecases import CheckOptions

    specs, resources = split_inputs(args)
    return CheckOptions(
        args.level, args.policy_version, tuple(specs), tuple(resources), tuple(args.kustomize), args.recursive,
        args.stdin_filename or "-", "-" in specs and stdin_is_terminal(), config_of(args),
        getattr(args, "baseline", None), getattr(args, "write_baseline", None), kubectl_of(args),
        getattr(args, "admission_config", None), default_jobs())


def fix_inputs(args: argparse.Namespace) -> tuple[list, list]:
    """`fix`'s manifests, or its one live object (TYPE/NAME), refusing what fix cannot do."""
    if args.kustomize:
        raise UsageError(f"fix cannot change what kustomize renders: fix the resources that the "
                         f"kustomization in {' '.join(args.kustomize)} and its bases list "
                         "(kubectl podsec fix -f FILE), or add the settings with a patch there")
    specs, resources = split_inputs(args)
    if specs:
        if args.output in ("yaml", "patch"):
            raise UsageError(f"-o {args.output} is for a live object (TYPE/NAME); for files use diff or json")
        return specs, []
    if not resources:
        raise UsageError("nothing to fix: give manifests with -f PATH (- for stdin) or TYPE/NAME")
    if len(resources) != 1 or "/" not in resources[0]:
        raise UsageError("fix reads one live object at a time: kubectl podsec fix TYPE/NAME [-n NS]")
    return [], resources


def fix_options(args: argparse.Namespace, specs: list, stdin: bytes | None):
    from kubectl_podsec.parallel import default_jobs
    from kubectl_podsec.usecases import FixOptions

    return FixOptions(args.level, args.policy_version, tuple(specs), args.recursive, args.stdin_filename or "-",
                      stdin, args.unsafe_fixes, args.dry_run, config_of(args), default_jobs(),
                      diff=args.dry_run and args.output != "json")


def audit_options(args: argparse.Namespace):
    from kubectl_podsec.parallel import default_jobs
    from kubectl_podsec.usecases import AuditOptions

    return AuditOptions(tuple(args.files), args.group_by, kubectl_of(args) if args.resolve else None,
                        getattr(sys.stdin, "buffer", sys.stdin), "-" in args.files and stdin_is_terminal(),
                        default_jobs())
