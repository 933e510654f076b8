/* /metrics: every counter of the gateway and of its actor system, in the
 * Prometheus text format (version 0.0.4). The I/O threads' counters are
 * summed over the threads; each is read with a relaxed load (gateway.h). */
#include <stdio.h>

#include "io.h"

const double gw_latency_bounds[GW_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
};

static const char *const state_names[3] = {"closed", "open", "half_open"};

/* The sum over the I/O threads of one per-thread counter, named by its
 * place in the first thread's counters: the same offset in each thread's. */
static uint64_t sum_at(gw_shared_t *s, _Atomic uint64_t *in_first)
{
    size_t offset = (size_t)((char *)in_first - (char *)&s->io[0]->metrics);
    uint64_t sum = 0;
    for (uint32_t t = 0; t < s->options.threads; t++) {
        sum += gw_read((_Atomic uint64_t *)((char *)&s->io[t]->metrics + offset));
    }
    return sum;
}

#define SUM(s, field) sum_at((s), &(s)->io[0]->metrics.field)

static bool render_requests(gw_shared_t *s, gw_buf_t *out)
{
    bool ok = gw_buf_printf(out, "# HELP gateway_requests_total Requests answered, by upstream "
                                 "and status (upstream \"\": the gateway's own routes and "
                                 "refusals).\n# TYPE gateway_requests_total counter\n");
    for (uint32_t u = 0; u <= s->options.upstream_count && ok; u++) {
        uint32_t row = u < s->options.upstream_count ? u : GW_MAX_UPSTREAMS;
        const char *name = u < s->options.upstream_count ? s->options.upstreams[u].name : "";
        for (uint32_t code = 100; code < GW_STATUS_MAX && ok; code++) {
            uint64_t n = SUM(s, requests[row][code]);
            if (n > 0) {
                ok = gw_buf_printf(out, "gateway_requests_total{upstream=\"%s\",code=\"%u\"} %lu\n",
                                   name, code, (unsigned long)n);
            }
        }
    }
    return ok;
}

static bool render_breakers(gw_shared_t *s, gw_buf_t *out)
{
    bool ok = gw_buf_printf(out, "# HELP gateway_breaker_state 1 for the breaker's current state.\n"
                                 "# TYPE gateway_breaker_state gauge\n");
    for (uint32_t u = 0; u < s->options.upstream_count && ok; u++) {
        uint32_t state = atomic_load_explicit(&s->breaker_metrics[u].state, memory_order_relaxed);
        for (uint32_t st = 0; st < 3 && ok; st++) {
            ok = gw_buf_printf(out, "gateway_breaker_state{upstream=\"%s\",state=\"%s\"} %d\n",
                               s->options.upstreams[u].name, state_names[st], st == state);
        }
    }
    ok = ok && gw_buf_printf(out, "# HELP gateway_breaker_transitions_total State changes of "
                                  "each breaker.\n# TYPE gateway_breaker_transitions_total "
                                  "counter\n");
    for (uint32_t u = 0; u < s->options.upstream_count && ok; u++) {
        for (uint32_t from = 0; from < 3; from++) {
            for (uint32_t to = 0; to < 3 && ok; to++) {
                if (from == to) {
                    continue;
                }
                ok = gw_buf_printf(
                    out,
                    "gateway_breaker_transitions_total{upstream=\"%s\",from=\"%s\",to=\"%s\"} "
                    "%lu\n",
                    s->options.upstreams[u].name, state_names[from], state_names[to],
                    (unsigned long)gw_read(&s->breaker_metrics[u].transitions[from][to]));
            }
        }
    }
    ok = ok && gw_buf_printf(out, "# HELP gateway_breaker_calls_total Verdicts and outcomes "
                                  "seen by each breaker.\n# TYPE gateway_breaker_calls_total "
                                  "counter\n");
    for (uint32_t u = 0; u < s->options.upstream_count && ok; u++) {
        gw_breaker_metrics_t *m = &s->breaker_metrics[u];
        const char *name = s->options.upstreams[u].name;
        struct {
            const char *what;
            _Atomic uint64_t *counter;
        } rows[] = {
            {"allowed", &m->allowed},  {"rejected", &m->rejected}, {"success", &m->successes},
            {"failure", &m->failures}, {"timeout", &m->timeouts},  {"late", &m->late_outcomes},
        };
        for (size_t i = 0; i < sizeof rows / sizeof rows[0] && ok; i++) {
            ok = gw_buf_printf(out,
                               "gateway_breaker_calls_total{upstream=\"%s\",result=\"%s\"} %lu\n",
                               name, rows[i].what, (unsigned long)gw_read(rows[i].counter));
        }
    }
    ok = ok && gw_buf_printf(out, "# HELP gateway_breaker_mailbox_depth Messages told to the "
                                  "breaker actor and not yet handled.\n# TYPE "
                                  "gateway_breaker_mailbox_depth gauge\n");
    for (uint32_t u = 0; u < s->options.upstream_count && ok; u++) {
        uint64_t handled = gw_read(&s->breaker_metrics[u].handled);
        uint64_t told = gw_read(&s->breaker_metrics[u].told);
        ok = gw_buf_printf(out, "gateway_breaker_mailbox_depth{upstream=\"%s\"} %lu\n",
                           s->options.upstreams[u].name,
                           (unsigned long)(told > handled ? told - handled : 0));
    }
    return ok;
}

