"""The Helm chart in helm/dataset-service: lint, render, Kubernetes schemas, probes, values schema, GPUs.

Everything runs offline through helm-python-sdk (Helm's Go SDK as a library: no helm binary,
no cluster) and kubernetes-validate (the Kubernetes OpenAPI schemas it ships).
"""
from __future__ import annotations

import base64
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

CHART = Path(__file__).resolve().parents[2] / "helm" / "dataset-service"
RELEASE = "labeling"
NAMESPACE = "datasets"
GPU = "nvidia.com/gpu"
# The oldest Kubernetes the chart supports and the newest whose schemas kubernetes-validate ships.
KUBE_VERSIONS = ("1.29.0", latest_version())

MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
GPU_AND_INGRESS = {  # also an HTTPS object store with a private CA, the worker's buckets, another peer of the worker
    "s3": {"endpointUrl": "https://s3.internal:9000", "caBundle": {"configMap": "corp-ca", "key": "root.pem"}},
    "networkPolicy": {"extraInferenceFrom": [MONITORING]},
    "inference": {
        "buckets": ["photos", "scans.2026"],
        "gpu": True,
        "replicas": 3,
        "runtimeClassName": "nvidia",
        "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"memory": "8Gi"}},
        "nodeSelector": {"nvidia.com/gpu.present": "true"},
        "tolerations": [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}],
    },
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "16m"},
        "hosts": [{"host": "labeling.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}],
        "tls": [{"secretName": "labeling-tls", "hosts": ["labeling.example.com"]}],
    },
}


@pytest.fixture(scope="module")
def chart():
    with helm.Chart.load(CHART) as loaded:
        yield loaded


def render(chart: helm.Chart, values: dict | None = None) -> list[dict]:
    """Render offline and return every Kubernetes object, in template order."""
    manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects = []
    for path, text in sorted(manifests.items()):
        if not path.endswith(".yaml"):
            continue  # NOTES.txt
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def deployment(objects: list[dict], component: str) -> dict:
    return by_kind(objects, "Deployment")[f"{RELEASE}-dataset-service-{component}"]


def only_container(obj: dict) -> dict:
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def gpus(container: dict) -> dict[str, object]:
    resources = container.get("resources", {})
    return {
        part: resources[part][GPU]
        for part in ("requests", "limits")
        if GPU in resources.get(part, {})
    }


@pytest.fixture(scope="module")
def default_objects(chart) -> list[dict]:
    return render(chart)


@pytest.fixture(scope="module")
def gpu_objects(chart) -> list[dict]:
    return render(chart, GPU_AND_INGRESS)


@pytest.fixture(scope="module", params=["default", "gpu+ingress"])
def objects(request, default_objects, gpu_objects) -> list[dict]:
    return {"default": default_objects, "gpu+ingress": gpu_objects}[request.param]


# --- lint -----------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [None, GPU_AND_INGRESS], ids=["default", "gpu+ingress"])
def test_lint_is_clean_in_strict_mode(values):
    report = helm.lint(CHART, values, strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSIONS[0]}")
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # 2 warning, 3 error
    assert problems == []


def test_lint_reports_values_the_schema_refuses():
    report = helm.lint(CHART, {"api": {"replicas": "two"}})
    assert any("/api/replicas" in error for error in report["errors"]), report


# --- rendered objects ------------------------------------------------------------------------


def test_default_render_has_every_part(default_objects):
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in default_objects)
    name = f"{RELEASE}-dataset-service"
    assert kinds == sorted([
        ("ConfigMap", name),
        ("Deployment", f"{name}-api"),
        ("Deployment", f"{name}-inference"),
        ("Deployment", f"{name}-jobs"),
        ("NetworkPolicy", f"{name}-inference"),
        ("Secret", name),
        ("Service", f"{name}-api"),
        ("Service", f"{name}-inference"),
        ("ServiceAccount", name),
    ])


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_every_object_is_valid_kubernetes(objects, kube_version):
    assert objects
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} at {list(exc.path)}: {exc.message}")


