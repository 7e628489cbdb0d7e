#!/usr/bin/env python3
"""Static checks of deploy/ (make deploy-check, part of make test), offline:
- hadolint on deploy/Dockerfile and deploy/Dockerfile.cuda (deploy/.hadolint.yaml);
- the Kubernetes manifests against the Kubernetes 1.37 schemas (kubernetes-validate, strict: unknown fields
  are errors), the GPU overlay merged onto the base Deployment and validated the same way, the CRDs
  (PodMonitor, KEDA ScaledObject) for the fields their operators require, and the drain arithmetic:
  terminationGracePeriodSeconds > preStop sleep + BREVITY_DRAIN_TIMEOUT;
- the compose files: every service has an image or a build whose Dockerfile exists, mounted files exist,
  ports are HOST:CONTAINER, health checks are exec lists on /ready, stop_grace_period outlasts the drain;
  and each file (with each of its profiles too: proxy, tracing) parsed by podman-compose's `config`, which
  resolves it as `up` would (undeclared volumes, bad ports and missing services are errors);
- the proxies: deploy/haproxy.cfg and bench/scaleout/haproxy.cfg pass `haproxy -c` and both health-check
  /ready and retry a request on another replica when one dies or drains (conn-failure, empty-response, 503,
  buffered bodies, redispatch); deploy/nginx.conf, parsed, retries the same way on every proxied location
  (proxy_next_upstream error http_503 non_idempotent, request bodies buffered).
Exits 1 with every problem listed. Usage: PYTHONPATH=<tools> check-deploy.py HADOLINT PODMAN_COMPOSE HAPROXY
"""
import copy
import os
import re
import subprocess
import sys

import kubernetes_validate
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DEPLOY = os.path.join(ROOT, "deploy")
K8S = "1.37.0"
DRAIN_DEFAULT = 30
problems = []


def load(path):
    with open(path) as f:
        return list(yaml.safe_load_all(f))


def validate(doc, where):
    try:
        kubernetes_validate.validate(doc, K8S, strict=True)
    except Exception as e:  # ValidationError, or an unknown kind / version
        problems.append(f"{where}: {str(e).splitlines()[0]}")


def seconds(v):
    m = re.fullmatch(r"(\d+)(s|m)?", str(v))
    return int(m.group(1)) * (60 if m.group(2) == "m" else 1) if m else None


