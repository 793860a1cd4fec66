-- The end of every transaction.  The client script sets :early at random
-- for each transaction: when true, the deferred check runs now (SET
-- CONSTRAINTS ALL IMMEDIATE) and the transaction then stays open with what
-- it checked; otherwise it runs at COMMIT.  Either way the pause keeps the
-- transaction open while other clients change the same claims.
\if :early
SET CONSTRAINTS ALL IMMEDIATE;
\endif
SELECT pg_sleep(random() * 0.004) AS paused \gset
COMMIT;