def test_every_container_has_liveness_and_readiness_probes(objects):
    pod_specs = [o["spec"]["template"]["spec"] for o in objects if o["kind"] in ("Deployment", "Job")]
    assert len(pod_specs) >= 3
    for spec in pod_specs:
        for container in spec["containers"]:
            assert container.get("livenessProbe"), container["name"]
            assert container.get("readinessProbe"), container["name"]
        for container in spec.get("initContainers", []):
            # Kubernetes refuses these on (non-sidecar) init containers.
            assert not {"livenessProbe", "readinessProbe", "startupProbe"} & container.keys()


def test_http_probes_hit_the_health_endpoints(default_objects):
    for component, port in (("api", 8080), ("inference", 8090)):
        container = only_container(deployment(default_objects, component))
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_commands_of_the_three_processes(default_objects):
    api = only_container(deployment(default_objects, "api"))
    assert api["command"][0] == "gunicorn" and api["command"][-1] == "dataset_service:create_app()"
    assert "--bind=0.0.0.0:8080" in api["command"]

    inference = only_container(deployment(default_objects, "inference"))
    assert inference["command"][0] == "gunicorn"
    assert inference["command"][-1] == "inference_worker.app:create_app()"
    assert "--bind=0.0.0.0:8090" in inference["command"] and "--workers=1" in inference["command"]

    jobs = only_container(deployment(default_objects, "jobs"))
    assert jobs["command"][:3] == ["celery", "--app=dataset_service.jobs.celery_app", "worker"]
    # The probe pings the node name the worker was started with.
    assert "--hostname=celery@$(POD_NAME)" in jobs["command"]
    assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in jobs["env"]
    probe = jobs["livenessProbe"]["exec"]["command"]
    assert "inspect ping" in probe[-1] and "celery@${POD_NAME}" in probe[-1]


def test_api_migrates_the_database_before_starting(default_objects):
    spec = deployment(default_objects, "api")["spec"]["template"]["spec"]
    [init] = spec["initContainers"]
    assert init["command"] == ["flask", "--app", "dataset_service", "db", "upgrade"]
    assert init["envFrom"] == only_container(deployment(default_objects, "api"))["envFrom"]


def test_migrations_can_be_turned_off(chart):
    objects = render(chart, {"migrations": {"enabled": False}})
    assert "initContainers" not in deployment(objects, "api")["spec"]["template"]["spec"]


def test_settings_reach_the_processes(default_objects):
    name = f"{RELEASE}-dataset-service"
    config = by_kind(default_objects, "ConfigMap")[name]["data"]
    assert set(config) == {"S3_ENDPOINT_URL", "S3_REGION", "S3_PATH_STYLE", "REDIS_URL", "WORKER_URL"}
    service = by_kind(default_objects, "Service")[f"{name}-inference"]
    assert config["WORKER_URL"] == f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    assert config["S3_PATH_STYLE"] == "true"

    secret = by_kind(default_objects, "Secret")[name]
    assert set(secret["data"]) == {"DATABASE_URL", "SECRET_KEY", "S3_ACCESS_KEY", "S3_SECRET_KEY", "WORKER_TOKEN"}
    assert secret["data"]["SECRET_KEY"]  # generated when appSecretKey is empty

    for component in ("api", "jobs"):
        env_from = only_container(deployment(default_objects, component))["envFrom"]
        assert env_from == [{"configMapRef": {"name": name}}, {"secretRef": {"name": name}}]
    # The inference worker only gets the object-store settings, not the database or SECRET_KEY.
    inference_env = {e["name"] for e in only_container(deployment(default_objects, "inference"))["env"]}
    assert {"S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY", "S3_SECRET_KEY"} <= inference_env
    assert not {"DATABASE_URL", "SECRET_KEY"} & inference_env


def test_a_private_ca_of_the_object_store_reaches_every_pod_that_talks_to_it(default_objects, gpu_objects):
    for component in ("api", "jobs", "inference"):
        pod = deployment(gpu_objects, component)["spec"]["template"]["spec"]
        container = only_container(deployment(gpu_objects, component))
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["S3_CA_BUNDLE"] == "/etc/dataset-service/s3-ca/root.pem"
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == "s3-ca"]
        assert mount == {"name": "s3-ca", "mountPath": "/etc/dataset-service/s3-ca", "readOnly": True}
        (volume,) = [v for v in pod["volumes"] if v["name"] == "s3-ca"]
        assert volume["configMap"]["name"] == "corp-ca"

        plain = deployment(default_objects, component)
        assert "S3_CA_BUNDLE" not in {e["name"] for e in only_container(plain)["env"]}
        assert "s3-ca" not in {v["name"] for v in plain["spec"]["template"]["spec"]["volumes"]}
    inference_env = {e["name"] for e in only_container(deployment(default_objects, "inference"))["env"]}
    assert "S3_PATH_STYLE" in inference_env  # the worker addresses the store like the api does


