"""What went wrong with the destination, in the user's terms, for errors no retry can fix.

dlt reports a missing password as a dump of a dozen environment variable spellings, and a
locked DuckDB file as a credentials problem; both would be retried for minutes. Here each
such error becomes a SourceError that names the setting, the privilege, the path or the
process to deal with; `explain` returns None for everything else (a refused or reset
connection, a server restarting), which stays retryable as before. PostgreSQL's messages are
matched in English (its default `lc_messages`), by SQLSTATE where the server sends one.
Nothing here prints a credential: connection strings are never quoted, only user and host.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator

import dlt
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    InvalidNativeValue,
    LookupTraces,
)
from dlt.common.configuration.specs import CredentialsConfiguration
from dlt.common.destination.client import DestinationClientConfiguration

from assets.destinations import duckdb_dir
from assets.duckdb_files import busy_error, lock_holder, storage_error
from assets.errors import AccessDenied, AuthenticationFailed, ConfigurationError, SourceError

# What a missing write permission on a full or read-only disk looks like in any OSError.
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
_QUOTED = re.compile(r'"([^"]+)"')
_SERVER = re.compile(r'connection to server at "(?P<host>[^"]+)", port (?P<port>\d+)')
INSUFFICIENT_PRIVILEGE = "42501"
INVALID_SCHEMA = "3F000"
DISK_FULL = "53100"
READ_ONLY_TRANSACTION = "25006"


def causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def explain(error: BaseException, destination: str, dataset: str) -> SourceError | None:
    """The user's version of a destination error no retry can fix, else None."""
    for cause in causes(error):
        explained = (
            _missing_setting(cause, destination)
            or _unreadable_setting(cause, destination)
            or _duckdb_error(cause)
            or _postgres_error(cause, destination, dataset)
            or _storage_error(cause)
        )
        if explained is not None:
            return explained
    return None


def credentials_setting(destination: str, *fields: str) -> str:
    return "__".join(["DESTINATION", destination.upper(), "CREDENTIALS", *fields]).upper()


def _missing_setting(error: BaseException, destination: str) -> SourceError | None:
    if not isinstance(error, ConfigFieldMissingException) or not isinstance(
        error.config, DestinationClientConfiguration
    ):
        return None
    missing = sorted(_missing_paths(error.traces))
    if destination == "postgres":  # configured as one connection string
        lacking = ", ".join(path[-1] for path in missing)
        return ConfigurationError(
            f"LOAD_DESTINATION=postgres, and {credentials_setting(destination)} has no "
            f"{lacking}: set it to postgresql://user:password@host:5432/database (or "
            "[destination.postgres] credentials in .dlt/secrets.toml)."
        )
    names = ", ".join("__".join(["DESTINATION", destination, *p]).upper() for p in missing)
    return ConfigurationError(
        f"LOAD_DESTINATION={destination} lacks {names} (environment variables, or the same "
        f"keys under [destination.{destination}] in .dlt/secrets.toml)."
    )


