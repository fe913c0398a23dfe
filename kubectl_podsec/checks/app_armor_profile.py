"""The appArmorProfile control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Safety, VersionedCheck
from kubectl_podsec.checks.util import (
    container_contexts,
    containers,
    containers_phrase,
    go_quote,
    join_quote,
    pluralize,
    pod_security_context,
    security_context,
)
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions"
STANDARD = """\
On supported hosts, the RuntimeDefault AppArmor profile is applied by default. The baseline
policy should prevent overriding or disabling the default AppArmor profile, or restrict
overrides to an allowed set of profiles.

Restricted fields:
  spec.securityContext.appArmorProfile.type
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.appArmorProfile.type
  metadata.annotations["container.apparmor.security.beta.kubernetes.io/*"]
Allowed values:
  type: RuntimeDefault, Localhost (or no appArmorProfile at all)
  annotation: "", runtime/default, localhost/*

Versions: the field checks apply at every policy version (library 0.30 added them
retroactively); every annotation with the prefix counts, whatever container it names."""
FIX_TEXT = """\
remove the forbidden profile (the runtime default then applies)."""

ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
ALLOWED_TYPES = ("RuntimeDefault", "Localhost")


def allowed_annotation_value(value: str) -> bool:
    return value == "" or value == "runtime/default" or value.startswith("localhost/")


def _check_1_0(meta: dict, spec: dict) -> CheckResult:
    setters, values = [], set()
    paths: list[tuple] = []
    profile = pod_security_context(spec).get("appArmorProfile")
    if profile is not None and profile.get("type", "") not in ALLOWED_TYPES:
        setters.append("pod")
        values.add(profile.get("type", ""))
        paths.append(("spec", "securityContext", "appArmorProfile", "type"))
    bad_containers = []
    for container, path in containers(spec):
        profile = security_context(container).get("appArmorProfile")
        if profile is not None and profile.get("type", "") not in ALLOWED_TYPES:
            bad_containers.append(container.get("name", ""))
            values.add(profile.get("type", ""))
            paths.append(path + ("securityContext", "appArmorProfile", "type"))
    if bad_containers:
        setters.append(containers_phrase(bad_containers))
    bad_annotations = []
    for key, value in (meta.get("annotations") or {}).items():
        if key.startswith(ANNOTATION_PREFIX) and not allowed_annotation_value(value):
            bad_annotations.append(f"{key}={go_quote(value)}")
            paths.append(("metadata", "annotations", key))
    bad_values = sorted(values)
    if bad_annotations:
        bad_values += sorted(bad_annotations)
        setters.append(pluralize("annotation", "annotations", len(bad_annotations)))
    if not bad_values:
        return ALLOWED
    return CheckResult(
        False,
        pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(bad_values)),
        f"{' and '.join(setters)} must not set AppArmor profile type to {join_quote(bad_values)}",
        tuple(paths),
    )



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    edits = []
    profile = pod_security_context(spec).get("appArmorProfile")
    if profile is not None and profile.get("type", "") not in ALLOWED_TYPES:
        edits.append(Edit(CHECK_ID, "set", ("spec", "securityContext", "appArmorProfile", "type"), "RuntimeDefault",
                          safe=False))
    for _, path, context in container_contexts(spec):
        profile = context.get("appArmorProfile")
        if profile is not None and profile.get("type", "") not in ALLOWED_TYPES:
            edits.append(Edit(CHECK_ID, "set", path + ("securityContext", "appArmorProfile", "type"),
                              "RuntimeDefault", safe=False))
    for key, value in (meta.get("annotations") or {}).items():
        if key.startswith(ANNOTATION_PREFIX) and not allowed_annotation_value(value):
            edits.append(Edit(CHECK_ID, "set", ("metadata", "annotations", key), "runtime/default", safe=False))
    return edits


CHECK_ID = "appArmorProfile"
CHECK = Check(CHECK_ID, Level.BASELINE, (VersionedCheck(Version(0), _check_1_0),),
              summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix, fix_safety=Safety.UNSAFE,
    fix_risk="the runtime's default AppArmor profile confines the container: some writes to /proc and /sys, mounts and ptrace are denied")
