"""The run store: every report a measuring command writes, kept in one embedded SQLite database (issue 12).

Where: `--db PATH`, else `$EDGEPERF_DB`, else `$XDG_DATA_HOME/edgeperf/runs.db` (`~/.local/share/edgeperf/runs.db`);
`--no-store` or `EDGEPERF_NO_STORE=1` turns recording off.

What: one row per run with the whole report (JSON text, in its own table) and indexed columns (kind, time, model
sha256 and path, device, backend, precision, domain), the key figures of its kind (results/figures.py) for
`history`, and for a profile every inference's latency in ns (little-endian uint32, or int64 past 4.29 s; zlib), so
`compare` works on samples, not only on percentiles.

Safety: WAL with synchronous=NORMAL (a run reported recorded survives kill -9 and any crash; a power loss can undo
the last commits, never corrupt the file); one transaction per run; a busy timeout for concurrent writers; `PRAGMA
user_version` is the schema version, raised by MIGRATIONS in order. A file that is not SQLite, not edgeperf's,
corrupt, of a newer schema version, or locked beyond the timeout is refused with BadInput and never written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import json
import os
import sqlite3
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edgeperf.errors import BadInput
from edgeperf.results import figures
from edgeperf.results.io import short_path
from edgeperf.results.kinds import Document, Host, Model, Named, ReportConfig
from edgeperf.results.record import Record
from edgeperf.results.report import Report, load_report

if TYPE_CHECKING:
    import numpy as np

# 'EDPF': marks the file as edgeperf's, so a foreign SQLite database is never migrated into one.
APPLICATION_ID = 0x45445046
DEFAULT_TIMEOUT_S = 10.0

# Each entry raises user_version by one; never edit one that has shipped, append a new one.
MIGRATIONS = [
    """
    CREATE TABLE runs (
        run_id       TEXT PRIMARY KEY,
        schema       TEXT NOT NULL,
        kind         TEXT NOT NULL,
        created_at   TEXT NOT NULL,      -- ISO 8601 in UTC: sorts as time
        recorded_at  TEXT NOT NULL,
        source       TEXT NOT NULL,      -- 'command' or 'import:PATH'
        model_sha256 TEXT,
        model_path   TEXT,
        model_name   TEXT,
        device       TEXT,
        backend      TEXT,
        precision    TEXT,
        domain       TEXT,
        variant      TEXT,               -- what else makes runs comparable: 'periodic 500 Hz', 'stream batch 8'
        figures      TEXT NOT NULL       -- key figures of the kind (JSON), for history
    );
    CREATE INDEX runs_created ON runs (created_at);
    CREATE INDEX runs_series ON runs (model_sha256, device, kind, variant, backend, precision, domain, created_at);
    CREATE INDEX runs_device ON runs (device, created_at);
    CREATE INDEX runs_model_name ON runs (model_name);
    CREATE TABLE samples (
        run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
        what   TEXT NOT NULL,            -- 'latency_ns'
        dtype  TEXT NOT NULL,            -- numpy dtype string of the decompressed bytes
        count  INTEGER NOT NULL,
        data   BLOB NOT NULL             -- zlib
    );
    -- apart from runs, so that a scan of runs (history's filters) reads small rows only
    CREATE TABLE reports (
        run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
        report TEXT NOT NULL             -- the whole report (JSON)
    );
    """,
]
VERSION = len(MIGRATIONS)


def default_path() -> Path:
    """$EDGEPERF_DB, else the XDG data folder's edgeperf/runs.db."""
    if os.environ.get("EDGEPERF_DB"):
        return Path(os.environ["EDGEPERF_DB"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "edgeperf" / "runs.db"


def disabled_by_env() -> bool:
    return os.environ.get("EDGEPERF_NO_STORE", "").strip().lower() not in ("", "0", "false", "no")


def timeout_s() -> float:
    raw = os.environ.get("EDGEPERF_DB_TIMEOUT")
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise BadInput(f"EDGEPERF_DB_TIMEOUT={raw!r} is not a number of seconds") from None
    if not 0 <= value <= 86400:  # inf would wait for ever on a lock and then say it had waited
        raise BadInput(f"EDGEPERF_DB_TIMEOUT={raw!r} must be from 0 to 86400 seconds")
    return value


@dataclass
class StoredRun:
    """A run: its report and, for a profile recorded with them, every inference's latency in ns."""

    run_id: str
    report: dict
    samples_ns: np.ndarray | None = None
    source: str = "store"  # 'store', or the report file it was read from

    @property
    def kind(self) -> str:
        return figures.report_kind(self.report)


@dataclass
class Row:
    """One line of `query`: the indexed columns, the key figures and the previous run's in the same series."""

    run_id: str
    kind: str
    created_at: str
    model_name: str | None
    model_sha256: str | None
    device: str | None
    backend: str | None
    precision: str | None
    domain: str | None
    variant: str | None
    figures: dict
    previous: dict | None  # figures of the previous run of the same series (None: the first)
    previous_id: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _utc(stamp: str) -> str:
    """A report's created_at in UTC, seconds resolution, so that strings sort as time."""
    try:
        t = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"created_at {stamp!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def parse_since(text: str) -> str:
    """--since: a date or time (2026-11-30, 2026-11-30T12:00) or an age (7d, 12h, 30m), as a UTC bound."""
    s = text.strip()
    units = {"d": 86400, "h": 3600, "m": 60, "w": 7 * 86400}
    if s[-1:] in units and s[:-1].replace(".", "", 1).isdigit():
        seconds = float(s[:-1]) * units[s[-1]]
        if seconds > 200 * 365 * 86400:  # before any run could have been recorded: every run
            return "0001-01-01T00:00:00+00:00"
        t = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=seconds)
        return t.isoformat(timespec="seconds")
    try:
        return _utc(s)
    except BadInput:
        raise BadInput(
            f"--since {text!r}: give a date (2026-11-30), a time (2026-11-30T12:00) or an age (7d, 12h)"
        ) from None


def _encode(samples: np.ndarray) -> tuple[str, bytes]:
    import numpy as np  # here, not at the top: history, check and compare of report files never need it

    x = np.asarray(samples)
    # uint32 holds 4.29 s of ns: wider (or negative) values keep all 64 bits
    arr = x.astype("<i8") if x.size and (x.min() < 0 or x.max() >= 2**32) else x.astype("<u4")
    return arr.dtype.str, zlib.compress(arr.tobytes(), 1)


def _decode(dtype: str, count: int, data: bytes) -> np.ndarray:
    import numpy as np

    return np.frombuffer(zlib.decompress(data), dtype=np.dtype(dtype), count=count).astype(np.int64)


def _name(block, attr: str):
    """A results block that names something ({"name": ...} / {"id": ...}) or the name itself."""
    if isinstance(block, dict):
        block = Named.from_dict(block)
    return block.at(attr) if isinstance(block, Named) else block


def _columns(d: dict) -> dict:
    doc = figures.document(d)
    model, host, config = doc.model or Model(), doc.host or Host(), doc.config or ReportConfig()
    results = doc.results if isinstance(doc.results, Record) else Record()
    path = model.path
    return {
        "model_sha256": model.sha256,
        "model_path": path,
        "model_name": os.path.basename(path) if path else None,
        "device": host.device or config.device,
        "backend": _name(results.at("backend"), "name") or config.backend,
        "precision": model.precision or config.precision,
        "domain": _name(results.at("domain"), "id") or config.domain,
        "variant": _variant(doc),
    }


def _variant(doc: Document) -> str | None:
    """What else must match for two runs of a model on a device to be one series (the trend compares them)."""
    config = doc.config or ReportConfig()
    if doc.kind == "profile":
        v = f"periodic {config.rate_hz:g} Hz" if config.rate_hz else "stream"
        if (config.batch or 1) > 1:
            v += f" batch {config.batch}"
        return v + (f" stress {config.stress}" if config.stress else "")
    if doc.kind in ("validate", "hil"):
        return (doc.results.at("mode") if isinstance(doc.results, Record) else None) or None
    return None


class Store:
    """An open run store. `Store.open(path)`; `record(report, samples)`; `get`, `query`, `samples`, `resolve`.

    Examples:
        >>> import edgeperf
        >>> _ = edgeperf.export("reference:quadruped/trot", "policy.onnx")
        >>> report = edgeperf.profile("policy.onnx", iterations=200, duration=0.1, warmup=10)
        >>> with edgeperf.Store.open("runs.db") as store:
        ...     run_id = store.record(report)
        ...     rows = store.query(kind="profile")
        ...     run = store.get(run_id)
        >>> run_id == report.run_id, [r.run_id for r in rows] == [run_id], run.kind
        (True, True, 'profile')
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, timeout: float):
        self.conn, self.path, self.timeout = conn, path, timeout

    # --- opening -------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, create: bool = True, timeout: float | None = None):
        """Open (and create or migrate, when `create`) the store at `path` (default: `default_path()`).

        Raises BadInput for a file that is not an edgeperf database, is corrupt, is of a newer schema version,
        or stays locked beyond `timeout` seconds; such a file is left exactly as it was.

        Args:
            path: The SQLite file, or None for `default_path()` ($EDGEPERF_DB, else the XDG data folder's
                edgeperf/runs.db).
            create: Create the file (and its folder) when it does not exist; False refuses a missing store.
            timeout: Seconds to wait on another process's lock, or None for $EDGEPERF_DB_TIMEOUT's (default 10).

        Returns:
            store (Store): The open Store; use it as a context manager, or call `close()`.

        Raises:
            BadInput: As above (exit code 2).
        """
        p = Path(path).expanduser() if path is not None else default_path()
        t = timeout_s() if timeout is None else timeout
        shown = short_path(p)
        exists = p.exists()
        if exists and not p.is_file():
            raise BadInput(f"the run store {shown} is not a regular file; give --db a file path")
        if not exists:
            if not create:
                raise BadInput(
                    f"no run store at {shown} yet: nothing has been recorded (give --db PATH, or run a command)"
                )
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise BadInput(f"cannot create the run store {shown}: {exc.strerror or exc}") from None
        try:
            conn = sqlite3.connect(p, timeout=t, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise BadInput(f"cannot open the run store {shown}: {exc}") from None
        no_checkpoint = getattr(sqlite3, "SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE", None)
        if no_checkpoint is not None:  # Python 3.12+: closing skips the checkpoint and its fsyncs (5-12 ms); the
            conn.setconfig(no_checkpoint, True)  # WAL stays bounded by the automatic checkpoints of commits
        store = cls(conn, p, t)
        try:
            store._prepare(create)
        except BaseException:
            conn.close()
            raise
        return store

    def _prepare(self, create: bool) -> None:
        with self._errors():
            # Read-only checks first: a newer or foreign file must not be changed, not even its journal mode.
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            app = self.conn.execute("PRAGMA application_id").fetchone()[0]
            tables = self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            self._check_identity(version, app, tables)
            self.conn.execute("PRAGMA foreign_keys = ON")
            # NORMAL in WAL: a commit survives kill -9 and any crash of the process and the file is never corrupt;
            # power loss can undo the last commits. FULL would fsync every commit (7-18 ms here, of the 20 ms bar).
            self.conn.execute("PRAGMA synchronous = NORMAL")
            if version == VERSION:
                if self.conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self.conn.execute("PRAGMA journal_mode = WAL")
                return
            if not create and version == 0:  # an empty file: reading must not make it a store
                raise BadInput(f"the run store {short_path(self.path)} is empty: nothing has been recorded yet")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                version = self.conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
                self._check_identity(version, self.conn.execute("PRAGMA application_id").fetchone()[0], 0)
                for n in range(version, VERSION):
                    for statement in MIGRATIONS[n].split(";"):
                        if statement.strip():
                            self.conn.execute(statement)
                    self.conn.execute(f"PRAGMA user_version = {n + 1}")
                self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def _check_identity(self, version: int, app: int, tables: int) -> None:
        shown = short_path(self.path)
        if app not in (0, APPLICATION_ID) or (app == 0 and tables):
            raise BadInput(
                f"{shown} is an SQLite database but not an edgeperf run store: refusing to touch it; give --db "
                "another path"
            )
        if version > VERSION:
            raise BadInput(
                f"the run store {shown} has schema version {version}, newer than this edgeperf reads ({VERSION}): "
                "upgrade edgeperf, or give --db another path (the file was not changed)"
            )

    @contextlib.contextmanager
    def _errors(self):
        shown = short_path(self.path)
        try:
            yield
        except sqlite3.OperationalError as exc:
            msg = str(exc)
            if "locked" in msg or "busy" in msg:
                raise BadInput(
                    f"the run store {shown} is locked by another process (waited {self.timeout:g} s); retry, raise "
                    "EDGEPERF_DB_TIMEOUT, or give --db another path"
                ) from None
            raise BadInput(f"the run store {shown} cannot be used: {msg}") from None
        except sqlite3.DatabaseError as exc:
            # SQLite reads the header itself: opening the file here too and closing it would drop the POSIX locks
            # of every connection this process holds on it (a concurrent checkpoint then breaks the WAL).
            if "not a database" in str(exc):
                raise BadInput(
                    f"the run store {shown} is not an SQLite database (corrupt, or another file): refusing to touch "
                    "it; move it away or give --db another path"
                ) from None
            raise BadInput(
                f"the run store {shown} is corrupt ({exc}): refusing to write it; move it away (keep it for "
                f"`sqlite3 {shown} .recover`) or give --db another path"
            ) from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- writing -------------------------------------------------------------------------------------------

    def record(self, report: Report | dict, samples: np.ndarray | None = None, *, source: str = "command") -> str:
        """Record a report (and a profile's latencies in ns) in one transaction; return its run id.

        Recording the same run again is a no-op; a different report under a run id already recorded is refused.

        Args:
            report: The Report (or its dict) to record.
            samples: A profile's per-inference latencies in ns, kept for `edgeperf compare`'s intervals, or None.
            source: What recorded it: 'command' (the CLI), or a name of the caller's.

        Returns:
            The report's run id.
        """
        return self.record_all([(report, samples, source)])[0]

    def record_all(self, items: list[tuple[Report | dict, np.ndarray | None, str]]) -> list[str]:
        """Record (report, samples, source) items in one transaction: every one of them, or, when one is refused
        (its run id recorded with a different report, a locked or full store), none. Returns their run ids."""
        rows = []
        for given, samples, source in items:  # every report checked and encoded before the store is touched
            report = Report.from_dict(given) if isinstance(given, dict) else given  # from_dict checks the schema
            text = report.to_json()
            d = json.loads(text)
            row = {
                "run_id": d["run_id"],
                "schema": d["schema"],
                "kind": report.kind,
                "created_at": _utc(d["created_at"]),
                "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "source": source,
                **_columns(d),
                "figures": json.dumps(figures.key_figures(d), allow_nan=False),
            }
            blob = None if samples is None or not len(samples) else _encode(samples)
            rows.append((row, d, text, blob, samples))
        with self._errors():
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for row, d, text, blob, samples in rows:
                    old = self.conn.execute("SELECT report FROM reports WHERE run_id = ?", (row["run_id"],)).fetchone()
                    if old is not None:
                        if json.loads(old[0]) != d:
                            where = "" if row["source"] in ("command", "sweep") else f" ({row['source']})"
                            raise BadInput(f"run {row['run_id']}{where} is already recorded with a different report")
                        continue  # the same run again: nothing to do
                    self.conn.execute(
                        f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
                    )
                    self.conn.execute("INSERT INTO reports (run_id, report) VALUES (?, ?)", (row["run_id"], text))
                    if blob is not None:
                        self.conn.execute(
                            "INSERT INTO samples (run_id, what, dtype, count, data) VALUES (?, 'latency_ns', ?, ?, ?)",
                            (row["run_id"], blob[0], len(samples), blob[1]),
                        )
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        return [row["run_id"] for row, *_ in rows]

    # --- reading -------------------------------------------------------------------------------------------

    def get(self, run_id: str) -> StoredRun:
        """The run with exactly this id (BadInput naming close ids when there is none)."""
        _text(run_id, "run id")
        with self._errors():
            row = self.conn.execute("SELECT report FROM reports WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise BadInput(self._missing(run_id))
        return StoredRun(run_id, json.loads(row[0]), self.samples(run_id))

    def samples(self, run_id: str) -> np.ndarray | None:
        """A profile's per-inference latencies in ns (int64), None when the run has none."""
        with self._errors():
            row = self.conn.execute("SELECT dtype, count, data FROM samples WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        try:
            return _decode(*row)
        except (zlib.error, ValueError, TypeError) as exc:
            raise BadInput(f"the samples of run {run_id} in {short_path(self.path)} are corrupt ({exc})") from None

    def query(
        self,
        *,
        model: str | None = None,
        device: str | None = None,
        kind: str | None = None,
        since: str | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        """Runs newest first. `model`: a path, a file name or a sha256 prefix; `kind`: profile, export, ... or a
        schema id; `since`: an ISO time or an age (parse_since). Each row carries the previous run's figures of
        the same series (model, device, kind, backend, precision, domain and variant: not limited by the
        filters), for the trend."""
        where, args = [], []
        for value, what in ((model, "--model"), (device, "--device"), (kind, "--kind")):
            _text(value, what)
        if model:
            # a sha256 prefix compared as text: LIKE would read % and _ in --model as wildcards
            prefix = model.lower() if len(model) >= 6 else "\x00"
            where.append("(model_path = ? OR model_name = ? OR substr(model_sha256, 1, ?) = ?)")
            args += [model, os.path.basename(model), len(prefix), prefix]
        if device:
            where.append("device = ?")
            args.append(device)
        if kind:
            where.append("(kind = ? OR schema = ?)")
            args += [kind, kind]
        if since:
            where.append("created_at >= ?")
            args.append(parse_since(since))
        # The rows shown first (filtered, limited: the report column is never read), then for each one the
        # previous run of its series by the runs_series index: cost grows with the rows shown, not the store.
        sql = f"""
            WITH shown AS (
                SELECT rowid AS rid, run_id, kind, created_at, model_name, model_sha256, device, backend, precision,
                       domain, variant, figures
                FROM runs
                {"WHERE " + " AND ".join(where) if where else ""}
                ORDER BY created_at DESC, rowid DESC
                {"LIMIT ?" if limit else ""}
            ), linked AS (
                SELECT shown.*, (
                    SELECT p.rowid FROM runs p
                    WHERE p.model_sha256 IS shown.model_sha256 AND p.device IS shown.device AND p.kind = shown.kind
                      AND p.variant IS shown.variant AND p.backend IS shown.backend
                      AND p.precision IS shown.precision AND p.domain IS shown.domain
                      AND p.created_at <= shown.created_at
                      AND (p.created_at < shown.created_at OR p.rowid < shown.rid)
                    ORDER BY p.created_at DESC, p.rowid DESC LIMIT 1
                ) AS prev_rid
                FROM shown
            )
            SELECT linked.run_id, linked.kind, linked.created_at, linked.model_name, linked.model_sha256,
                   linked.device, linked.backend, linked.precision, linked.domain, linked.variant, linked.figures,
                   prev.figures, prev.run_id
            FROM linked LEFT JOIN runs prev ON prev.rowid = linked.prev_rid
            ORDER BY linked.created_at DESC, linked.rid DESC
        """
        if limit:
            args.append(int(limit))
        with self._errors():
            rows = self.conn.execute(sql, args).fetchall()
        return [
            Row(*r[:10], figures=json.loads(r[10]), previous=json.loads(r[11]) if r[11] else None, previous_id=r[12])
            for r in rows
        ]

    def count(self) -> int:
        with self._errors():
            return self.conn.execute("SELECT count(*) FROM runs").fetchone()[0]

    def resolve(self, ref: str) -> StoredRun:
        """A run id, a unique prefix of one, or a report file (whose samples come from the store when that run is
        recorded in it)."""
        return _resolve(ref, self)

    def _matching(self, prefix: str) -> list[str]:
        with self._errors():
            rows = self.conn.execute(
                "SELECT run_id FROM runs WHERE run_id >= ? AND run_id < ? ORDER BY run_id LIMIT 6",
                (prefix, prefix + "\U0010ffff"),
            ).fetchall()
        return [r[0] for r in rows]

    def _missing(self, ref: str) -> str:
        with self._errors():
            ids = [r[0] for r in self.conn.execute("SELECT run_id FROM runs")]
        # A mistyped id is mostly its head: match on the first characters too.
        close = difflib.get_close_matches(ref, ids, n=3, cutoff=0.6) or difflib.get_close_matches(
            ref, [i[: len(ref)] for i in ids], n=3, cutoff=0.6
        )
        full = [i for c in close for i in ids if i.startswith(c)][:3]
        hint = f"; did you mean {', '.join(dict.fromkeys(full))}?" if full else "; `edgeperf history` lists the runs"
        return f"no run {ref!r} in the run store {short_path(self.path)} (and no report file of that name){hint}"


def _text(value: str | None, what: str) -> None:
    """A user's string before SQLite binds it: bytes that are not UTF-8 (an argument in another encoding) cannot be
    bound (UnicodeEncodeError) and are in no run of the store, so they are said as such."""
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(
            f"{what} {value!a} is not UTF-8 text, so no run has it; `edgeperf history` lists the runs"
        ) from None


def _looks_like_file(ref: str) -> bool:
    return os.sep in ref or ref.endswith(".json") or os.path.exists(ref)


def _resolve(ref: str, store: Store | None) -> StoredRun:
    if os.path.isfile(ref):  # a file name in any encoding is still a file
        report = json.loads(load_report(ref).to_json())
        samples = None
        if store is not None:
            with contextlib.suppress(BadInput):
                samples = store.samples(report["run_id"])
        return StoredRun(report["run_id"], report, samples, source=ref)
    if _looks_like_file(ref):
        load_report(ref)  # says what is wrong with the file (missing, a directory, unreadable)
    if store is None:
        raise BadInput(f"no report file {ref!r}, and no run store to look the run id up in")
    _text(ref, "run id")
    if not ref:
        raise BadInput("the run id is empty; give a run id or a prefix of one (`edgeperf history` lists the runs)")
    found = store._matching(ref)
    if len(found) == 1:
        return store.get(found[0])
    if ref in found:
        return store.get(ref)
    if found:
        raise BadInput(f"run id prefix {ref!r} matches several runs ({', '.join(found[:5])}...); give more characters")
    raise BadInput(store._missing(ref))


def resolve(ref: str, db: str | os.PathLike | None = None) -> StoredRun:
    """A run by id, unique id prefix or report file path, from the store at `db` (default: default_path()).

    The store is only read: a missing store is fine for a report file."""
    path = Path(db).expanduser() if db is not None else default_path()
    if os.path.isfile(ref) and not path.exists():
        return _resolve(ref, None)
    with Store.open(path, create=False) as store:
        return store.resolve(ref)
