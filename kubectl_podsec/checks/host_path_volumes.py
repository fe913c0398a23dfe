"""The hostPathVolumes control: the standard's text, its versioned checks and its fix."""

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, VersionedCheck
from kubectl_podsec.checks.util import join_quote, pluralize
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions; replaced by restrictedVolumes in restricted"
STANDARD = """\
HostPath volumes must be forbidden.

Restricted fields: spec.volumes[*].hostPath
Allowed values: undefined/nil"""
FIX_TEXT = """\
a human must replace the volume, e.g. with a persistentVolumeClaim, configMap,
secret, emptyDir or a CSI driver that gives the workload what it reads from the node."""


def _check_1_0(meta: dict, spec: dict) -> CheckResult:
    bad, paths = [], []
    for index, volume in enumerate(spec.get("volumes") or ()):
        if volume.get("hostPath") is not None:
            bad.append(volume.get("name", ""))
            paths.append(("spec", "volumes", index, "hostPath"))
    if not bad:
        return ALLOWED
    return CheckResult(False, "hostPath volumes", f'{pluralize("volume", "volumes", len(bad))} {join_quote(bad)}',
                       tuple(paths))


CHECK = Check("hostPathVolumes", Level.BASELINE, (VersionedCheck(Version(0), _check_1_0),),
              summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT)
