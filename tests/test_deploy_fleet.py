"""deploy/: the fleet of issue 30 (compose.yaml: two demo replicas behind HAProxy, PostgreSQL, Prometheus), checked
without running it (no container runtime or image registry is assumed): the three files agree on the replicas' names
and port, the replicas write the compose PostgreSQL, only 127.0.0.1 is published, and promtool (and haproxy, when
installed) accept their configs."""
import os, re, shutil, subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / 'deploy'
PORT = 7860   # the demo's port in the image (Dockerfile: PORT=7860)


@pytest.fixture(scope='module')
def compose() -> dict: return yaml.safe_load((DEPLOY / 'compose.yaml').read_text())


def replicas(compose) -> list[str]: return sorted(n for n, s in compose['services'].items() if 'build' in s)


def test_compose_services(compose):
    s = compose['services']
    assert set(s) == {'demo1', 'demo2', 'lb', 'postgres', 'prometheus'} and replicas(compose) == ['demo1', 'demo2']
    db = s['postgres']['environment']
    for name in replicas(compose):
        demo = s[name]
        assert (DEPLOY / demo['build']['context'] / demo['build']['dockerfile']).resolve() == ROOT / 'Dockerfile'
        env = demo['environment']
        url = urlsplit(env['CIFAKE_LOG_DB'])
        assert (url.scheme, url.hostname, url.port, url.username, url.path) == ('postgresql', 'postgres', 5432, db['POSTGRES_USER'], '/' + db['POSTGRES_DB'])
        assert env['CIFAKE_INSTANCE'] == name and env['PORT'] == str(PORT) and 'ports' not in demo   # reached through the balancer only
        assert demo['depends_on']['postgres']['condition'] == 'service_healthy'
    for name, svc in s.items():   # everything published is on loopback
        assert all(str(p).startswith('127.0.0.1:') for p in svc.get('ports', [])), (name, svc['ports'])
        assert 'image' in svc and ('build' in svc or re.search(r':[\w.-]+$', svc['image'])), f'{name}: an image pinned by tag'


def test_balancer_and_prometheus_know_every_replica(compose):
    cfg = (DEPLOY / 'haproxy.cfg').read_text()
    servers = re.findall(r'^\s*server\s+(\S+)\s+(\S+)\s+cookie\s+(\S+)', cfg, re.M)
    assert servers == [(n, f'{n}:{PORT}', n) for n in replicas(compose)]
    assert re.search(r'^\s*cookie CIFAKE_REPLICA insert', cfg, re.M), 'a prediction (upload, call, result) must stay on one replica'
    prom = yaml.safe_load((DEPLOY / 'prometheus.yml').read_text())
    [job] = prom['scrape_configs']
    assert job['job_name'] == 'cifake-demo' and job['static_configs'][0]['targets'] == [f'{n}:{PORT}' for n in replicas(compose)]
    # the rule file's relative path resolves in the repository and in the container (compose mounts monitoring/ beside it)
    [rules] = prom['rule_files']
    assert (DEPLOY / rules).resolve() == ROOT / 'monitoring' / 'alerts.yml'
    mounts = dict(v.split(':')[:2] for v in compose['services']['prometheus']['volumes'])
    assert mounts['./prometheus.yml'] == '/etc/prometheus/prometheus.yml'
    assert os.path.join(mounts['../monitoring'], 'alerts.yml') == os.path.normpath(os.path.join('/etc/prometheus', rules))


@pytest.mark.skipif(shutil.which('promtool') is None, reason="promtool not installed (Debian: apt-get install prometheus; .ci/run installs it)")
def test_promtool_accepts_the_fleet_config():
    r = subprocess.run(['promtool', 'check', 'config', 'deploy/prometheus.yml'], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(shutil.which('haproxy') is None, reason='haproxy not installed (Debian: apt-get install haproxy): its config is checked by structure only')
def test_haproxy_accepts_the_balancer_config():
    r = subprocess.run(['haproxy', '-c', '-f', 'deploy/haproxy.cfg'], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
