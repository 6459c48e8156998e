"""Search's tables: the stemmed word index (migration 5) and the part-of-word index
(migration 22).

The Porter FTS tables of migration 5 match whole words by stem, which is right for
English and German but finds nothing inside an id (``FBA15H`` of ``FBA15HX7KQ2D``) or
inside a Japanese or Chinese sentence, where no space separates the words. So subjects
and message texts are also indexed by every run of three characters (FTS5's
``trigram`` tokenizer):

- ``cases_grams`` / ``messages_grams``: contentless (``content=''``, the text stays in
  ``cases``/``messages`` only) and ``detail='none'`` (no positions: a fifth of the size
  of a full trigram index). A query of 3+ characters is the AND of its trigrams, and the
  few rows that hold them all but not in a row are dropped by checking the stored text.
- ``*_grams_terms``: the index's vocabulary (``fts5vocab``). A query of one or two
  characters (a Japanese word is often two) is no trigram, but every place it occurs
  begins one: the terms in the range ``[q, q + U+10FFFF)`` name them, and OR-ing those
  terms finds the rows. Each text is indexed with two spaces appended, so a word at its
  very end begins a trigram too.

Triggers keep both in step with every write (the sync, import, reparse, anything), in
plain SQL so that a database opened by another tool (Datasette, sqlite3) stays
writable. A contentless index deletes by being told the old text, which the triggers
have. As for the Porter tables' triggers, rows must be changed by UPDATE, DELETE or
``INSERT ... ON CONFLICT DO UPDATE`` (the store's upserts), not ``INSERT OR REPLACE``,
whose deletes fire no trigger. ``rebuild`` fills the index from the stored text: no
re-sync.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

from companion.schema import views

PAD = "'  '"  # two spaces after every text: see the module docstring

# (index, table, text column)
INDEXES = (("cases_grams", "cases", "subject"), ("messages_grams", "messages", "text"))


def _ddl(index: str, table: str, column: str) -> list[str]:
    value = f"coalesce(new.[{column}], '') || {PAD}"
    old = f"coalesce(old.[{column}], '') || {PAD}"
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS [{index}] USING fts5("
        f"[{column}], content='', tokenize='trigram', detail='none')",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS [{index}_terms] USING fts5vocab([{index}], 'row')",
        f"CREATE TRIGGER IF NOT EXISTS [{index}_ai] AFTER INSERT ON [{table}] BEGIN "
        f"INSERT INTO [{index}](rowid, [{column}]) VALUES (new.rowid, {value}); END",
        f"CREATE TRIGGER IF NOT EXISTS [{index}_ad] AFTER DELETE ON [{table}] BEGIN "
        f"INSERT INTO [{index}]([{index}], rowid, [{column}]) "
        f"VALUES ('delete', old.rowid, {old}); END",
        # A re-captured message rewrites every column: only a changed text re-indexes.
        f"CREATE TRIGGER IF NOT EXISTS [{index}_au] AFTER UPDATE ON [{table}] "
        f"WHEN old.[{column}] IS NOT new.[{column}] OR old.rowid != new.rowid BEGIN "
        f"INSERT INTO [{index}]([{index}], rowid, [{column}]) "
        f"VALUES ('delete', old.rowid, {old}); "
        f"INSERT INTO [{index}](rowid, [{column}]) VALUES (new.rowid, {value}); END",
    ]


def create(db: sqlite_utils.Database) -> None:
    """Tables, vocabularies and triggers (safe to run twice), then the index filled."""
    for index, table, column in INDEXES:
        for sql in _ddl(index, table, column):
            db.execute(sql)
    rebuild(db)


def rebuild(db: sqlite_utils.Database) -> None:
    """Fill both indexes again from the stored subjects and texts (after a restore or a
    VACUUM, which may renumber rowids, as for the Porter tables' ``rebuild``)."""
    for index, table, column in INDEXES:
        db.execute(f"INSERT INTO [{index}]([{index}]) VALUES ('delete-all')")
        db.execute(f"INSERT INTO [{index}](rowid, [{column}]) "
                   f"SELECT rowid, coalesce([{column}], '') || {PAD} FROM [{table}]")


# The word indexes (migration 5, sqlite-utils' own triggers) and the part-of-word ones.
WORD_INDEXES = (("cases_fts", "cases"), ("messages_fts", "messages"))


@contextmanager
def deferred(db: sqlite_utils.Database) -> Iterator[None]:
    """Inside one transaction the caller holds: the four indexes' triggers set aside while
    the block rewrites ``cases`` and ``messages`` wholesale, then every index filled once
    from the stored text and the triggers put back as they were (their own SQL). A row
    at a time, the triggers made SQLite's FTS5 write a segment per statement: most of a
    rebuild's time. Being one transaction, a failure or a kill leaves the indexes as
    they were, in step with the tables."""
    if not db.conn.in_transaction:
        raise RuntimeError("search.deferred needs the caller's transaction")
    tables = [t for _, t in WORD_INDEXES]
    saved = db.execute(
        "select name, sql from sqlite_master where type = 'trigger' and tbl_name in "
        f"({', '.join('?' * len(tables))})", tables).fetchall()
    indexes = [i for i, _ in WORD_INDEXES] + [i for i, _, _ in INDEXES]
    ours = [(name, sql) for name, sql in saved
            if any(f"[{i}]" in sql or f'"{i}"' in sql for i in indexes)]
    for name, _ in ours:
        db.execute(f"DROP TRIGGER [{name}]")
    yield
    for index, _ in WORD_INDEXES:
        if db[index].exists():
            db.execute(f"INSERT INTO [{index}]([{index}]) VALUES ('rebuild')")
    rebuild(db)
    for _, sql in ours:
        db.execute(sql)


def v5(db: sqlite_utils.Database) -> None:
    """Search should find "invoices" when a seller types "invoice", and "Produktsicherheit"
    with or without umlauts typed right: rebuild both FTS tables with the Porter stemmer
    over unicode61 with diacritics folded. The rebuild reads the stored text, so nothing
    has to be synced again."""
    for table, columns in (("messages", ["text"]), ("cases", ["subject"])):
        if db[f"{table}_fts"].exists():
            db[table].disable_fts()
        db[table].enable_fts(columns, create_triggers=True,
                             tokenize="porter unicode61 remove_diacritics 2")


def v22(db: sqlite_utils.Database) -> None:
    """Search finds what people type (part of an id, two characters of a Japanese
    subject: this module, filled from the stored text), and views that make the
    tables readable in Datasette (``views``). The category index: the timeline and
    the cases table list the categories on every page, 4 ms without it on 10,000 cases."""
    create(db)
    views.create(db)
    db["cases"].create_index(["category"], if_not_exists=True)