def env_of(objects: list[dict], component: str) -> dict[str, dict]:
    return {e["name"]: e for e in only_container(deployment(objects, component))["env"]}


def test_the_worker_token_reaches_the_api_the_jobs_and_the_worker(chart, default_objects):
    name = f"{RELEASE}-dataset-service"
    secret = by_kind(default_objects, "Secret")[name]["data"]
    assert len(base64.b64decode(secret["WORKER_TOKEN"])) >= 32  # generated when workerToken is empty
    for component in ("api", "jobs"):  # they take the whole Secret, WORKER_TOKEN with it
        assert {"secretRef": {"name": name}} in only_container(deployment(default_objects, component))["envFrom"]
    token = env_of(default_objects, "inference")["WORKER_TOKEN"]
    assert token == {"name": "WORKER_TOKEN", "valueFrom": {"secretKeyRef": {"name": name, "key": "WORKER_TOKEN"}}}

    given = render(chart, {"workerToken": "a-token-of-our-own"})
    assert base64.b64decode(by_kind(given, "Secret")[name]["data"]["WORKER_TOKEN"]) == b"a-token-of-our-own"
    # A new token rolls the pods on both sides of it.
    for component in ("api", "jobs", "inference"):
        annotations = [deployment(o, component)["spec"]["template"]["metadata"]["annotations"] for o in (default_objects, given)]
        assert annotations[0]["checksum/secret"] != annotations[1]["checksum/secret"]


def test_the_workers_buckets_come_from_the_values(default_objects, gpu_objects):
    assert "WORKER_BUCKETS" not in env_of(default_objects, "inference")  # any bucket: the embedded default
    assert env_of(gpu_objects, "inference")["WORKER_BUCKETS"] == {"name": "WORKER_BUCKETS", "value": "photos,scans.2026"}


def test_only_the_api_and_the_jobs_may_reach_the_inference_pods(objects):
    [policy] = by_kind(objects, "NetworkPolicy").values()
    inference = deployment(objects, "inference")["spec"]["template"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= inference["metadata"]["labels"].items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]  # egress (the object store) stays open
    [rule] = policy["spec"]["ingress"]
    port = only_container(deployment(objects, "inference"))["ports"][0]["containerPort"]
    assert rule["ports"] == [{"port": port, "protocol": "TCP"}]
    peers = [peer["podSelector"]["matchLabels"] for peer in rule["from"] if "podSelector" in peer]
    reached = {
        component for component in ("api", "jobs", "inference")
        if any(p.items() <= deployment(objects, component)["spec"]["template"]["metadata"]["labels"].items() for p in peers)
    }
    assert reached == {"api", "jobs"} and len(peers) == 2
    # No policy selects the api pods: the ingress (or anyone) reaches them as before.
    api_labels = deployment(objects, "api")["spec"]["template"]["metadata"]["labels"]
    assert not policy["spec"]["podSelector"]["matchLabels"].items() <= api_labels.items()


def test_further_peers_of_the_inference_pods_come_from_the_values(default_objects, gpu_objects):
    def others(objects):
        [policy] = by_kind(objects, "NetworkPolicy").values()
        return [peer for peer in policy["spec"]["ingress"][0]["from"] if "podSelector" not in peer]

    assert others(default_objects) == [] and others(gpu_objects) == [MONITORING]


def test_the_network_policy_can_be_turned_off(chart):
    assert by_kind(render(chart, {"networkPolicy": {"enabled": False}}), "NetworkPolicy") == {}


