"""The production shapes: Kubernetes manifests (deploy/), docker-compose.yml and .env.example.

There is no cluster and no Docker engine where the tests run, so the files are parsed with PyYAML and held
to what they must agree on: with each other (selectors, named ports, the Secret, the Service behind the
Ingress), with the image (its non-root user and port) and with the bot itself (the settings it reads,
its shutdown timeout, and the probe paths it actually serves).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.__main__ import shutdown_seconds
from bot.settings import Settings

# A SIGTERM waits for runs in flight up to ZAPIER_TIMEOUT_SECONDS (its default here: neither file sets it).
SHUTDOWN_SECONDS = shutdown_seconds(Settings.model_fields["zapier_timeout_seconds"].default)

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - what a container must bind so that probes and peers reach it
API_VERSIONS = {
    "Deployment": "apps/v1",
    "Service": "v1",
    "PodDisruptionBudget": "policy/v1",
    "Ingress": "networking.k8s.io/v1",
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
}
SECRET_NAMES = re.compile(r"TOKEN|SECRET|KEY|PASSWORD|REDIS_URL")

Doc = dict[str, Any]


def load_all(path: Path) -> list[Doc]:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    assert all(isinstance(d, dict) for d in docs), f"{path.name}: every document must be a mapping"
    return docs


@pytest.fixture(scope="module")
def manifests() -> dict[str, Doc]:
    """Every document in deploy/*.yaml by kind (one of each)."""
    by_kind: dict[str, Doc] = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in load_all(path):
            assert doc["kind"] not in by_kind, f"two {doc['kind']} documents"
            by_kind[doc["kind"]] = {**doc, "_file": path.name}
    return by_kind


@pytest.fixture(scope="module")
def deployment(manifests: dict[str, Doc]) -> Doc:
    return manifests["Deployment"]


@pytest.fixture(scope="module")
def container(deployment: Doc) -> Doc:
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


@pytest.fixture(scope="module")
def compose() -> Doc:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def image_is_pinned(image: str) -> bool:
    """A tag other than `latest`, or a digest: `name:1.2`, `registry:5000/name:1.2`, `name@sha256:...`."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in {"", "latest"}


def env_of(container: Doc) -> dict[str, str]:
    return {e["name"]: str(e.get("value")) for e in container.get("env", [])}


def test_deploy_has_the_kinds_it_needs_with_current_api_versions(manifests: dict[str, Doc]) -> None:
    """deploy/ holds a Deployment, Service, PodDisruptionBudget, Ingress and Kustomization, on GA APIs."""
    assert set(manifests) == set(API_VERSIONS)
    for kind, doc in manifests.items():
        assert doc["apiVersion"] == API_VERSIONS[kind], kind
        if kind != "Kustomization":
            assert doc["metadata"]["name"] == "zapbot", kind


def test_kustomization_lists_every_resource_but_the_optional_ingress(manifests: dict[str, Doc]) -> None:
    """`kubectl apply -k deploy/` makes the Deployment, Service and PDB; the Ingress is HTTP mode's extra."""
    listed = manifests["Kustomization"]["resources"]
    assert all((DEPLOY / name).is_file() for name in listed)
    kinds = {manifests[k]["_file"]: k for k in manifests}
    assert {kinds[name] for name in listed} == {"Deployment", "Service", "PodDisruptionBudget"}


def test_selectors_agree(manifests: dict[str, Doc], deployment: Doc) -> None:
    """The Deployment's, the Service's and the PDB's selectors all pick exactly the pods of the template."""
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert manifests["Service"]["spec"]["selector"] == selector
    assert manifests["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector


def test_the_disruption_budget_leaves_room_to_drain_a_node(
    manifests: dict[str, Doc], deployment: Doc
) -> None:
    """minAvailable is below the replica count, so a drain can evict one pod while others serve."""
    replicas = deployment["spec"]["replicas"]
    min_available = manifests["PodDisruptionBudget"]["spec"]["minAvailable"]
    assert 1 <= min_available < replicas
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_probes_ports_and_service_line_up(manifests: dict[str, Doc], container: Doc) -> None:
    """Startup on /healthz, liveness on /livez, readiness on /readyz, on the named port that PORT binds; the
    Service targets that port and the Ingress exposes only /slack/events through the Service."""
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": int(env_of(container)["PORT"])}
    assert env_of(container)["HOST"] == ALL_INTERFACES
    probes = {
        name: container[name]["httpGet"] for name in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert {name: probe["path"] for name, probe in probes.items()} == {
        "startupProbe": "/healthz",
        "livenessProbe": "/livez",
        "readinessProbe": "/readyz",
    }
    assert all(probe["port"] in ports for probe in probes.values())
    [service_port] = manifests["Service"]["spec"]["ports"]
    assert service_port["targetPort"] in ports
    [rule] = manifests["Ingress"]["spec"]["rules"]
    [path] = rule["http"]["paths"]
    assert path["path"] == "/slack/events" and path["pathType"] == "Exact"
    backend = path["backend"]["service"]
    assert backend == {"name": "zapbot", "port": {"name": service_port["name"]}}


def test_the_pod_runs_as_the_image_user_without_privileges(deployment: Doc, container: Doc) -> None:
    """Non-root (the Dockerfile's uid), no privilege escalation, no capabilities, a read-only root with
    a small /tmp, and no service-account token."""
    dockerfile_user = re.search(r"^USER (\d+):(\d+)$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert dockerfile_user is not None
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(dockerfile_user.group(1)) != 0
    assert pod["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]  # noqa: S108 - a pod's own emptyDir


def test_resources_are_requested_and_memory_is_limited(container: Doc) -> None:
    """CPU and memory requests for scheduling, and a memory limit."""
    resources = container["resources"]
    assert {"cpu", "memory"} <= resources["requests"].keys()
    assert "memory" in resources["limits"]


def test_secrets_come_from_a_secret_and_images_are_pinned(container: Doc, compose: Doc) -> None:
    """Tokens, keys and REDIS_URL come only from the `zapbot` Secret (envFrom), never inline; no image
    (Kubernetes or Compose) is `latest` or untagged."""
    assert container["envFrom"] == [{"secretRef": {"name": "zapbot"}}]
    assert not [name for name in env_of(container) if SECRET_NAMES.search(name)]
    images = [container["image"]] + [s["image"] for s in compose["services"].values()]
    assert all(image_is_pinned(image) for image in images), images
    assert not image_is_pinned("redis") and not image_is_pinned("redis:latest")


def test_the_grace_period_covers_the_pre_stop_pause_and_the_bots_drain(
    deployment: Doc, container: Doc
) -> None:
    """Kubernetes waits longer than the preStop pause plus the bot's own shutdown, so a run confirmed just
    before a rollout is finished rather than killed."""
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > int(command[1]) + SHUTDOWN_SECONDS


def test_compose_runs_redis_with_aof_on_a_volume(compose: Doc) -> None:
    """Redis appends every write to its AOF in a named volume, evicts nothing, and has a healthcheck."""
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[0] == "redis-server"
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--appendonly"] == "yes" and options["--maxmemory-policy"] == "noeviction"
    volume, _, mount = redis["volumes"][0].partition(":")
    assert mount == "/data" and volume in compose["volumes"]
    assert "redis-cli" in redis["healthcheck"]["test"]


def test_compose_bot_uses_the_env_file_the_redis_service_and_its_port(compose: Doc) -> None:
    """The bot reads secrets from .env, reaches Redis by service name once it is healthy, binds the port it
    publishes, and gets longer than its own shutdown to stop."""
    bot = compose["services"]["bot"]
    assert bot["build"] == "." and (REPO / "Dockerfile").is_file()
    assert bot["env_file"] == ".env"
    environment = bot["environment"]
    assert environment["REDIS_URL"].startswith("redis://redis:")
    assert environment["HOST"] == ALL_INTERFACES
    [published] = bot["ports"]
    assert published.rsplit(":", 1)[1] == environment["PORT"]
    assert published.startswith("127.0.0.1:")  # HTTPS comes from a proxy in front, not from the bot
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    assert int(bot["stop_grace_period"].removesuffix("s")) > SHUTDOWN_SECONDS


def test_env_example_names_exactly_the_settings_a_deployment_sets() -> None:
    """.env.example lists every required setting and both ways to reach Slack, and nothing the bot does
    not read; .env itself stays out of Git and out of the image."""
    names = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    fields = {name.upper() for name in Settings.model_fields}
    required = {name.upper() for name, field in Settings.model_fields.items() if field.is_required()}
    assert names <= fields
    assert required | {"SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "REDIS_URL"} <= names
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()
    assert ".env" in (REPO / ".dockerignore").read_text().splitlines()
