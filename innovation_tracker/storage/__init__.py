"""Storage: the only code that imports duckdb. Functions take the connection (or a cursor) first.

Reads of study data also take the viewer second and are scoped by it (see access.py).
"""

from .db import (
    Connection,
    connect,
    data_version,
    local_writes,
    migrate,
    record_audit,
    schema_version,
    shipped_migrations,
    transaction,
    write,
)
from .exports import wide_table
from .matrix import cell_excerpts, matrix_cells, matrix_excerpts
from .portfolio import (
    call_candidates,
    completion_by_wave,
    headline_counts,
    outlook_grid,
    outlook_table,
    people_counts,
    round_counts,
    wave_status,
)
from .quality import (
    audit_choices,
    audit_log,
    interviews_without_ratings,
    lost_to_follow_up,
    out_of_window_interviews,
    restorable_deletions,
    schedule_checks,
    waves_without_sustainability,
)
from .records import (
    add_interview,
    add_milestone,
    add_participant,
    add_project,
    delete_interview,
    delete_milestone,
    delete_participant,
    delete_project,
    erase_participant,
    indicator_scores,
    list_milestones,
    list_participants,
    list_projects,
    project_interviews,
    project_ratings,
    restore_deleted,
    set_indicator_values,
    update_interview,
    update_milestone,
    update_participant,
    update_project,
    withdraw_participant,
)
from .search import SearchFilters, SearchPage, search_evidence, search_words
from .sessions import (
    find_session,
    forget_sessions,
    insert_session,
    revoke_session,
    revoke_sessions,
    touch_session,
)
from .settings import (
    add_factor,
    add_indicator,
    add_wave,
    schedule_inputs,
    set_retired,
    update_factor,
    update_indicator,
    update_study,
    update_wave,
    uses_of,
)
from .study import (
    STORED,
    get_study,
    insert_frames,
    is_empty,
    known_interviews,
    known_keys,
    known_participants,
    known_ratings,
    list_factors,
    list_indicators,
    list_waves,
    max_milestone_id,
    min_role_group,
    read_table,
    set_min_role_group,
    table_counts,
)
from .trajectory import (
    citations,
    completed_rounds,
    evidence,
    factor_stats,
    factor_stats_of,
    indicator_values,
    milestones,
    overdue_by_project,
    project_list,
    project_schedule,
    projects_citing,
    scored_waves,
    wave_balance,
)
from .users import (
    Account,
    add_failed_attempt,
    count_accounts,
    count_active_admins,
    find_account_by_email,
    get_account,
    insert_account,
    list_accounts,
    lock_account,
    reset_failed_attempts,
    set_password_hash,
    update_account,
)
