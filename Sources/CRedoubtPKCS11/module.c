// The function tables and interfaces of libredoubt-pkcs11 (PKCS #11 2.40, 3.0 and 3.2), and the
// three entry points that hand them out. Every other C_* function is a Swift function exported
// under its C name (Sources/RedoubtPKCS11).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>
#include <string.h>
#include "CRedoubtPKCS11.h"

static CK_RV message_not_supported(void) { return CKR_FUNCTION_NOT_SUPPORTED; }

#define REDOUBT_2_40_FUNCTIONS \
    .C_Initialize = C_Initialize, \
    .C_Finalize = C_Finalize, \
    .C_GetInfo = C_GetInfo, \
    .C_GetFunctionList = C_GetFunctionList, \
    .C_GetSlotList = C_GetSlotList, \
    .C_GetSlotInfo = C_GetSlotInfo, \
    .C_GetTokenInfo = C_GetTokenInfo, \
    .C_GetMechanismList = C_GetMechanismList, \
    .C_GetMechanismInfo = C_GetMechanismInfo, \
    .C_InitToken = C_InitToken, \
    .C_InitPIN = C_InitPIN, \
    .C_SetPIN = C_SetPIN, \
    .C_OpenSession = C_OpenSession, \
    .C_CloseSession = C_CloseSession, \
    .C_CloseAllSessions = C_CloseAllSessions, \
    .C_GetSessionInfo = C_GetSessionInfo, \
    .C_GetOperationState = C_GetOperationState, \
    .C_SetOperationState = C_SetOperationState, \
    .C_Login = C_Login, \
    .C_Logout = C_Logout, \
    .C_CreateObject = C_CreateObject, \
    .C_CopyObject = C_CopyObject, \
    .C_DestroyObject = C_DestroyObject, \
    .C_GetObjectSize = C_GetObjectSize, \
    .C_GetAttributeValue = C_GetAttributeValue, \
    .C_SetAttributeValue = C_SetAttributeValue, \
    .C_FindObjectsInit = C_FindObjectsInit, \
    .C_FindObjects = C_FindObjects, \
    .C_FindObjectsFinal = C_FindObjectsFinal, \
    .C_EncryptInit = C_EncryptInit, \
    .C_Encrypt = C_Encrypt, \
    .C_EncryptUpdate = C_EncryptUpdate, \
    .C_EncryptFinal = C_EncryptFinal, \
    .C_DecryptInit = C_DecryptInit, \
    .C_Decrypt = C_Decrypt, \
    .C_DecryptUpdate = C_DecryptUpdate, \
    .C_DecryptFinal = C_DecryptFinal, \
    .C_DigestInit = C_DigestInit, \
    .C_Digest = C_Digest, \
    .C_DigestUpdate = C_DigestUpdate, \
    .C_DigestKey = C_DigestKey, \
    .C_DigestFinal = C_DigestFinal, \
    .C_SignInit = C_SignInit, \
    .C_Sign = C_Sign, \
    .C_SignUpdate = C_SignUpdate, \
    .C_SignFinal = C_SignFinal, \
    .C_SignRecoverInit = C_SignRecoverInit, \
    .C_SignRecover = C_SignRecover, \
    .C_VerifyInit = C_VerifyInit, \
    .C_Verify = C_Verify, \
    .C_VerifyUpdate = C_VerifyUpdate, \
    .C_VerifyFinal = C_VerifyFinal, \
    .C_VerifyRecoverInit = C_VerifyRecoverInit, \
    .C_VerifyRecover = C_VerifyRecover, \
    .C_DigestEncryptUpdate = C_DigestEncryptUpdate, \
    .C_DecryptDigestUpdate = C_DecryptDigestUpdate, \
    .C_SignEncryptUpdate = C_SignEncryptUpdate, \
    .C_DecryptVerifyUpdate = C_DecryptVerifyUpdate, \
    .C_GenerateKey = C_GenerateKey, \
    .C_GenerateKeyPair = C_GenerateKeyPair, \
    .C_WrapKey = C_WrapKey, \
    .C_UnwrapKey = C_UnwrapKey, \
    .C_DeriveKey = C_DeriveKey, \
    .C_SeedRandom = C_SeedRandom, \
    .C_GenerateRandom = C_GenerateRandom, \
    .C_GetFunctionStatus = C_GetFunctionStatus, \
    .C_CancelFunction = C_CancelFunction, \
    .C_WaitForSlotEvent = C_WaitForSlotEvent, \

