"""The restrictedVolumes control: the standard's text, its versioned checks and its fix."""

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, VersionedCheck
from kubectl_podsec.checks.util import join_quote, pluralize
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions; replaces hostPathVolumes"
STANDARD = """\
The restricted policy only permits the following volume types.

Restricted fields: spec.volumes[*]
Allowed values: every volume must set one of configMap, csi, downwardAPI, emptyDir, ephemeral,
  image, persistentVolumeClaim, projected, secret.
A volume with no source at all is defaulted to emptyDir by the API server, and allowed."""
FIX_TEXT = """\
a human must replace the volume: persistentVolumeClaim for storage, configMap or
secret for configuration, emptyDir for scratch space, a CSI driver or ephemeral volume for
anything else."""

ALLOWED_SOURCES = (
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
    "projected", "secret",
)
# Upstream names a forbidden volume by the first of these it sets.
FORBIDDEN_SOURCES = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs",
    "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte",
    "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
)


def volume_type(volume: dict) -> str:
    return next((source for source in FORBIDDEN_SOURCES if volume.get(source) is not None), "unknown")


def _check_1_0(meta: dict, spec: dict) -> CheckResult:
    bad, types, paths = [], set(), []
    for index, volume in enumerate(spec.get("volumes") or ()):
        if any(volume.get(source) is not None for source in ALLOWED_SOURCES):
            continue
        bad.append(volume.get("name", ""))
        kind = volume_type(volume)
        types.add(kind)
        paths.append(("spec", "volumes", index) + ((kind,) if kind != "unknown" else ()))
    if not bad:
        return ALLOWED
    return CheckResult(
        False,
        "restricted volume types",
        f'{pluralize("volume", "volumes", len(bad))} {join_quote(bad)} {pluralize("uses", "use", len(bad))} '
        f'{pluralize("restricted volume type", "restricted volume types", len(types))} {join_quote(sorted(types))}',
        tuple(paths),
    )


CHECK = Check("restrictedVolumes", Level.RESTRICTED, (
    VersionedCheck(Version(0), _check_1_0, override_check_ids=("hostPathVolumes",)),
), summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT)
