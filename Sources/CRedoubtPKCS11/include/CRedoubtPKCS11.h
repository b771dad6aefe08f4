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
#endif