# Dockerfiles
hadolint = sys.argv[1]
podman_compose = sys.argv[2]
for name in ["Dockerfile", "Dockerfile.cuda"]:
    r = subprocess.run([hadolint, "--no-color", "--config", os.path.join(DEPLOY, ".hadolint.yaml"), os.path.join(DEPLOY, name)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        problems.append(f"hadolint {name}:\n{r.stdout}{r.stderr}")

# Kubernetes
base = os.path.join(DEPLOY, "k8s", "base")
kustomization = load(os.path.join(base, "kustomization.yaml"))[0]
docs = {}
for res in kustomization["resources"] + ["keda-scaledobject.yaml"]:
    path = os.path.join(base, res)
    if not os.path.exists(path):
        problems.append(f"k8s/base/kustomization.yaml names {res}, which does not exist")
        continue
    for doc in load(path):
        docs[doc["kind"]] = doc
        if doc["apiVersion"].startswith(("monitoring.coreos.com/", "keda.sh/")):
            continue
        validate(doc, f"k8s/base/{res}")
pm, so = docs.get("PodMonitor"), docs.get("ScaledObject")
if not pm or not pm["spec"].get("podMetricsEndpoints") or pm["spec"]["podMetricsEndpoints"][0].get("path") != "/metrics":
    problems.append("k8s: the PodMonitor must scrape /metrics")
if not so or so["spec"]["scaleTargetRef"]["name"] != "brevity" or "brevity_queue_size" not in so["spec"]["triggers"][0]["metadata"]["query"]:
    problems.append("k8s: the ScaledObject must scale the brevity Deployment on brevity_queue_size")
hpa = docs.get("HorizontalPodAutoscaler")
if not hpa or hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] != "brevity_queue_size":
    problems.append("k8s: the HPA must follow brevity_queue_size")


def check_deployment(dep, where):
    spec = dep["spec"]["template"]["spec"]
    c = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    drain = float(env.get("BREVITY_DRAIN_TIMEOUT", DRAIN_DEFAULT))
    sleep = 0
    cmd = " ".join(c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", []))
    m = re.search(r"sleep (\d+)", cmd)
    if m:
        sleep = int(m.group(1))
    if spec.get("terminationGracePeriodSeconds", 30) <= sleep + drain:
        problems.append(f"{where}: terminationGracePeriodSeconds must exceed preStop sleep {sleep} s + drain {drain} s")
    if c["livenessProbe"]["httpGet"]["path"] != "/health" or c["readinessProbe"]["httpGet"]["path"] != "/ready":
        problems.append(f"{where}: liveness on /health and readiness on /ready")


def merge_container(base_c, patch_c):
    out = copy.deepcopy(base_c)
    env = {e["name"]: e for e in out.get("env", [])}
    for e in patch_c.get("env", []):
        env[e["name"]] = e
    out["env"] = list(env.values())
    for k, v in patch_c.items():
        if k not in ("env", "name"):
            out[k] = v
    return out


dep = docs.get("Deployment")
if dep:
    check_deployment(dep, "k8s/base/deployment.yaml")
    gpu = load(os.path.join(DEPLOY, "k8s", "gpu", "gpu-patch.yaml"))[0]
    merged = copy.deepcopy(dep)
    tspec, pspec = merged["spec"]["template"]["spec"], gpu["spec"]["template"]["spec"]
    for k, v in pspec.items():
        if k != "containers":
            tspec[k] = v
    for pc in pspec.get("containers", []):
        tspec["containers"] = [merge_container(c, pc) if c["name"] == pc["name"] else c for c in tspec["containers"]]
    validate(merged, "k8s/gpu overlay merged onto the base Deployment")
    check_deployment(merged, "k8s/gpu overlay")
    if "nvidia.com/gpu" not in tspec["containers"][0]["resources"]["limits"]:
        problems.append("k8s/gpu: the container must request nvidia.com/gpu")

# Compose
for name in ["compose.yml", "compose.gpu.yml"]:
    doc = load(os.path.join(DEPLOY, name))[0]
    for svc, s in doc["services"].items():
        where = f"{name} service {svc}"
        if "image" not in s and "build" not in s:
            problems.append(f"{where}: neither image nor build")
        if "build" in s:
            df = os.path.normpath(os.path.join(DEPLOY, s["build"]["context"], s["build"]["dockerfile"]))
            if not os.path.exists(df):
                problems.append(f"{where}: {df} does not exist")
        for v in s.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith("."):
                if not os.path.exists(os.path.join(DEPLOY, src)):
                    problems.append(f"{where}: mounts {src}, which does not exist")
            elif src not in (doc.get("volumes") or {}):
                problems.append(f"{where}: volume {src} is not declared")
        for p in s.get("ports", []):
            if not re.fullmatch(r"\d+:\d+", str(p)):
                problems.append(f"{where}: port {p} is not HOST:CONTAINER")
        if svc == "brevity":
            hc = s.get("healthcheck", {}).get("test", [])
            if not isinstance(hc, list) or not any("/ready" in x for x in hc):
                problems.append(f"{where}: the health check must be an exec list on /ready")
            g = seconds(s.get("stop_grace_period", "10s"))
            if g is None or g <= DRAIN_DEFAULT:
                problems.append(f"{where}: stop_grace_period must outlast the {DRAIN_DEFAULT} s drain")

    # the same file as podman-compose resolves it (it needs the podman binary, not a running engine)
    profiles = sorted({p for v in doc["services"].values() for p in v.get("profiles", [])})
    if "tracing" not in profiles:
        problems.append(f"{name}: no tracing profile (an OTLP collector)")
    if "OTEL_EXPORTER_OTLP_ENDPOINT" not in (doc["services"]["brevity"].get("environment") or {}):
        problems.append(f"{name}: brevity does not pass OTEL_EXPORTER_OTLP_ENDPOINT on")
    for extra in [[]] + [["--profile", p] for p in profiles]:
        r = subprocess.run([sys.executable, podman_compose, "-f", os.path.join(DEPLOY, name)] + extra + ["config"],
                           capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(podman_compose))))
        if r.returncode != 0:
            problems.append(f"{name} {' '.join(extra)}: podman-compose config failed: {(r.stderr or r.stdout).strip().splitlines()[-1:]}")
            continue
        resolved = yaml.safe_load(r.stdout)
        want = {k for k, v in doc["services"].items() if not v.get("profiles") or (extra and extra[1] in v["profiles"])}
        if set(resolved.get("services", {})) != want:
            problems.append(f"{name} {' '.join(extra)}: podman-compose resolved services {sorted(resolved.get('services', {}))}, expected {sorted(want)}")

