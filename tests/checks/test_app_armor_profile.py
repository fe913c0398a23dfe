"""appArmorProfile (baseline, one variant from v1.0): docs/psa-semantics.md section 3.

Fields (pod and every container's appArmorProfile.type) are not covered by the upstream
fixtures, nor are ephemeral containers or the exact annotation quoting.
"""

import pytest
from checkhelp import ALL_MINORS, assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.app_armor_profile import CHECK

PFX = "container.apparmor.security.beta.kubernetes.io/"
ONE = "forbidden AppArmor profile"
MANY = "forbidden AppArmor profiles"


def aa(type_=None) -> dict:
    """A securityContext with appArmorProfile; type omitted when None (an empty object)."""
    return {"appArmorProfile": {} if type_ is None else {"type": type_}}


def test_identity():
    assert CHECK.id == "appArmorProfile"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0]


@pytest.mark.parametrize("minor", ALL_MINORS)
def test_active_at_every_version(minor):
    # Library 0.30 made the field checks retroactive to every policy version.
    assert_denied(run(CHECK, minor, pod(securityContext=aa("Unconfined"))),
                  ONE, 'pod must not set AppArmor profile type to "Unconfined"')


@pytest.mark.parametrize("spec, meta", [
    pytest.param(pod(), {}, id="empty"),
    pytest.param(pod([ctr("a")]), {}, id="no-profile"),
    pytest.param(pod([ctr("a", {})]), {}, id="empty-securityContext"),
    pytest.param(pod(securityContext=aa("RuntimeDefault")), {}, id="pod-runtimedefault"),
    pytest.param(pod(securityContext={"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}}), {},
                 id="pod-localhost"),
    pytest.param(pod([ctr("a", aa("RuntimeDefault"))], [ctr("i", aa("Localhost"))], [ctr("e", aa("RuntimeDefault"))]),
                 {}, id="containers-allowed-types"),
    pytest.param(pod(), {"annotations": {PFX + "a": ""}}, id="annotation-empty-value"),
    pytest.param(pod(), {"annotations": {PFX + "a": "runtime/default"}}, id="annotation-runtime-default"),
    pytest.param(pod(), {"annotations": {PFX + "a": "localhost/foo"}}, id="annotation-localhost"),
    pytest.param(pod(), {"annotations": {PFX + "a": "localhost/"}}, id="annotation-localhost-bare"),
    pytest.param(pod(), {"annotations": {"env": "prod", "apparmor.security.beta.kubernetes.io/a": "unconfined",
                                         "container.seccomp.security.alpha.kubernetes.io/a": "unconfined"}},
                 id="unrelated-annotations"),
])
def test_allowed(spec, meta):
    for minor in (0, 30, 37):
        assert_allowed(run(CHECK, minor, spec, meta))


@pytest.mark.parametrize("spec, reason, detail", [
    pytest.param(pod(securityContext=aa()), ONE, 'pod must not set AppArmor profile type to ""',
                 id="pod-object-without-type"),
    pytest.param(pod(securityContext=aa("")), ONE, 'pod must not set AppArmor profile type to ""',
                 id="pod-empty-type"),
    pytest.param(pod(securityContext=aa("Unconfined")), ONE, 'pod must not set AppArmor profile type to "Unconfined"',
                 id="pod-unconfined"),
    pytest.param(pod([ctr("a", aa("runtime/default"))]), ONE,
                 'container "a" must not set AppArmor profile type to "runtime/default"', id="annotation-value-as-type"),
    pytest.param(pod([ctr("a", aa("runtimedefault"))]), ONE,
                 'container "a" must not set AppArmor profile type to "runtimedefault"', id="case-sensitive"),
    pytest.param(pod([ctr("a", aa("Unconfined")), ctr("b", aa("Unconfined"))]), ONE,
                 'containers "a", "b" must not set AppArmor profile type to "Unconfined"',
                 id="one-distinct-value-two-containers"),
    pytest.param(pod([ctr("e", aa("Unconfined"))]), ONE,
                 'container "e" must not set AppArmor profile type to "Unconfined"', id="regular-named-e"),
    pytest.param(pod(ephemeral=[ctr("dbg", aa("Unconfined"))]), ONE,
                 'container "dbg" must not set AppArmor profile type to "Unconfined"', id="ephemeral-only"),
    pytest.param(pod([ctr("a", aa("Unconfined")), ctr("ok", aa("RuntimeDefault"))], [ctr("i", aa())],
                     [ctr("e", aa("Unconfined"))]), MANY,
                 'containers "i", "a", "e" must not set AppArmor profile type to "", "Unconfined"',
                 id="init-regular-ephemeral-order"),
    pytest.param(pod([ctr("a", aa("Unconfined"))], securityContext=aa("Unconfined")), ONE,
                 'pod and container "a" must not set AppArmor profile type to "Unconfined"', id="pod-and-container"),
    pytest.param(pod([ctr("a", aa("zzz"))], securityContext=aa("Unconfined")), MANY,
                 'pod and container "a" must not set AppArmor profile type to "Unconfined", "zzz"',
                 id="sorted-distinct-types"),
    pytest.param(pod([ctr("a", aa("Unconfined"))], securityContext=aa("RuntimeDefault")), ONE,
                 'container "a" must not set AppArmor profile type to "Unconfined"',
                 id="good-pod-does-not-cover-bad-container"),
])
def test_fields_denied(spec, reason, detail):
    assert_denied(run(CHECK, 37, spec), reason, detail)


# --- annotations ---------------------------------------------------------------------------
# Each bad annotation is `key=%q(value)`, then quoted again by joinQuote, which is plain
# double-quoting (no escaping): the spec's example is
#   "container.apparmor.security.beta.kubernetes.io/c="unconfined""
ANNOTATION_CASES = [
    pytest.param({PFX + "c": "unconfined"}, pod(), ONE,
                 f'annotation must not set AppArmor profile type to "{PFX}c="unconfined""', id="one-annotation"),
    pytest.param({PFX + "ghost": "unconfined"}, pod([ctr("a")]), ONE,
                 f'annotation must not set AppArmor profile type to "{PFX}ghost="unconfined""',
                 id="key-for-no-container"),
    pytest.param({PFX: "bogus"}, pod(), ONE,
                 f'annotation must not set AppArmor profile type to "{PFX}="bogus""', id="prefix-only-key"),
    pytest.param({PFX + "f": "unknown", PFX + "a": "", PFX + "b": "runtime/default", PFX + "e": "unconfined",
                  PFX + "d": "localhost/foo"}, pod(), MANY,
                 f'annotations must not set AppArmor profile type to "{PFX}e="unconfined"", "{PFX}f="unknown""',
                 id="sorted-annotations"),
    pytest.param({PFX + "a": "RuntimeDefault"}, pod(), ONE,
                 f'annotation must not set AppArmor profile type to "{PFX}a="RuntimeDefault""',
                 id="field-value-as-annotation"),
    pytest.param({PFX + "a": 'un"conf'}, pod(), ONE,
                 f'annotation must not set AppArmor profile type to "{PFX}a="un\\"conf""', id="go-quoted-value"),
    pytest.param({PFX + "a": "unconfined"}, pod([ctr("a", aa("Unconfined"))]), MANY,
                 f'container "a" and annotation must not set AppArmor profile type to "Unconfined", '
                 f'"{PFX}a="unconfined""', id="type-plus-annotation-counts-two"),
    pytest.param({PFX + "x": "unconfined", PFX + "y": "unconfined"},
                 pod([ctr("a", aa("Unconfined"))], ephemeral=[ctr("e", aa())], securityContext=aa("")), MANY,
                 f'pod and containers "a", "e" and annotations must not set AppArmor profile type to '
                 f'"", "Unconfined", "{PFX}x="unconfined"", "{PFX}y="unconfined""', id="everything"),
]


@pytest.mark.parametrize("annotations, spec, reason, detail", ANNOTATION_CASES)
def test_annotations_verdict_and_reason(annotations, spec, reason, detail):
    result = run(CHECK, 0, spec, {"annotations": annotations})
    assert not result.allowed
    assert result.reason == reason


@pytest.mark.parametrize("annotations, spec, reason, detail", ANNOTATION_CASES)
def test_annotations_detail(annotations, spec, reason, detail):
    assert_denied(run(CHECK, 0, spec, {"annotations": annotations}), reason, detail)


def test_paths():
    spec = pod([ctr("a", aa("Unconfined"))], ephemeral=[ctr("e", aa())], securityContext=aa("x"))
    result = run(CHECK, 37, spec, {"annotations": {PFX + "a": "unconfined"}})
    assert set(result.paths) == {
        ("spec", "securityContext", "appArmorProfile", "type"),
        ("spec", "containers", 0, "securityContext", "appArmorProfile", "type"),
        ("spec", "ephemeralContainers", 0, "securityContext", "appArmorProfile", "type"),
        ("metadata", "annotations", PFX + "a"),
    }
