"""tests/pgserver.py, the private PostgreSQL that issue 30's tests start: it takes connections from psycopg on its URL, keeps
a committed row across a stop and a start, refuses connections while stopped, and refuses a wrong password."""
import pytest

from pgserver import pg_fixture

postgres = pg_fixture()


def test_pgserver_survives_a_restart(postgres):
    psycopg = pytest.importorskip('psycopg', reason='psycopg is not installed (pip install -r requirements.txt)')
    assert postgres.url.startswith('postgresql://cifake:') and f'@127.0.0.1:{postgres.port}/cifake' in postgres.url
    with psycopg.connect(postgres.url, connect_timeout=10) as conn:   # commits when the block ends
        assert conn.execute('SELECT current_user, current_database()').fetchone() == ('cifake', 'cifake')
        conn.execute('CREATE TABLE kept (id int PRIMARY KEY, note text)')
        conn.execute("INSERT INTO kept VALUES (1, 'before the restart')")

    with postgres.stopped():
        assert not postgres.running
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(postgres.url, connect_timeout=3)
    assert postgres.running

    with psycopg.connect(postgres.url, connect_timeout=10) as conn:
        assert conn.execute('SELECT id, note FROM kept').fetchall() == [(1, 'before the restart')]
        conn.execute('DROP TABLE kept')

    postgres.stop('immediate')      # a crash stop loses no committed row either (synchronous_commit stays on)
    postgres.start()
    assert postgres.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'kept'", dbname='cifake').strip() == '0'

    with pytest.raises(psycopg.OperationalError, match='password authentication failed'):
        psycopg.connect(postgres.url_for(password='wrong'), connect_timeout=10)
    other = postgres.create_database('empty')
    with psycopg.connect(other, connect_timeout=10) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
