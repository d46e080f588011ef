"""The store: every database write, the schema's migrations and the collection lock.

One module per concern; this package re-exports their public names, so callers write
``from tracker import store`` and ``store.open_db(...)``:

- ``db``: opening the database (path checks, read-only fallback), ``write_transaction``
- ``lock``: the collection lock beside the database
- ``accounts``: leaders and accounts from the config, identity, status, history floor
- ``runs``: collection runs and their running totals
- ``posts``: posts, context posts, cursors and pages, imports, mentions, purge, exports
- ``labels``: labels and the monthly metrics rows
- ``migrations``: the schema, append-only
"""

from tracker.store.db import (
    BUSY_TIMEOUT_MS as BUSY_TIMEOUT_MS,
    now_iso as now_iso,
    StoreDatabase as StoreDatabase,
    ReadOnlyDatabase as ReadOnlyDatabase,
    check_database_path as check_database_path,
    describe_database_error as describe_database_error,
    open_db as open_db,
    COLLECTED_TABLES as COLLECTED_TABLES,
    write_transaction as write_transaction,
    tune_for_bulk_load as tune_for_bulk_load,
)
from tracker.store.lock import (
    lock_path as lock_path,
    collection_lock as collection_lock,
)
from tracker.store.accounts import (
    AccountRow as AccountRow,
    account_id as account_id,
    save_config as save_config,
    get_accounts as get_accounts,
    save_identity as save_identity,
    save_identity_accepted as save_identity_accepted,
    save_account_status as save_account_status,
    save_history_end as save_history_end,
    get_history as get_history,
    save_history_from_posts as save_history_from_posts,
)
from tracker.store.runs import (
    RunProgress as RunProgress,
    start_run as start_run,
    save_run_progress as save_run_progress,
    finish_run as finish_run,
    close_interrupted_runs as close_interrupted_runs,
)
from tracker.store.posts import (
    POST_COLUMNS as POST_COLUMNS,
    POST_UPDATED as POST_UPDATED,
    CONTEXT_COLUMNS as CONTEXT_COLUMNS,
    CONTEXT_UPDATED as CONTEXT_UPDATED,
    POST_FILLED as POST_FILLED,
    save_posts as save_posts,
    save_context_posts as save_context_posts,
    get_cursor as get_cursor,
    save_page as save_page,
    save_context_purge as save_context_purge,
    stored_post_ids as stored_post_ids,
    save_archive_posts as save_archive_posts,
    save_mentions as save_mentions,
    save_export as save_export,
    export_imported as export_imported,
)
from tracker.store.labels import (
    LabelRow as LabelRow,
    PostReading as PostReading,
    save_post_labels as save_post_labels,
    save_context_labels as save_context_labels,
    save_metrics as save_metrics,
)
