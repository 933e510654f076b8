/*
 * cxx_layout.h - the layout facts of the public types, which a C and a C++
 * translation unit each compute from the same headers (cxx_layout_c.c,
 * cxx_layout.cpp); a C++ program passes these structs to, and gets them
 * from, a library built as C, so every fact must agree.
 */
#ifndef CASTY_TESTS_CXX_LAYOUT_H
#define CASTY_TESTS_CXX_LAYOUT_H

#include <stddef.h>

/* TYPE(t): the size and the alignment of t; MEMBER(t, m): the offset of m. */
#define CXX_LAYOUT_FACTS(TYPE, MEMBER)                                                             \
    TYPE(casty_ref_t)                                                                              \
    MEMBER(casty_ref_t, gen)                                                                       \
    TYPE(casty_msg_t)                                                                              \
    MEMBER(casty_msg_t, size)                                                                      \
    MEMBER(casty_msg_t, payload)                                                                   \
    TYPE(casty_behavior_kind_t)                                                                    \
    TYPE(casty_behavior_t)                                                                         \
    MEMBER(casty_behavior_t, env_size)                                                             \
    MEMBER(casty_behavior_t, fn)                                                                   \
    MEMBER(casty_behavior_t, env)                                                                  \
    TYPE(casty_error_t)                                                                            \
    TYPE(casty_config_t)                                                                           \
    MEMBER(casty_config_t, name)                                                                   \
    MEMBER(casty_config_t, max_payload)                                                            \
    MEMBER(casty_config_t, ask_runs_target)                                                        \
    TYPE(casty_stats_t)                                                                            \
    MEMBER(casty_stats_t, rejected)                                                                \
    MEMBER(casty_stats_t, events_dropped)                                                          \
    TYPE(casty_event_t)                                                                            \
    MEMBER(casty_event_t, msg_type)                                                                \
    MEMBER(casty_event_t, ref)                                                                     \
    TYPE(casty_overflow_t)                                                                         \
    TYPE(casty_spawn_opts_t)                                                                       \
    MEMBER(casty_spawn_opts_t, capacity)                                                           \
    MEMBER(casty_spawn_opts_t, overflow)                                                           \
    TYPE(casty_circuit_state_t)                                                                    \
    TYPE(casty_breaker_t)                                                                          \
    MEMBER(casty_breaker_t, reset_timeout)                                                         \
    MEMBER(casty_breaker_t, state)                                                                 \
    MEMBER(casty_breaker_t, failure_count)                                                         \
    MEMBER(casty_breaker_t, last_failure_time)                                                     \
    MEMBER(casty_breaker_t, single_trial)                                                          \
    MEMBER(casty_breaker_t, failed_trials)                                                         \
    MEMBER(casty_breaker_t, open_timeout)                                                          \
    MEMBER(casty_breaker_t, max_reset_timeout)                                                     \
    MEMBER(casty_breaker_t, backoff_factor)                                                        \
    MEMBER(casty_breaker_t, jitter)                                                                \
    TYPE(casty_breaker_transition_t)                                                               \
    TYPE(casty_breaker_options_t)                                                                  \
    MEMBER(casty_breaker_options_t, backoff_factor)                                                \
    MEMBER(casty_breaker_options_t, max_reset_timeout)                                             \
    MEMBER(casty_breaker_options_t, jitter)                                                        \
    TYPE(casty_breaker_allow_t)                                                                    \
    MEMBER(casty_breaker_allow_t, next)                                                            \
    MEMBER(casty_breaker_allow_t, transition)                                                      \
    TYPE(casty_breaker_record_t)                                                                   \
    MEMBER(casty_breaker_record_t, transition)                                                     \
    TYPE(casty_breaker_status_t)                                                                   \
    MEMBER(casty_breaker_status_t, next)

#ifdef __cplusplus
extern "C" {
#endif

/* The facts as C computes them, in the order of CXX_LAYOUT_FACTS. */
extern const size_t cxx_layout_in_c[];
extern const size_t cxx_layout_count_in_c;

#ifdef __cplusplus
}
#endif

#endif