static bool render_latency(gw_shared_t *s, gw_buf_t *out)
{
    bool ok = gw_buf_printf(out, "# HELP gateway_upstream_call_seconds Time from the verdict to "
                                 "the end of each upstream call.\n# TYPE "
                                 "gateway_upstream_call_seconds histogram\n");
    for (uint32_t u = 0; u < s->options.upstream_count && ok; u++) {
        const char *name = s->options.upstreams[u].name;
        uint64_t cumulative = 0;
        for (uint32_t b = 0; b <= GW_LATENCY_BUCKETS && ok; b++) {
            cumulative += SUM(s, latency[u][b]);
            if (b < GW_LATENCY_BUCKETS) {
                ok =
                    gw_buf_printf(out,
                                  "gateway_upstream_call_seconds_bucket{upstream=\"%s\",le=\"%g\"} "
                                  "%lu\n",
                                  name, gw_latency_bounds[b], (unsigned long)cumulative);
            } else {
                ok = gw_buf_printf(
                    out,
                    "gateway_upstream_call_seconds_bucket{upstream=\"%s\",le=\"+Inf\"} "
                    "%lu\n",
                    name, (unsigned long)cumulative);
            }
        }
        ok = ok && gw_buf_printf(out,
                                 "gateway_upstream_call_seconds_sum{upstream=\"%s\"} %.6f\n"
                                 "gateway_upstream_call_seconds_count{upstream=\"%s\"} %lu\n",
                                 name, (double)SUM(s, latency_sum_us[u]) / 1e6, name,
                                 (unsigned long)cumulative);
    }
    return ok;
}

static bool render_one(gw_buf_t *out, const char *name, const char *type, const char *help,
                       uint64_t value)
{
    return gw_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %lu\n", name, help, name, type, name,
                         (unsigned long)value);
}

static bool render_io(gw_shared_t *s, gw_buf_t *out)
{
    return render_one(out, "gateway_io_threads", "gauge", "I/O threads.", s->options.threads) &&
           render_one(out, "gateway_connections_open", "gauge", "Client connections open.",
                      SUM(s, connections_open)) &&
           render_one(out, "gateway_connections_accepted_total", "counter",
                      "Client connections accepted.", SUM(s, connections_accepted)) &&
           render_one(out, "gateway_connections_refused_total", "counter",
                      "Client connections closed at once, over --max-connections.",
                      SUM(s, connections_refused)) &&
           render_one(out, "gateway_calls_in_flight", "gauge", "Proxied requests under way.",
                      SUM(s, inflight)) &&
           render_one(out, "gateway_upstream_connects_total", "counter",
                      "Upstream connections opened.", SUM(s, upstream_connects)) &&
           render_one(out, "gateway_upstream_reuses_total", "counter",
                      "Calls sent on a pooled upstream connection.", SUM(s, upstream_reuses)) &&
           render_one(out, "gateway_upstream_retries_total", "counter",
                      "Calls sent again after a pooled connection was found closed.",
                      SUM(s, upstream_retries));
}

static bool render_runtime(gw_shared_t *s, gw_buf_t *out)
{
    casty_stats_t st;
    if (casty_system_stats(s->system, &st) != CASTY_OK) {
        return true;
    }
    return render_one(out, "casty_messages_sent_total", "counter",
                      "Messages that entered the "
                      "actor system.",
                      st.sent) &&
           render_one(out, "casty_messages_handled_total", "counter", "Messages handled.",
                      st.handled) &&
           render_one(out, "casty_messages_taken_total", "counter",
                      "Messages taken from the I/O threads' inboxes.", st.taken) &&
           render_one(out, "casty_dead_letters_total", "counter", "Messages to stopped actors.",
                      st.dead_letters) &&
           render_one(out, "casty_rejected_total", "counter",
                      "Messages refused by a full bounded mailbox (answered 429, or an "
                      "outcome told again).",
                      st.rejected) &&
           render_one(out, "casty_dropped_total", "counter",
                      "Messages dropped (stale timer messages among them).", st.dropped) &&
           render_one(out, "casty_unhandled_total", "counter", "Messages not understood.",
                      st.unhandled) &&
           render_one(out, "casty_messages_queued", "gauge", "Messages queued or being handled.",
                      st.queued);
}

bool gw_metrics_render(gw_shared_t *shared, gw_buf_t *out)
{
    return render_requests(shared, out) && render_breakers(shared, out) &&
           render_latency(shared, out) && render_io(shared, out) && render_runtime(shared, out);
}
