/* The gateway: an HTTP/1.1 reverse proxy whose I/O threads own the sockets
 * and whose actors own the decisions.
 *
 *     gateway --listen 127.0.0.1:8080 --upstream users=127.0.0.1:9001,127.0.0.1:9002
 *
 * N I/O threads (libuv loops), one listening socket each on the same port
 * (SO_REUSEPORT), parse requests (http-parser) and talk to the upstreams over
 * pooled keep-alive connections. Each upstream has one breaker actor in the
 * embedded casty system, which decides whether a call may go and keeps its
 * deadline; the threads tell it and read its answers from their inbox fd,
 * never blocking in the runtime. See the README's "Gateway" section. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gateway [options] --upstream NAME=HOST:PORT[,HOST:PORT...] ...\n"
            "  --listen HOST:PORT          where to listen (127.0.0.1:8080; port 0 picks one)\n"
            "  --threads N                 I/O threads (the online CPUs)\n"
            "  --workers N                 actor system workers (the online CPUs)\n"
            "  --call-timeout-ms MS        an upstream call's deadline (1000)\n"
            "  --failure-threshold N       failures that open a breaker (5)\n"
            "  --reset-timeout-ms MS       how long an open breaker waits (2000)\n"
            "  --mailbox N                 each breaker actor's mailbox capacity (1024)\n"
            "  --max-connections N         client connections per I/O thread (4096)\n"
            "  --max-inflight N            proxied requests per I/O thread (1024)\n"
            "  --pool-idle N               idle upstream connections per address and thread (64)\n"
            "  --header-limit BYTES        request line and headers (8192)\n"
            "  --body-limit BYTES          request and response bodies (1048576)\n"
            "  --request-timeout-ms MS     to receive a whole request (10000)\n");
}

static bool parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || end == text || v < min || v > max) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool parse_upstream(const char *text, gw_options_t *o)
{
    const char *eq = strchr(text, '=');
    if (eq == NULL || eq == text || (size_t)(eq - text) >= GW_NAME_MAX ||
        o->upstream_count == GW_MAX_UPSTREAMS) {
        return false;
    }
    gw_upstream_conf_t *u = &o->upstreams[o->upstream_count];
    memcpy(u->name, text, (size_t)(eq - text));
    u->name[eq - text] = '\0';
    if (strpbrk(u->name, "/?\"\\") != NULL) {
        return false;
    }
    char list[512];
    snprintf(list, sizeof list, "%s", eq + 1);
    char *save = NULL;
    for (char *item = strtok_r(list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        if (u->addr_count == GW_MAX_ADDRS || !gw_parse_hostport(item, &u->addrs[u->addr_count])) {
            return false;
        }
        u->addr_count++;
    }
    if (u->addr_count == 0) {
        return false;
    }
    o->upstream_count++;
    return true;
}

static bool parse_options(int argc, char **argv, gw_options_t *o)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (gw_options_t){
        .threads = cpus > 0 && cpus < GW_MAX_THREADS ? (uint32_t)cpus : 1,
        .workers = 0,
        .call_timeout_ms = 1000,
        .failure_threshold = 5,
        .reset_timeout_ms = 2000,
        .mailbox_capacity = 1024,
        .max_connections = 4096,
        .max_inflight = 1024,
        .pool_idle = 64,
        .header_limit = 8192,
        .body_limit = 1u << 20,
        .request_timeout_ms = 10000,
    };
    gw_parse_hostport("127.0.0.1:8080", &o->listen);
    static const struct option longs[] = {
        {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'},
        {"workers", required_argument, NULL, 'w'},
        {"upstream", required_argument, NULL, 'u'},
        {"call-timeout-ms", required_argument, NULL, 'c'},
        {"failure-threshold", required_argument, NULL, 'f'},
        {"reset-timeout-ms", required_argument, NULL, 'r'},
        {"mailbox", required_argument, NULL, 'm'},
        {"max-connections", required_argument, NULL, 'C'},
        {"max-inflight", required_argument, NULL, 'i'},
        {"pool-idle", required_argument, NULL, 'p'},
        {"header-limit", required_argument, NULL, 'H'},
        {"body-limit", required_argument, NULL, 'B'},
        {"request-timeout-ms", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    bool ok = true;
    while (ok && (opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (opt) {
        case 'l':
            ok = gw_parse_hostport(optarg, &o->listen);
            break;
        case 't':
            ok = parse_u32(optarg, 1, GW_MAX_THREADS, &o->threads);
            break;
        case 'w':
            ok = parse_u32(optarg, 1, CASTY_MAX_WORKERS, &o->workers);
            break;
        case 'u':
            ok = parse_upstream(optarg, o);
            break;
        case 'c':
            ok = parse_u32(optarg, 1, 3600000, &o->call_timeout_ms);
            break;
        case 'f':
            ok = parse_u32(optarg, 1, 1000000, &o->failure_threshold);
            break;
        case 'r':
            ok = parse_u32(optarg, 1, 3600000, &o->reset_timeout_ms);
            break;
        case 'm':
            ok = parse_u32(optarg, 1, CASTY_MAX_CAPACITY, &o->mailbox_capacity);
            break;
        case 'C':
            ok = parse_u32(optarg, 1, 1000000, &o->max_connections);
            break;
        case 'i':
            ok = parse_u32(optarg, 1, GW_MAX_INFLIGHT, &o->max_inflight);
            break;
        case 'p':
            ok = parse_u32(optarg, 0, 100000, &o->pool_idle);
            break;
        case 'H':
            ok = parse_u32(optarg, 64, 1u << 20, &o->header_limit);
            break;
        case 'B':
            ok = parse_u32(optarg, 0, 1u << 30, &o->body_limit);
            break;
        case 'T':
            ok = parse_u32(optarg, 1, 3600000, &o->request_timeout_ms);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            ok = false;
        }
    }
    if (!ok || optind != argc || o->upstream_count == 0) {
        usage(stderr);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    static gw_shared_t shared;
    if (!parse_options(argc, argv, &shared.options)) {
        return 2;
    }
    gw_options_t *o = &shared.options;

    /* The signals that end the gateway are taken by this thread alone, with
     * sigwait; every thread started from here inherits the mask. A write to
     * a socket the peer closed must fail with EPIPE, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    casty_config_t config;
    casty_config_init(&config);
    config.name = "gateway";
    if (o->workers > 0) {
        config.workers = o->workers;
    }
    int rc = casty_system_create(&config, &shared.system);
    if (rc != CASTY_OK) {
        fprintf(stderr, "gateway: %s\n", casty_strerror(rc));
        return 1;
    }
    for (uint32_t u = 0; u < o->upstream_count; u++) {
        rc = gw_breaker_spawn(&shared, u);
        if (rc != CASTY_OK) {
            fprintf(stderr, "gateway: breaker: %s\n", casty_strerror(rc));
            return 1;
        }
    }

    /* Bind every listener before any thread starts: the first one picks the
     * port when 0 was asked for, and the others join it. */
    int fds[GW_MAX_THREADS];
    uint16_t port = ntohs(o->listen.sin_port);
    for (uint32_t t = 0; t < o->threads; t++) {
        struct sockaddr_in addr = o->listen;
        addr.sin_port = htons(port);
        fds[t] = gw_bind_socket(&addr, true, &port);
        if (fds[t] < 0) {
            fprintf(stderr, "gateway: bind: %s\n", strerror(-fds[t]));
            return 1;
        }
    }
    for (uint32_t t = 0; t < o->threads; t++) {
        if (gw_io_create(&shared, t, fds[t], &shared.io[t]) != 0) {
            fprintf(stderr, "gateway: cannot make I/O thread %u\n", t);
            return 1;
        }
    }
    for (uint32_t t = 0; t < o->threads; t++) {
        if (gw_io_run(shared.io[t]) != 0) {
            fprintf(stderr, "gateway: cannot start I/O thread %u\n", t);
            return 1;
        }
    }
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &o->listen.sin_addr, host, sizeof host);
    printf("gateway listening on %s:%u (%u I/O threads, %u workers, %u upstreams)\n", host, port,
           o->threads, casty_system_workers(shared.system), o->upstream_count);
    fflush(stdout);

    int sig;
    sigwait(&stop_signals, &sig);
    for (uint32_t t = 0; t < o->threads; t++) {
        gw_io_stop(shared.io[t]);
    }
    for (uint32_t t = 0; t < o->threads; t++) {
        gw_io_join(shared.io[t]);
    }
    casty_system_destroy(shared.system);
    return 0;
}