static CK_FUNCTION_LIST function_list_2_40 = {
    .version = {2, 40},
    REDOUBT_2_40_FUNCTIONS
};

// The functions 3.0 adds to 2.40, in both the 3.0 and the 3.2 table.
#define REDOUBT_3_0_FUNCTIONS \
    .C_GetInterfaceList = C_GetInterfaceList, \
    .C_GetInterface = C_GetInterface, \
    .C_LoginUser = C_LoginUser, \
    .C_SessionCancel = C_SessionCancel, \
    .message = { \
        /* Encryption and decryption (AES-GCM): RedoubtPKCS11/Exports+Message.swift. */ \
        (void *)C_MessageEncryptInit, (void *)C_EncryptMessage, (void *)C_EncryptMessageBegin, (void *)C_EncryptMessageNext, \
        (void *)C_MessageEncryptFinal, (void *)C_MessageDecryptInit, (void *)C_DecryptMessage, (void *)C_DecryptMessageBegin, \
        (void *)C_DecryptMessageNext, (void *)C_MessageDecryptFinal, \
        /* Message-based signing and verifying: not offered. */ \
        message_not_supported, message_not_supported, \
        message_not_supported, message_not_supported, message_not_supported, message_not_supported, \
        message_not_supported, message_not_supported, message_not_supported, message_not_supported, \
    },

static CK_FUNCTION_LIST_3_0 function_list_3_0 = {
    .base = {
        .version = {3, 0},
        REDOUBT_2_40_FUNCTIONS
    },
    REDOUBT_3_0_FUNCTIONS
};

// 3.2: the 3.0 table, then ML-KEM encapsulation (RedoubtPKCS11/Exports+KEM.swift); the other
// 3.2 functions answer CKR_FUNCTION_NOT_SUPPORTED.
static CK_FUNCTION_LIST_3_2 function_list_3_2 = {
    .base = {
        .base = {
            .version = {3, 2},
            REDOUBT_2_40_FUNCTIONS
        },
        REDOUBT_3_0_FUNCTIONS
    },
    .C_EncapsulateKey = C_EncapsulateKey,
    .C_DecapsulateKey = C_DecapsulateKey,
    .more = {
        message_not_supported, message_not_supported, message_not_supported, message_not_supported, message_not_supported,
        message_not_supported, message_not_supported, message_not_supported, message_not_supported, message_not_supported,
    },
};

static CK_CHAR interface_name[] = "PKCS 11";

// 3.0 first: a caller that takes the first interface gets the table every 3.x caller knows
// (p11-kit and OpenSC 0.23 predate 3.2); a 3.2 caller asks for {3, 2} by version.
static CK_INTERFACE interfaces[] = {
    {interface_name, &function_list_3_0, 0},
    {interface_name, &function_list_3_2, 0},
    {interface_name, &function_list_2_40, 0},
};

#define INTERFACE_COUNT (sizeof(interfaces) / sizeof(interfaces[0]))


CK_RV C_GetFunctionList(CK_FUNCTION_LIST **ppFunctionList) {
    if (ppFunctionList == NULL) return CKR_ARGUMENTS_BAD;
    *ppFunctionList = &function_list_2_40;
    return CKR_OK;
}

