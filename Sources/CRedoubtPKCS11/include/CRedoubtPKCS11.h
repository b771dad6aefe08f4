// The C side of libredoubt-pkcs11 (module.c): the function tables and interfaces, which are
// static C data so their addresses are fixed before any call, and C_GetFunctionList,
// C_GetInterfaceList and C_GetInterface. Every other entry point is a Swift function exported
// under its C name (Sources/RedoubtPKCS11/Exports*.swift). exports.map keeps every other symbol
// of the library local.
#ifndef CREDOUBT_PKCS11_H
#define CREDOUBT_PKCS11_H
#include "CPKCS11.h"

/// Whether this process is a child of fork() (set by a pthread_atfork handler).
int redoubt_pkcs11_in_fork_child(void);
/// getpid(), asked of the kernel once per process (the fork handler makes a child ask again).
int redoubt_pkcs11_process_id(void);
/// Whether this call must run on a thread of its own: in a child of fork(), unless already there
/// (module.c says why).
int redoubt_pkcs11_needs_call_thread(void);
/// Runs `body(context)` on a new thread and waits for it; -1 if no thread could be made.
int redoubt_pkcs11_run_on_call_thread(void (*body)(void *), void *context);
#endif
