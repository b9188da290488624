"""A private PostgreSQL server for tests: Debian's `postgresql` binaries start a throw-away cluster in a temporary folder,
listening on a free 127.0.0.1 port with password authentication, and remove it afterwards.

    from pgserver import pg_fixture
    postgres = pg_fixture()              # a session fixture; pg_fixture('function') gives each test its own server

    def test_something(postgres):
        postgres.url                     # postgresql://cifake:<password>@127.0.0.1:<port>/cifake (an ordinary role)
        postgres.url_for(password='x')   # the same with another password, user, database, port
        postgres.sql('CREATE DATABASE other OWNER cifake')   # as the superuser, through psql
        with postgres.stopped():         # the server is down inside the block and back on the same port and data after it
            time.sleep(10)

Without PostgreSQL the fixture skips with one line (the same line for every test, so `pytest -rs` folds them), the way
tests/test_prometheus_e2e.py skips without Prometheus. We run as root here and `initdb` refuses root, so as root every
server command runs as the `postgres` user that Debian's package creates. The cluster is tuned for tests, not for
durability across a machine crash: fsync is off (a stopped or killed server loses nothing, the OS still holds the
pages), synchronous_commit stays on (a commit the client saw survives `stop(mode='immediate')`).
Every wait is bounded (pg_ctl -t); a server left behind by a killed test run shuts itself down within a minute of its
folder being removed (the postmaster checks its lock file)."""
import os, pwd, re, secrets, shutil, socket, subprocess, tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

APP_USER, APP_DB = 'cifake', 'cifake'   # the ordinary role and database `url` names (the demo's, not a superuser's)
TIMEOUT = 60                            # s, the longest any server command may take (initdb, start, stop)


def find_bin_dir() -> Path | None:
    "The folder holding initdb, pg_ctl, postgres and psql: the newest /usr/lib/postgresql/<version>/bin, else where PATH's pg_ctl points."
    def version(p: Path) -> tuple: return tuple(int(x) for x in re.findall(r'\d+', p.parent.name))
    found = [p for p in Path('/usr/lib/postgresql').glob('*/bin') if all((p / b).exists() for b in ('initdb', 'pg_ctl', 'psql'))]
    if found: return max(found, key=version)
    if (w := shutil.which('pg_ctl')) and all((Path(w).resolve().parent / b).exists() for b in ('initdb', 'psql')): return Path(w).resolve().parent
    return None