def test_existing_secret_replaces_the_charts_secret(chart):
    objects = render(chart, {"existingSecret": "prod-credentials", "database": {"url": ""}})
    assert by_kind(objects, "Secret") == {}
    api = only_container(deployment(objects, "api"))
    assert {"secretRef": {"name": "prod-credentials"}} in api["envFrom"]
    inference = only_container(deployment(objects, "inference"))
    secret_refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in inference["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert secret_refs == {"prod-credentials"}


def test_services_select_their_deployments_pods(objects):
    deployments = by_kind(objects, "Deployment")
    for service in by_kind(objects, "Service").values():
        target = deployments[service["metadata"]["name"]]
        labels = target["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()
        assert target["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    # Components never select each other's pods.
    selectors = [tuple(sorted(d["spec"]["selector"]["matchLabels"].items())) for d in deployments.values()]
    assert len(set(selectors)) == len(selectors)


def test_pods_run_as_non_root_with_a_read_only_root(objects):
    for obj in by_kind(objects, "Deployment").values():
        spec = obj["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        assert spec["serviceAccountName"] == f"{RELEASE}-dataset-service"
        for container in spec["containers"] + spec.get("initContainers", []):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_ingress_only_when_enabled_and_it_routes_to_the_api(default_objects, gpu_objects):
    assert by_kind(default_objects, "Ingress") == {}
    [ingress] = by_kind(gpu_objects, "Ingress").values()
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["labeling.example.com"], "secretName": "labeling-tls"}]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": f"{RELEASE}-dataset-service-api", "port": {"number": 8080}}


# --- GPUs ------------------------------------------------------------------------------------


def test_no_gpu_is_requested_by_default(default_objects):
    for obj in by_kind(default_objects, "Deployment").values():
        for container in obj["spec"]["template"]["spec"]["containers"]:
            assert gpus(container) == {}, obj["metadata"]["name"]


def test_inference_requests_gpus_only_when_enabled(gpu_objects):
    inference = deployment(gpu_objects, "inference")
    container = only_container(inference)
    assert gpus(container) == {"limits": 1}
    # The user's own requests and limits survive next to the GPU.
    assert container["resources"] == {
        "requests": {"cpu": "2", "memory": "8Gi"},
        "limits": {"memory": "8Gi", GPU: 1},
    }
    spec = inference["spec"]
    assert spec["replicas"] == 3
    assert spec["template"]["spec"]["runtimeClassName"] == "nvidia"
    assert spec["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    # GPU scheduling is the inference worker's alone.
    for component in ("api", "jobs"):
        pod = deployment(gpu_objects, component)["spec"]["template"]["spec"]
        assert gpus(only_container(deployment(gpu_objects, component))) == {}
        assert "nodeSelector" not in pod and "tolerations" not in pod


def test_gpu_count_and_switching_gpus_off_again(chart):
    two = only_container(deployment(render(chart, {"inference": {"gpu": True, "gpuCount": 2}}), "inference"))
    assert gpus(two) == {"limits": 2}
    off = only_container(deployment(render(chart, {"inference": {"gpu": False, "gpuCount": 2}}), "inference"))
    assert gpus(off) == {}


# --- values schema ----------------------------------------------------------------------------


# Chart.validate_schema coalesces the given values with the chart's defaults first, as an
# install does; a None value removes a default, as `--set key=null` does.


def test_schema_accepts_the_defaults_and_the_gpu_values(chart):
    chart.validate_schema(None)
    chart.validate_schema(GPU_AND_INGRESS)


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"api": {"replicas": "two"}}, "/api/replicas"),
        ({"inference": {"replicas": -1}}, "/inference/replicas"),
        ({"inference": {"gpu": "yes"}}, "/inference/gpu"),
        ({"jobs": {"readinessProbe": None}}, "readinessProbe"),
        ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
        ({"replicaCount": 2}, "replicaCount"),
        ({"database": {"url": ""}}, "/database/url"),
        ({"inference": {"buckets": "photos"}}, "/inference/buckets"),
        ({"inference": {"buckets": ["s3://photos"]}}, "/inference/buckets"),
        ({"networkPolicy": {"enabled": "yes"}}, "/networkPolicy/enabled"),
    ],
    ids=["replicas-string", "negative-replicas", "gpu-not-bool", "probe-removed", "pull-policy", "unknown-key", "no-database",
         "buckets-not-a-list", "bucket-not-a-name", "network-policy-not-bool"],
)
def test_schema_rejects_bad_values(chart, values, where):
    with pytest.raises(helm.HelmValuesError, match=where):
        chart.validate_schema(values)
    with pytest.raises(helm.HelmValuesError):
        chart.render(values, name=RELEASE, namespace=NAMESPACE)
