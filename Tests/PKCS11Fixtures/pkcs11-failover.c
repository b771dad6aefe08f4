// Signing through libredoubt-pkcs11 while a node dies (ClusterProcessTests, module failover):
//   pkcs11-failover MODULE PIN SECONDS THREADS KILL_PID KILL_AT_MS
// THREADS threads, each with its own session, sign with one P-256 key (CKM_ECDSA over a digest)
// for SECONDS; KILL_AT_MS after the start it sends SIGKILL to KILL_PID (the preferred node). It
// prints every failed call, then one line:
//   RESULT calls=N failures=F p99_before_us=A p99_failover_us=B p99_after_us=C max_gap_after_ms=D
// where "failover" is the 2 s from the kill, "after" the rest, and max_gap_after_ms the longest
// time in "after" without a completed call (a stall).
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "CPKCS11.h"

#define MAX_SAMPLES 400000
static CK_FUNCTION_LIST *f;
static CK_OBJECT_HANDLE key;
static double start_s, seconds, kill_at_s;
static double sample_start[MAX_SAMPLES], sample_latency[MAX_SAMPLES];
static int sample_count = 0, failures = 0;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *arg) {
    (void)arg;
    CK_SESSION_HANDLE s;
    if (f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) {
        pthread_mutex_lock(&lock);
        failures++;
        printf("FAIL C_OpenSession\n");
        pthread_mutex_unlock(&lock);
        return NULL;
    }
    CK_BYTE digest[32];
    memset(digest, 7, sizeof(digest));
    while (now() - start_s < seconds) {
        double t0 = now();
        CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
        CK_BYTE sig[64];
        CK_ULONG len = sizeof(sig);
        CK_RV rv = f->C_SignInit(s, &m, key);
        if (rv == CKR_OK) rv = f->C_Sign(s, digest, sizeof(digest), sig, &len);
        double t1 = now();
        pthread_mutex_lock(&lock);
        if (rv != CKR_OK) {
            failures++;
            printf("FAIL at %.3f s: rv=0x%lx\n", t0 - start_s, rv);
        } else if (sample_count < MAX_SAMPLES) {
            sample_start[sample_count] = t0 - start_s;
            sample_latency[sample_count] = t1 - t0;
            sample_count++;
        }
        pthread_mutex_unlock(&lock);
    }
    f->C_CloseSession(s);
    return NULL;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// The 99th percentile (µs) of the latencies of calls started in [from, to).
static long p99(double from, double to) {
    static double picked[MAX_SAMPLES];
    int n = 0;
    for (int i = 0; i < sample_count; i++)
        if (sample_start[i] >= from && sample_start[i] < to) picked[n++] = sample_latency[i];
    if (n == 0) return -1;
    qsort(picked, n, sizeof(double), compare);
    return (long)(picked[(int)(0.99 * (n - 1))] * 1e6);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: pkcs11-failover MODULE PIN SECONDS THREADS KILL_PID KILL_AT_MS\n");
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
    CK_RV (*getList)(CK_FUNCTION_LIST **) = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(lib, "C_GetFunctionList");
    if (!getList || getList(&f) != CKR_OK) return 2;
    seconds = atof(argv[3]);
    int threads = atoi(argv[4]);
    pid_t victim = (pid_t)atoi(argv[5]);
    kill_at_s = atof(argv[6]) / 1000.0;
    CK_C_INITIALIZE_ARGS args = {0};
    args.flags = CKF_OS_LOCKING_OK;
    if (f->C_Initialize(&args) != CKR_OK) { fprintf(stderr, "C_Initialize failed\n"); return 2; }
    CK_SESSION_HANDLE s;
    if (f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK) return 2;
    CK_RV rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)argv[2], strlen(argv[2]));
    if (rv != CKR_OK) { fprintf(stderr, "C_Login: 0x%lx\n", rv); return 2; }
    CK_BYTE oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pubT[] = {{CKA_EC_PARAMS, oid, sizeof(oid)}, {CKA_TOKEN, &yes, 1}};
    CK_ATTRIBUTE privT[] = {{CKA_TOKEN, &yes, 1}, {CKA_SIGN, &yes, 1}};
    CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE pub;
    rv = f->C_GenerateKeyPair(s, &gen, pubT, 2, privT, 2, &pub, &key);
    if (rv != CKR_OK) { fprintf(stderr, "C_GenerateKeyPair: 0x%lx\n", rv); return 2; }
    pthread_t ids[64];
    if (threads > 64) threads = 64;
    start_s = now();
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, worker, NULL);
    while (now() - start_s < kill_at_s) usleep(1000);
    kill(victim, SIGKILL);
    printf("KILLED %d at %.3f s\n", (int)victim, now() - start_s);
    fflush(stdout);
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    // The longest stretch after the failover window with no call completing.
    double after = kill_at_s + 2.0, last = after, gap = 0;
    static double ends[MAX_SAMPLES];
    int n = 0;
    for (int i = 0; i < sample_count; i++) {
        double end = sample_start[i] + sample_latency[i];
        if (end >= after) ends[n++] = end;
    }
    qsort(ends, n, sizeof(double), compare);
    for (int i = 0; i < n; i++) { if (ends[i] - last > gap) gap = ends[i] - last; last = ends[i]; }
    if (seconds - last > gap) gap = seconds - last;
    printf("RESULT calls=%d failures=%d p99_before_us=%ld p99_failover_us=%ld p99_after_us=%ld max_gap_after_ms=%ld\n",
           sample_count + failures, failures, p99(0.5, kill_at_s), p99(kill_at_s, after), p99(after, seconds), (long)(gap * 1000));
    f->C_Logout(s);
    f->C_Finalize(NULL);
    return failures == 0 ? 0 : 1;
}
