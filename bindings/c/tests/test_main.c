/*
 * The sessile C test runner. Runs every test (or those whose name contains
 * argv[1]) and ends with the line "N passed, M failed".
 */
#include "harness.h"

#define TESTS(X)                                                   \
    X(version_macros_match_the_library)                            \
    X(every_result_code_has_its_name)                              \
    X(last_error_describes_the_last_failure_then_clears)           \
    X(truncated_error_messages_stay_utf8)                          \
    X(last_error_is_per_thread)                                    \
    X(buffers_are_nul_terminated_and_free_null_is_a_no_op)         \
    X(key_validation_follows_the_key_rules)                        \
    X(cookie_options_shape_the_set_cookie_header)                  \
    X(samesite_can_be_none_or_left_out)                            \
    X(expire_at_browser_close_sends_a_session_cookie)              \
    X(save_every_request_refreshes_an_unchanged_session)           \
    X(size_limits_refuse_what_is_over_them)                        \
    X(record_size_limit_covers_the_whole_session)                  \
    X(bad_option_values_are_refused)                               \
    X(sessions_survive_close_and_reopen)                           \
    X(default_options_open_a_database_with_its_sweeper)            \
    X(compression_is_fixed_when_a_database_is_created)             \
    X(one_directory_is_shared_within_a_process)                    \
    X(a_directory_held_elsewhere_is_locked)                        \
    X(a_forked_child_cannot_use_the_parents_engine)                \
    X(a_worker_forked_after_a_durable_write_opens_its_own_engine)  \
    X(a_worker_forked_after_the_parent_closed_its_engine_opens_its_own) \
    X(workers_forked_while_the_parent_writes_open_their_own_engines) \
    X(unusable_paths_are_errors)                                   \
    X(a_file_or_a_project_folder_is_not_a_database)                \
    X(the_manual_clock_moves_only_when_told)                       \
    X(the_manual_clock_stops_at_its_ends)                          \
    X(clear_expired_counts_what_it_deletes)                        \
    X(a_closed_engine_answers_closed)                              \
    X(sessions_outlive_a_freed_engine)                             \
    X(a_redis_url_opens_a_shared_store)                            \
    X(create_then_load_returns_the_data_and_expiry)                \
    X(expired_session_is_never_returned)                           \
    X(save_replaces_the_data_and_slides_the_deadline)              \
    X(save_never_resurrects_a_deleted_session)                     \
    X(upsert_creates_under_the_callers_key)                        \
    X(create_only_writes_only_a_key_nobody_holds)                  \
    X(parallel_saves_keep_both_keys)                               \
    X(save_diff_writes_only_what_changed_since_the_load)           \
    X(cycle_key_moves_the_stored_data_and_never_a_deleted_session) \
    X(touch_keeps_a_session_alive_without_changing_it)             \
    X(malformed_keys_are_refused_before_storage)                   \
    X(data_that_is_not_a_string_keyed_map_is_refused)              \
    X(unknown_flags_and_expiry_kinds_are_refused)                  \
    X(key_collisions_are_reported)                                 \
    X(damaged_records_are_reported_as_corrupt)                     \
    X(scan_pages_through_live_sessions_in_key_order)               \
    X(scan_entries_carry_key_data_and_expiry)                      \
    X(count_sees_only_live_sessions)                               \
    X(delete_all_logs_everyone_out)                                \
    X(scan_count_and_delete_all_refuse_bad_arguments)              \
    X(sign_out_other_devices_ends_every_other_session_of_the_owner)\
    X(owner_calls_refuse_bad_arguments)                            \
    X(values_round_trip_as_messagepack_and_json)                   \
    X(flags_follow_reads_and_writes)                               \
    X(a_saved_session_is_found_again_by_its_key)                   \
    X(flush_deletes_the_session_and_drops_its_key)                 \
    X(clear_empties_the_stored_session_on_save)                    \
    X(cycle_key_moves_the_data_to_a_new_key)                       \
    X(delete_removes_the_record_but_keeps_the_data_in_hand)        \
    X(concurrent_requests_changing_different_keys_both_land)       \
    X(every_form_of_set_expiry)                                    \
    X(the_test_cookie_round_trip)                                  \
    X(a_closed_session_answers_closed_and_double_close_is_safe)    \
    X(a_visitor_logs_in_counts_and_logs_out)                       \
    X(cookie_lifetime_follows_the_expiry_policy)                   \
    X(forged_and_odd_cookie_headers_give_a_fresh_session)          \
    X(a_session_deleted_during_the_request_is_not_saved_back)      \
    X(a_logout_in_another_tab_is_not_undone_by_cycle_key)          \
    X(statuses_outside_http_are_refused)                           \
    X(null_options_and_engine_arguments_are_refused)               \
    X(null_store_arguments_are_refused)                            \
    X(null_session_arguments_are_refused)                          \
    X(an_error_message_names_the_null_argument)                    \
    X(a_panic_inside_an_export_returns_the_panic_code)             \
    X(one_engine_serves_many_threads_without_lost_updates)         \
    X(closing_an_engine_while_threads_use_it_is_safe)              \
    X(a_full_disk_fails_saves_then_recovers_without_a_restart)     \
    X(a_deleted_directory_fails_durable_saves)

#define DECLARE(name) void test_##name(void);
TESTS(DECLARE)

static const struct {
    const char *name;
    void (*run)(void);
} all[] = {
#define ENTRY(name) {#name, test_##name},
    TESTS(ENTRY)
};

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (filter && !strstr(all[i].name, filter)) continue;
        h_failed = 0;
        all[i].run();
        if (h_failed) {
            failed++;
            printf("FAIL %s\n", all[i].name);
        } else {
            passed++;
            printf("ok   %s\n", all[i].name);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