def missing() -> str | None:
    "Why a server cannot be started here (one line, naming the fix), or None when it can."
    if find_bin_dir() is None:
        return ('PostgreSQL is not installed (no initdb/pg_ctl/psql under /usr/lib/postgresql/*/bin or on PATH): '
                'Debian: apt-get install postgresql; .ci/run installs it')
    if os.geteuid() == 0:
        try: pwd.getpwnam('postgres')
        except KeyError: return "running as root and there is no 'postgres' user to run initdb as (Debian's postgresql package creates it)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class PgServer:
    "A PostgreSQL cluster of its own in a temporary folder on 127.0.0.1:`port`; `start`, `stop`, `stopped()`, `close`."
    def __init__(self, port: int | None = None):
        if (why := missing()): raise RuntimeError(why)
        self.bin = find_bin_dir()
        self.port = port or free_port()
        self.password, self.admin_password = secrets.token_hex(12), secrets.token_hex(12)
        self.root = Path(tempfile.mkdtemp(prefix='cifake-pg-'))   # short: the unix socket's path must fit in 107 bytes
        self.data, self.log = self.root / 'data', self.root / 'server.log'
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            pw = pwd.getpwnam('postgres')
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        try: self._initdb()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ running the binaries
    def _run(self, *cmd, check: bool = True, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
        "Run one of the cluster's binaries (as `postgres` when we are root); fail with its output and the server log's tail."
        env = {k: v for k, v in os.environ.items() if not k.startswith('PG')}
        env.update(LC_ALL='C.UTF-8', LANG='C.UTF-8', HOME=str(self.root))
        kw = dict(user='postgres', group='postgres', extra_groups=[]) if self.as_postgres else {}
        r = subprocess.run([str(self.bin / cmd[0]), *map(str, cmd[1:])], cwd=self.root, env=env, capture_output=True,
                           text=True, timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise RuntimeError(f'{cmd[0]} failed ({r.returncode}): {(r.stderr or r.stdout).strip()}\n-- server log:\n{self.log_tail()}')
        return r

    def _initdb(self):
        pwfile = self.root / 'pwfile'
        pwfile.write_text(self.admin_password + '\n')
        if self.as_postgres: shutil.chown(pwfile, 'postgres', 'postgres')
        self._run('initdb', '-D', self.data, '-U', 'postgres', f'--pwfile={pwfile}', '--auth-local=trust',
                  '--auth-host=scram-sha-256', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync')
        pwfile.unlink()
        with (self.data / 'postgresql.conf').open('a') as f:
            f.write(f"""
# tests/pgserver.py: a throw-away cluster for tests
listen_addresses = '127.0.0.1'
port = {self.port}
unix_socket_directories = '{self.root}'
fsync = off
full_page_writes = off
synchronous_commit = on
shared_buffers = 16MB
max_connections = 60
log_min_messages = warning
""")
        self.start()
        self.sql(f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{self.password}'", f'CREATE DATABASE {APP_DB} OWNER {APP_USER}')

    # ------------------------------------------------------------ addresses
    @property
    def url(self) -> str:
        "The demo's URL: the ordinary role `cifake` on its own database `cifake`."
        return self.url_for()

    @property
    def admin_url(self) -> str: return self.url_for(user='postgres', password=self.admin_password, dbname='postgres')

    def url_for(self, user: str = APP_USER, password: str | None = None, dbname: str = APP_DB, port: int | None = None) -> str:
        "A URL to this server with any part changed: a wrong password, another database, a port nothing listens on."
        return f'postgresql://{user}:{self.password if password is None else password}@127.0.0.1:{port or self.port}/{dbname}'

    # ------------------------------------------------------------ control
    @property
    def running(self) -> bool: return self._run('pg_ctl', 'status', '-D', self.data, check=False).returncode == 0

    def start(self):
        "Start the server and wait until it accepts connections (same port, same data as before a `stop`)."
        self._run('pg_ctl', 'start', '-D', self.data, '-l', self.log, '-w', '-t', TIMEOUT, timeout=TIMEOUT + 10)

    def stop(self, mode: str = 'fast'):
        "Stop the server: 'fast' (sessions cut, a clean shutdown), 'smart' (waits for sessions), 'immediate' (a crash: no checkpoint)."
        self._run('pg_ctl', 'stop', '-D', self.data, '-m', mode, '-w', '-t', TIMEOUT, timeout=TIMEOUT + 10)

    @contextmanager
    def stopped(self, mode: str = 'fast'):
        "The server down for the `with` block, started again (same port and data) when the block ends, however it ends."
        self.stop(mode)
        try: yield self
        finally: self.start()

    def sql(self, *statements: str, dbname: str = 'postgres') -> str:
        "Run statements as the superuser through psql on the unix socket (each in its own transaction); psql's unaligned output."
        args = [a for s in statements for a in ('-c', s)]
        return self._run('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', self.root, '-p', self.port,
                         '-U', 'postgres', '-d', dbname, *args).stdout

    def create_database(self, name: str, owner: str = APP_USER) -> str:
        "A new empty database owned by `owner`; its URL for the app role."
        self.sql(f'CREATE DATABASE "{name}" OWNER {owner}')
        return self.url_for(dbname=name)

    def log_tail(self, n: int = 20) -> str:
        try: return '\n'.join(self.log.read_text(errors='replace').splitlines()[-n:])
        except OSError: return '(no server log yet)'

    def close(self):
        "Stop the server (a crash stop: its data is thrown away) and remove its folder."
        try:
            if self.data.exists() and self.running: self.stop('immediate')
        finally: shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self): return self
    def __exit__(self, *exc): self.close()
    def __repr__(self): return f'PgServer(127.0.0.1:{self.port}, {self.root}, {"running" if self.running else "stopped"})'


def pg_fixture(scope: str = 'session', name: str = 'postgres'):
    """A pytest fixture called `name` (assign it to a module variable of that name) yielding a started `PgServer`;
    skips (one line) when PostgreSQL cannot be started here. `scope='function'` for tests that break their server."""
    @pytest.fixture(scope=scope, name=name)
    def postgres():
        if (why := missing()): pytest.skip(why)
        with PgServer() as pg: yield pg
    return postgres
