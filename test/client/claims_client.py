#!/usr/bin/env python3
"""What an application does with a claims database guarded by cpt_rules,
through a real driver (psycopg 3).  Prints TAP lines.

Connection settings come from the usual PG* environment variables."""

import os
import sys
import threading
import time

import psycopg
from psycopg import errors

DB = "client_test"
RETRYABLE = ("40001", "40P01")
results = []


def report(ok, desc, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {desc}")
    if not ok and detail:
        for line in str(detail).splitlines():
            print(f"# {line}")


def connect(**kw):
    return psycopg.connect(dbname=DB, **kw)


def setup():
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    with connect(autocommit=True) as conn:
        conn.execute("CREATE EXTENSION cpt_rules")
        conn.execute("""
            CREATE TABLE claim_lines (
                line_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                claim_id bigint NOT NULL,
                service_date date NOT NULL,
                hcpcs_code cpt_code NOT NULL,
                units int NOT NULL DEFAULT 1)""")
        conn.execute("CREATE INDEX ON claim_lines (claim_id)")
        conn.execute("""SELECT cpt_rules.enforce_addon_rule('claim_lines', code => 'hcpcs_code',
                        group_by => '{claim_id}', service_date => 'service_date')""")


def insert(cur, claim, code, day="2024-05-02"):
    cur.execute("INSERT INTO claim_lines (claim_id, service_date, hcpcs_code) VALUES (%s, %s, %s)",
                (claim, day, code))


def test_addon_before_primary():
    with connect() as conn:
        with conn.cursor() as cur:
            insert(cur, 1, "20933")
            insert(cur, 1, "27365")
        conn.commit()
        n = conn.execute("SELECT count(*) FROM claim_lines WHERE claim_id = 1").fetchone()[0]
    report(n == 2, "20933 inserted before its primary 27365 in one transaction commits")


def expect_violation_at_commit(desc, body):
    conn = connect()
    try:
        body(conn)
        try:
            conn.commit()
            report(False, desc, "COMMIT succeeded")
        except errors.CheckViolation as e:
            ok = (e.sqlstate == "23514"
                  # the rule's name, as enforced_rules and drop_addon_rule know it
                  and e.diag.constraint_name == "claim_lines_addon_rule")
            ok = ok and e.diag.table_name == "claim_lines" and e.diag.schema_name == "public"
            ok = ok and "20933" in (e.diag.message_primary or "")
            report(ok, f"{desc}: SQLSTATE {e.sqlstate}, constraint {e.diag.constraint_name}",
                   f"{e.sqlstate} {e.diag.constraint_name} {e.diag.table_name} {e.diag.message_primary}")
            return e
    finally:
        conn.close()


def test_orphan():
    def body(conn):
        with conn.cursor() as cur:
            insert(cur, 2, "99213")
            insert(cur, 2, "20933")
    e = expect_violation_at_commit("an orphan 20933 fails at COMMIT", body)
    if e is not None:
        report(e.diag.constraint_name == "claim_lines_addon_rule" and
               "23210" in (e.diag.message_hint or ""),
               "the error names the constraint and hints at eligible primaries")
    with connect() as conn:
        n = conn.execute("SELECT count(*) FROM claim_lines WHERE claim_id = 2").fetchone()[0]
    report(n == 0, "nothing of the rejected claim was committed")


def test_primary_deleted_later():
    with connect() as conn:
        with conn.cursor() as cur:
            insert(cur, 3, "27645")
            insert(cur, 3, "20933")
        conn.commit()

    def body(conn):
        conn.execute("DELETE FROM claim_lines WHERE claim_id = 3 AND hcpcs_code = '27645'")
    expect_violation_at_commit("deleting the primary of a committed claim fails", body)
    with connect() as conn:
        n = conn.execute("SELECT count(*) FROM claim_lines WHERE claim_id = 3").fetchone()[0]
    report(n == 2, "the claim is intact after the failed delete")


def test_copy_batch():
    rows = []
    for claim in range(1000, 2000):
        rows.append((claim, "2024-06-01", "99213"))
        if claim % 10 == 0:
            rows.append((claim, "2024-06-01", "27365"))
            rows.append((claim, "2024-06-01", "20933"))
    with connect() as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY claim_lines (claim_id, service_date, hcpcs_code) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        n = conn.execute("SELECT count(*) FROM claim_lines WHERE claim_id BETWEEN 1000 AND 1999").fetchone()[0]
    report(n == len(rows), f"client-side COPY of {len(rows)} lines commits")

    bad = rows[:5] + [(2500, "2024-06-01", "20933")]
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM claim_lines WHERE claim_id BETWEEN 1000 AND 1004")
            with cur.copy("COPY claim_lines (claim_id, service_date, hcpcs_code) FROM STDIN") as copy:
                for row in bad:
                    copy.write_row(row)
        conn.commit()
        report(False, "a COPY batch holding an orphan add-on is rejected")
    except errors.CheckViolation as e:
        report(e.sqlstate == "23514", "a COPY batch holding an orphan add-on is rejected at COMMIT")
    finally:
        conn.close()


def run_with_retries(work, isolation, max_tries=5):
    """The application's retry loop: serialization failures and deadlocks
    are retried, anything else is raised."""
    for attempt in range(1, max_tries + 1):
        conn = connect()
        conn.isolation_level = isolation
        try:
            work(conn, attempt)
            conn.commit()
            return attempt
        except psycopg.Error as e:
            conn.rollback()
            if e.sqlstate not in RETRYABLE or attempt == max_tries:
                raise
        finally:
            conn.close()


def test_retry_loop():
    with connect() as conn:
        with conn.cursor() as cur:
            insert(cur, 4, "27365")
        conn.commit()

    # Another writer holds an uncommitted change of the claim's primary line
    # while our REPEATABLE READ transaction adds 20933 and commits: the check
    # must wait for the primary's lock, and when the other writer commits,
    # report a serialization failure (40001) rather than trust a stale row.
    blocker = connect()
    blocker.execute("UPDATE claim_lines SET units = 2 WHERE claim_id = 4 AND hcpcs_code = '27365'")
    seen = []

    def work(conn, attempt):
        seen.append(attempt)
        insert(conn.cursor(), 4, "20933")

    def release():
        time.sleep(1.0)
        blocker.commit()
        blocker.close()

    threading.Thread(target=release).start()
    try:
        attempts = run_with_retries(work, psycopg.IsolationLevel.REPEATABLE_READ)
        report(attempts == 2, f"a 40001 at COMMIT is retried and the retry commits (attempts: {attempts})")
    except psycopg.Error as e:
        report(False, "a 40001 at COMMIT is retried and the retry commits", f"{e.sqlstate}: {e}")
    with connect() as conn:
        rows = conn.execute("SELECT hcpcs_code::text, units FROM claim_lines WHERE claim_id = 4 ORDER BY 1").fetchall()
    report(rows == [("20933", 1), ("27365", 2)], f"both writers' changes are there: {rows}")

    # A deadlock between two writers: one is chosen as the victim (40P01)
    # and the retry loop lets it through.
    with connect() as conn:
        with conn.cursor() as cur:
            insert(cur, 5, "27365")
            insert(cur, 6, "27365")
        conn.commit()
    barrier = threading.Barrier(2)
    outcomes = {}

    def writer(name, first, second):
        def work(conn, attempt):
            conn.execute("SET deadlock_timeout = '100ms'" if name == "a" else "SET deadlock_timeout = '10s'")
            conn.execute("UPDATE claim_lines SET units = units + 1 WHERE claim_id = %s", (first,))
            if attempt == 1:
                barrier.wait()
            conn.execute("UPDATE claim_lines SET units = units + 1 WHERE claim_id = %s", (second,))
            insert(conn.cursor(), first, "20933")
        try:
            outcomes[name] = run_with_retries(work, psycopg.IsolationLevel.READ_COMMITTED)
        except psycopg.Error as e:
            outcomes[name] = e.sqlstate

    ta = threading.Thread(target=writer, args=("a", 5, 6))
    tb = threading.Thread(target=writer, args=("b", 6, 5))
    ta.start(); tb.start(); ta.join(); tb.join()
    report(sorted(outcomes.values()) == [1, 2],
           f"a deadlock (40P01) is retried: attempts per writer {outcomes}")


def test_audit_clean():
    with connect() as conn:
        n = conn.execute("""SELECT count(*) FROM cpt_rules.addon_rule_violations(
                             'claim_lines', 'hcpcs_code', '{claim_id}', 'service_date')""").fetchone()[0]
    report(n == 0, "the audit finds no violation")


def main():
    try:
        setup()
    except psycopg.Error as e:
        report(False, "set up the test database", e)
        print(f"1..{len(results)}")
        return 1
    for test in (test_addon_before_primary, test_orphan, test_primary_deleted_later,
                 test_copy_batch, test_retry_loop, test_audit_clean):
        try:
            test()
        except Exception as e:  # a crash of one test must not hide the others
            report(False, f"{test.__name__} raised {type(e).__name__}", e)
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
    print(f"1..{len(results)}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
