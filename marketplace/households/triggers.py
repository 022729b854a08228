"""Database triggers that make ledger_entries append-only, for both databases.
Used by the migration (and by the tests, which must empty tables between runs)."""

SQLITE_CREATE = [
    "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries "
    "BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END",
    "CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries "
    "BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS ledger_entries_no_update", "DROP TRIGGER IF EXISTS ledger_entries_no_delete"]

POSTGRES_CREATE = [
    "CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'ledger_entries is append-only'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
    "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()",
]
POSTGRES_DROP = ["DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries",
                 "DROP FUNCTION IF EXISTS ledger_entries_append_only()"]


def statements(dialect: str, create: bool) -> list[str]:
    if dialect == "postgresql":
        return POSTGRES_CREATE if create else POSTGRES_DROP
    return SQLITE_CREATE if create else SQLITE_DROP