CK_RV C_GetInterfaceList(CK_INTERFACE *pInterfacesList, CK_ULONG *pulCount) {
    if (pulCount == NULL) return CKR_ARGUMENTS_BAD;
    if (pInterfacesList == NULL) {
        *pulCount = INTERFACE_COUNT;
        return CKR_OK;
    }
    if (*pulCount < INTERFACE_COUNT) {
        *pulCount = INTERFACE_COUNT;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(pInterfacesList, interfaces, sizeof(interfaces));
    *pulCount = INTERFACE_COUNT;
    return CKR_OK;
}

CK_RV C_GetInterface(CK_UTF8CHAR *pInterfaceName, CK_VERSION *pVersion, CK_INTERFACE **ppInterface, CK_FLAGS flags) {
    if (ppInterface == NULL) return CKR_ARGUMENTS_BAD;
    for (size_t i = 0; i < INTERFACE_COUNT; i++) {
        CK_INTERFACE *candidate = &interfaces[i];
        if (pInterfaceName != NULL && strcmp((const char *)pInterfaceName, (const char *)candidate->pInterfaceName) != 0) continue;
        CK_VERSION *version = (CK_VERSION *)candidate->pFunctionList;
        if (pVersion != NULL && (pVersion->major != version->major || pVersion->minor != version->minor)) continue;
        if ((candidate->flags & flags) != flags) continue;
        *ppInterface = candidate;
        return CKR_OK;
    }
    return CKR_ARGUMENTS_BAD;
}

// Set in every child of fork(): there, libdispatch is unusable if the parent had threads, so
// the module must not wait on anything it delivers (Runtime.shutdown).
static volatile int in_fork_child = 0;
// This process's id, asked of the kernel once: getpid() is a system call (glibc keeps no copy),
// and every entry point compares it with its runtime's (Module.runtime()). A child of fork()
// forgets it here, before any of its code runs.
static pid_t process_id = 0;
static void redoubt_pkcs11_atfork_child(void) {
    __atomic_store_n(&process_id, 0, __ATOMIC_RELAXED);
    in_fork_child = 1;
}
int redoubt_pkcs11_in_fork_child(void) { return in_fork_child; }
int redoubt_pkcs11_process_id(void) {
    pid_t id = __atomic_load_n(&process_id, __ATOMIC_RELAXED);
    if (id == 0) {
        id = getpid();
        __atomic_store_n(&process_id, id, __ATOMIC_RELAXED);
    }
    return (int)id;
}

// In a child of fork(), the thread that forked is the parent's thread as far as Swift's per-thread
// caches know: Synchronization's Mutex and the Swift runtime's locks write a cached thread id as
// the owner of a lock they take, and there it is the id of a thread of the parent. Another thread
// that then waits for such a lock makes the kernel look for that owner, and the Mutex traps
// ("Unknown error occurred while attempting to acquire a Mutex": nginx workers and pre-forking
// servers died of it). So in a child, every entry point's Swift code runs on a thread born in the
// child (its caches are right) while the calling thread waits here, in C.
static __thread int on_call_thread = 0;
int redoubt_pkcs11_needs_call_thread(void) { return in_fork_child && !on_call_thread; }

struct redoubt_pkcs11_call {
    void (*body)(void *);
    void *context;
};

static void *redoubt_pkcs11_call_main(void *argument) {
    struct redoubt_pkcs11_call *call = argument;
    on_call_thread = 1;
    call->body(call->context);
    return NULL;
}

int redoubt_pkcs11_run_on_call_thread(void (*body)(void *), void *context) {
    struct redoubt_pkcs11_call call = {body, context};
    pthread_t thread;
    if (pthread_create(&thread, NULL, redoubt_pkcs11_call_main, &call) != 0) return -1;
    return pthread_join(thread, NULL) == 0 ? 0 : -1;
}

// Swift code cannot be unloaded safely (its runtime keeps pointers into the image), and PKCS #11
// consumers do dlclose their modules: pin this library in memory for the life of the process.
__attribute__((constructor)) static void redoubt_pkcs11_pin(void) {
    Dl_info info;
    if (dladdr((void *)&redoubt_pkcs11_pin, &info) != 0 && info.dli_fname != NULL) {
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    }
    pthread_atfork(NULL, NULL, redoubt_pkcs11_atfork_child);
}
