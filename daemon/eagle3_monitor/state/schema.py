"""The database schema, as an ordered list of migrations. PRAGMA user_version is the number of
migrations applied; a migration is never edited once released, only followed by another."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: runs, jobs, the append-only event log, poll watermarks
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        run_key TEXT NOT NULL UNIQUE,          -- cluster+experiment dir, or cluster+base+submit
        cluster TEXT NOT NULL,
        experiment_dir TEXT,
        experiment_id TEXT,
        job_base TEXT NOT NULL,
        user TEXT NOT NULL DEFAULT '',
        first_submit TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        cluster TEXT NOT NULL,
        job_id TEXT NOT NULL,                  -- JobIDRaw
        submit TEXT NOT NULL DEFAULT '',       -- ids are reused: cluster+job_id+submit is the key
        display_id TEXT NOT NULL,
        run_id INTEGER REFERENCES runs(id),
        task_index INTEGER,
        name TEXT NOT NULL,
        user TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        raw_state TEXT NOT NULL,
        exit_code INTEGER,
        signal INTEGER,
        reason TEXT NOT NULL DEFAULT '',
        start TEXT,
        end TEXT,
        work_dir TEXT NOT NULL DEFAULT '',
        log_paths TEXT NOT NULL DEFAULT '[]',  -- JSON list
        final INTEGER NOT NULL DEFAULT 0,
        first_seen TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (cluster, job_id, submit)
    );
    CREATE INDEX jobs_unfinished ON jobs (final) WHERE final = 0;
    CREATE INDEX jobs_by_run ON jobs (run_id, task_index);
    CREATE TABLE job_events (
        id INTEGER PRIMARY KEY,
        job INTEGER NOT NULL REFERENCES jobs(id),
        at TEXT NOT NULL,
        old_state TEXT,
        new_state TEXT NOT NULL,
        final INTEGER NOT NULL DEFAULT 0,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX job_events_by_job ON job_events (job, id);
    CREATE TRIGGER job_events_append_only_update BEFORE UPDATE ON job_events
        BEGIN SELECT RAISE(ABORT, 'job_events is append-only'); END;
    CREATE TRIGGER job_events_append_only_delete BEFORE DELETE ON job_events
        BEGIN SELECT RAISE(ABORT, 'job_events is append-only'); END;
    CREATE TABLE watermarks (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    # 2: what the Slack outbox and the daemon keep
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,  -- run, job, event, attempt
        run_id INTEGER REFERENCES runs(id),
        job INTEGER REFERENCES jobs(id),
        kind TEXT NOT NULL,                    -- parent, reply, update
        channel TEXT,
        payload TEXT NOT NULL,                 -- JSON
        status TEXT NOT NULL DEFAULT 'pending',  -- pending, sending, sent, parked
        attempts INTEGER NOT NULL DEFAULT 0,
        slack_ts TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX outbox_pending ON outbox (status, id) WHERE status IN ('pending', 'sending');
    CREATE TABLE slack_threads (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id),
        channel TEXT NOT NULL,
        ts TEXT NOT NULL
    );
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        job INTEGER REFERENCES jobs(id),
        run_id INTEGER REFERENCES runs(id),
        created_at TEXT NOT NULL,
        document TEXT NOT NULL                 -- eagle3-monitor.review/1 JSON
    );
    CREATE TABLE log_positions (
        path TEXT PRIMARY KEY,
        inode INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    # 3: the task's role, from the script its batch trace names
    """
    ALTER TABLE jobs ADD COLUMN role TEXT;
    """,
    # 4: when the sender may try a message again after a transient failure (unix time)
    """
    ALTER TABLE outbox ADD COLUMN next_attempt_at REAL NOT NULL DEFAULT 0;
    """,
    # 5: how many lines lie before a followed log's offset, for evidence line numbers
    """
    ALTER TABLE log_positions ADD COLUMN lines INTEGER NOT NULL DEFAULT 0;
    """,
    # 6: what each notification is about, as a column (no more parsing keys): parent, update,
    # final, finished, early, stall, recovered
    """
    ALTER TABLE outbox ADD COLUMN event TEXT NOT NULL DEFAULT '';
    UPDATE outbox SET event = CASE
        WHEN idempotency_key LIKE 'run%:parent' THEN 'parent'
        WHEN idempotency_key LIKE 'run%:update:%' THEN 'update'
        WHEN idempotency_key LIKE 'run%:finished' THEN 'finished'
        WHEN idempotency_key LIKE 'job%:final' THEN 'final'
        WHEN idempotency_key LIKE 'job%:early' THEN 'early'
        WHEN idempotency_key LIKE 'job%:stall:%' THEN 'stall'
        WHEN idempotency_key LIKE 'job%:recovered:%' THEN 'recovered'
        ELSE kind END;
    CREATE INDEX outbox_by_job_event ON outbox (job, event);
    """,
    # 7: each failed job's root cause as a fingerprint that survives noise (review/fingerprint.py):
    # one row per job, so a restart that reviews the run again adds nothing
    """
    CREATE TABLE failures (
        id INTEGER PRIMARY KEY,
        job INTEGER NOT NULL UNIQUE REFERENCES jobs(id),
        run_id INTEGER NOT NULL REFERENCES runs(id),
        fingerprint TEXT NOT NULL,             -- category, rule, line, role, pipeline
        cause TEXT NOT NULL,                   -- the same without the pipeline
        job_base TEXT NOT NULL,
        task_index INTEGER,
        role TEXT NOT NULL,
        category TEXT NOT NULL,
        rule TEXT NOT NULL,
        pattern TEXT NOT NULL,                 -- the evidence line, normalised
        example TEXT NOT NULL,                 -- the line as it was seen (cut)
        seen_at TEXT NOT NULL                  -- when the job ended (UTC ISO)
    );
    CREATE INDEX failures_by_fingerprint ON failures (fingerprint, seen_at);
    CREATE INDEX failures_by_cause ON failures (cause, seen_at);
    CREATE INDEX failures_by_time ON failures (seen_at);
    """,
)