def _missing_paths(traces: dict, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for field, field_traces in traces.items():
        nested = [t for t in field_traces if isinstance(t, LookupTraces)]
        if nested:
            for trace in nested:
                yield from _missing_paths(trace.traces, (*prefix, field))
        else:
            yield (*prefix, field)


def _unreadable_setting(error: BaseException, destination: str) -> SourceError | None:
    if not isinstance(error, InvalidNativeValue) or not issubclass(
        error.spec, CredentialsConfiguration
    ):
        return None
    example = (
        " such as postgresql://user:password@host:5432/database"
        if destination == "postgres"
        else ""
    )
    return ConfigurationError(
        f"{credentials_setting(destination)} is not a connection string dlt can read; it "
        f"expects one{example}. (The value is not shown: it may hold a password.)"
    )


def _duckdb_error(error: BaseException) -> SourceError | None:
    holder = lock_holder(error)
    if holder is not None:  # taken by another process after the load started
        return busy_error(holder, 0)
    text = str(error)
    if type(error).__module__.split(".")[0] not in ("duckdb", "_duckdb"):
        return None
    for words, reason in (
        ("No space left on device", errno.ENOSPC),
        ("Read-only file system", errno.EROFS),
        ("Permission denied", errno.EACCES),
    ):
        if words in text:
            path = _QUOTED.search(text)
            return _storage_error(OSError(reason, words, path[1] if path else None))
    return None


def _storage_error(error: BaseException) -> SourceError | None:
    if not isinstance(error, OSError) or error.errno not in STORAGE_ERRNOS:
        return None
    return storage_error(error, duckdb_dir())


def _postgres_error(error: BaseException, destination: str, dataset: str) -> SourceError | None:
    if type(error).__module__.split(".")[0] != "psycopg2":
        return None
    text = str(error).strip()
    first_line = text.splitlines()[0] if text else ""
    code = getattr(error, "pgcode", None)
    setting = credentials_setting(destination)
    server = _SERVER.search(text)
    where = f"PostgreSQL at {server['host']}:{server['port']}" if server else "PostgreSQL"
    user = _postgres_user(destination)
    role = f'"{user}"' if user else f"the user in {setting}"
    if "password authentication failed" in text or "no password supplied" in text:
        return AuthenticationFailed(
            f"{where} refused the password for {role}: correct the password in {setting}. "
            f"The server said: {_server_said(text)}"
        )
    if "no pg_hba.conf entry" in text or "pg_hba.conf rejects" in text:
        return AuthenticationFailed(
            f"{where} does not let {role} connect from this machine: the server's pg_hba.conf "
            f"needs an entry for it. The server said: {_server_said(text)}"
        )
    database = re.search(r'database "([^"]+)" does not exist', text)
    if database:
        return ConfigurationError(
            f'{where} has no database "{database[1]}": create it (CREATE DATABASE '
            f'"{database[1]}" OWNER {role}) or name an existing one in {setting}.'
        )
    if code == INVALID_SCHEMA:
        return ConfigurationError(
            f"{where}: {first_line}. The loader creates its schema ({dataset}) when it may: "
            f"GRANT CREATE ON DATABASE to {role}, or create the schema with {role} as its owner."
        )
    if code == INSUFFICIENT_PRIVILEGE:
        return AccessDenied(f"{where}: {first_line}. {_grant_needed(first_line, role, dataset)}")
    if code == DISK_FULL:
        return ConfigurationError(f"{where} is out of disk space: {first_line}")
    if code == READ_ONLY_TRANSACTION:
        return ConfigurationError(
            f"{where} accepts no writes ({first_line}): is {setting} pointing at a standby? "
            "Point it at the primary server."
        )
    return None


def _grant_needed(message: str, role: str, dataset: str) -> str:
    """The privilege to grant, for PostgreSQL's 'permission denied for <kind> <name>'."""
    denied = re.search(r"permission denied for (database|schema|table|relation) (\S+)", message)
    owner = re.search(r"must be owner of (?:table|relation) (\S+)", message)
    if denied and denied[1] == "database":
        return (
            f"The loader creates the schema {dataset}: GRANT CREATE ON DATABASE {denied[2]} TO "
            f"{role}, or create the schema with {role} as its owner."
        )
    if denied and denied[1] == "schema":
        return f"It creates and alters its tables there: GRANT USAGE, CREATE ON SCHEMA {denied[2]} TO {role}."
    if denied or owner:
        return (
            f"dlt inserts, updates, deletes and adds columns in the tables of {dataset}: make "
            f"{role} their owner (ALTER TABLE ... OWNER TO {role}), or at least GRANT SELECT, "
            f"INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {dataset} TO {role}."
        )
    return f"Grant {role} the privilege the statement needs."


def _server_said(text: str) -> str:
    return " ".join(text.split())


def _postgres_user(destination: str) -> str | None:
    """The user name of the configured connection string (never the rest of it)."""
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    try:
        credentials = dlt.secrets.get(f"destination.{destination}.credentials", PostgresCredentials)
    except Exception:  # an unreadable setting has its own message
        return None
    return getattr(credentials, "username", None)
