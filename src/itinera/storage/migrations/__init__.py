"""The Alembic migration environment of an Itinera store, shipped with the package.

``env.py`` is Alembic's environment script, ``script.py.mako`` the template of new revisions
and ``versions/`` the revisions, oldest first (``0001_initial`` creates the tables of
``itinera.storage.schema``). They are driven by ``itinera.storage.migrate`` (and ``itinera db``)
with a configuration built in code: no ``alembic.ini``.

A new revision, after a change to ``schema.py``: bring a scratch database to the latest
revision, let autogenerate write the difference, then review it by hand::

    from alembic import command
    from itinera.storage import migrate

    migrate.upgrade("sqlite:///scratch.db")
    command.revision(migrate.config("sqlite:///scratch.db"), "what changed",
                     autogenerate=True, rev_id="0002")

Autogenerate does not see everything (``sqlite_autoincrement``, SERIAL or not):
``tests/contract/test_migrations.py`` fails until the migrations build exactly the tables of
``schema.py``, as ``metadata.create_all`` would, on SQLite and PostgreSQL.
"""

__all__: list[str] = []
