-- Session settings every campaignq connection starts with.

-- name: SessionConfigure
-- $1 application_name, $2 idle_in_transaction_session_timeout in ms: a
-- session stuck inside a transaction is ended by the server and its locks
-- go back to the queue.
SELECT set_config('application_name', $1, false),
       set_config('idle_in_transaction_session_timeout', $2, false);
