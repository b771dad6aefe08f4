// Drives libredoubt-pkcs11 across fork() as a pre-forking server does (PKCS11ForkTests):
//   pkcs11-fork MODULE PIN
// The parent initialises, logs in and signs; then fork(). In the child, a call without
// re-initialising must answer CKR_CRYPTOKI_NOT_INITIALIZED (never hang or crash); after
// C_Finalize + C_Initialize the child logs in and signs. The parent signs again afterwards.
// Prints one line per step and exits 0 only if every step gave what it should.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "CPKCS11.h"

static CK_FUNCTION_LIST *f;

static int check(const char *who, const char *what, CK_RV rv, CK_RV want) {
    printf("%s %s: rv=0x%lx (want 0x%lx)\n", who, what, rv, want);
    fflush(stdout);
    return rv == want ? 0 : 1;
}

// Logs in, makes a P-256 key (first time) or finds it, signs once.
static int sign_once(const char *who, const char *pin, int generate) {
    int bad = 0;
    CK_SESSION_HANDLE s;
    bad |= check(who, "C_OpenSession", f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
    CK_RV rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
    if (rv != CKR_USER_ALREADY_LOGGED_IN) bad |= check(who, "C_Login", rv, CKR_OK);
    CK_BYTE id[] = {0xf0, 0x4c};
    CK_OBJECT_HANDLE priv = 0, pub = 0;
    if (generate) {
        CK_BYTE oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
        CK_BBOOL yes = CK_TRUE;
        CK_ATTRIBUTE pubT[] = {{CKA_EC_PARAMS, oid, sizeof(oid)}, {CKA_ID, id, sizeof(id)}, {CKA_TOKEN, &yes, 1}};
        CK_ATTRIBUTE privT[] = {{CKA_ID, id, sizeof(id)}, {CKA_TOKEN, &yes, 1}, {CKA_SIGN, &yes, 1}};
        CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
        bad |= check(who, "C_GenerateKeyPair", f->C_GenerateKeyPair(s, &gen, pubT, 3, privT, 3, &pub, &priv), CKR_OK);
    } else {
        CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, id, sizeof(id)}};
        CK_ULONG n = 0;
        bad |= check(who, "C_FindObjectsInit", f->C_FindObjectsInit(s, t, 2), CKR_OK);
        bad |= check(who, "C_FindObjects", f->C_FindObjects(s, &priv, 1, &n), CKR_OK);
        f->C_FindObjectsFinal(s);
        if (n != 1) { printf("%s found %lu keys\n", who, n); bad = 1; }
    }
    CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
    CK_BYTE data[] = "forked", sig[64];
    CK_ULONG len = sizeof(sig);
    bad |= check(who, "C_SignInit", f->C_SignInit(s, &m, priv), CKR_OK);
    bad |= check(who, "C_Sign", f->C_Sign(s, data, 6, sig, &len), CKR_OK);
    f->C_CloseSession(s);
    return bad;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: pkcs11-fork MODULE PIN\n"); return 2; }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
    CK_RV (*getList)(CK_FUNCTION_LIST **) = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(lib, "C_GetFunctionList");
    if (!getList || getList(&f) != CKR_OK) { fprintf(stderr, "no function list\n"); return 2; }
    CK_C_INITIALIZE_ARGS args = {0};
    args.flags = CKF_OS_LOCKING_OK;
    int bad = check("parent", "C_Initialize", f->C_Initialize(&args), CKR_OK);
    bad |= sign_once("parent", argv[2], 1);
    pid_t pid = fork();
    if (pid == 0) {
        int cbad = 0;
        CK_ULONG n = 0;
        cbad |= check("child", "C_GetSlotList before C_Initialize", f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
        cbad |= check("child", "C_Finalize", f->C_Finalize(NULL), CKR_OK);
        cbad |= check("child", "C_Initialize", f->C_Initialize(&args), CKR_OK);
        cbad |= sign_once("child", argv[2], 0);
        cbad |= check("child", "C_Finalize after use", f->C_Finalize(NULL), CKR_OK);
        _exit(cbad);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { printf("child failed (status %d)\n", status); bad = 1; }
    bad |= sign_once("parent after fork", argv[2], 0);
    bad |= check("parent", "C_Finalize", f->C_Finalize(NULL), CKR_OK);
    printf(bad ? "FAILED\n" : "ALL OK\n");
    return bad;
}