# Proxies: a replica that dies (SIGKILL, OOM) or drains costs no request.
def haproxy_directives(path):
    """(section, directive line) pairs of an HAProxy configuration, comments dropped."""
    section, out = None, []
    for raw in open(path):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not raw[0].isspace():
            section = line.split()[0]
        else:
            out.append((section, line))
    return out


haproxy = sys.argv[3]
for cfg in [os.path.join(DEPLOY, "haproxy.cfg"), os.path.join(ROOT, "bench", "scaleout", "haproxy.cfg")]:
    where = os.path.relpath(cfg, ROOT)
    r = subprocess.run([haproxy, "-c", "-f", cfg], capture_output=True, text=True, env=dict(os.environ, LB_PORT="8790"))
    if r.returncode != 0:
        problems.append(f"{where}: haproxy -c failed: {(r.stderr or r.stdout).strip().splitlines()[-3:]}")
    lines = [l for _, l in haproxy_directives(cfg)]
    retry_on = next((l.split()[1:] for l in lines if l.startswith("retry-on")), [])
    for need in ["conn-failure", "empty-response", "503"]:
        if need not in retry_on:
            problems.append(f"{where}: retry-on must include {need} (a dead or draining replica's requests go to another)")
    for need in ["option http-buffer-request", "option httpchk GET /ready"]:
        if need not in lines:
            problems.append(f"{where}: missing `{need}`")
    if not any(l.startswith("option redispatch") for l in lines):
        problems.append(f"{where}: missing `option redispatch` (a retry must be free to pick another replica)")
    if not any(l.startswith("retries ") and int(l.split()[1]) >= 1 for l in lines):
        problems.append(f"{where}: `retries` must be at least 1")


def nginx_blocks(text):
    """An nginx configuration as nested [name, args, children] lists (directives have children None)."""
    tokens = re.findall(r'"[^"]*"|\'[^\']*\'|[{};]|[^\s{};]+', re.sub(r"#[^\n]*", "", text))
    def block(i):
        out, words = [], []
        while i < len(tokens):
            t = tokens[i]
            if t == ";":
                out.append([words[0], words[1:], None]); words = []
            elif t == "{":
                children, i = block(i + 1)
                out.append([words[0], words[1:], children]); words = []
            elif t == "}":
                return out, i
            else:
                words.append(t)
            i += 1
        return out, i
    return block(0)[0]


nginx = os.path.join(DEPLOY, "nginx.conf")
tree = nginx_blocks(open(nginx).read())
locations = [(args, children) for name, _, server in tree if name == "server"
             for name2, args, children in server if name2 == "location"]
if not locations:
    problems.append("deploy/nginx.conf: no location blocks")
for args, children in locations:
    d = {name: a for name, a, _ in children}
    if "proxy_pass" not in d:
        continue
    nxt = d.get("proxy_next_upstream", [])
    for need in ["error", "http_503", "non_idempotent"]:
        if need not in nxt:
            problems.append(f"deploy/nginx.conf location {' '.join(args)}: proxy_next_upstream must include {need}")
    if d.get("proxy_request_buffering") == ["off"]:
        problems.append(f"deploy/nginx.conf location {' '.join(args)}: request bodies must be buffered to be retried")
if not any(name == "upstream" and any(c[0] == "server" for c in children) for name, _, children in tree):
    problems.append("deploy/nginx.conf: the upstream lists no server")

if problems:
    print("deploy checks failed:\n- " + "\n- ".join(problems))
    sys.exit(1)
print(f"deploy checks passed: 2 Dockerfiles (hadolint), {len(docs)} Kubernetes resources and the GPU overlay "
      f"(Kubernetes {K8S} schemas, strict), 2 compose files (structure, and podman-compose config), "
      f"2 HAProxy configurations (haproxy -c, retries) and the nginx one ({len(locations)} locations retry)")
