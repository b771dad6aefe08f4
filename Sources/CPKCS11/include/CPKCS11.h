// The PKCS #11 types, for the module (Sources/RedoubtPKCS11, Sources/CRedoubtPKCS11) and for
// tests that load it: the vendored 2.40 header (pkcs11.h, from p11-kit, under the permissive
// notice at its top: unlimited permission to copy and distribute, with or without
// modifications, as long as the notice is preserved) in its standard (CRYPTOKI_COMPAT) names,
// and the PKCS #11 3.0 / 3.2 definitions it lacks, written here from the standard.
#ifndef CPKCS11_H
#define CPKCS11_H

#define CRYPTOKI_COMPAT 1
#include "pkcs11.h"

// --- PKCS #11 3.0: interfaces ---------------------------------------------------------------

typedef struct CK_INTERFACE {
    CK_CHAR *pInterfaceName;
    CK_VOID_PTR pFunctionList;
    CK_FLAGS flags;
} CK_INTERFACE;

#define CKF_INTERFACE_FORK_SAFE (0x1UL)

typedef CK_RV (*CK_C_GetInterfaceList)(CK_INTERFACE *pInterfacesList, CK_ULONG *pulCount);
typedef CK_RV (*CK_C_GetInterface)(CK_UTF8CHAR *pInterfaceName, CK_VERSION *pVersion, CK_INTERFACE **ppInterface, CK_FLAGS flags);
typedef CK_RV (*CK_C_LoginUser)(CK_SESSION_HANDLE, CK_USER_TYPE, CK_UTF8CHAR *, CK_ULONG, CK_UTF8CHAR *, CK_ULONG);
typedef CK_RV (*CK_C_SessionCancel)(CK_SESSION_HANDLE, CK_FLAGS);
// The message-based functions (3.0): only their table slots matter here.
typedef CK_RV (*CK_C_MessageFunction)(void);

// The 3.0 function list: the 2.40 list, then the 3.0 functions in the standard's order.
typedef struct CK_FUNCTION_LIST_3_0 {
    CK_FUNCTION_LIST base;
    CK_C_GetInterfaceList C_GetInterfaceList;
    CK_C_GetInterface C_GetInterface;
    CK_C_LoginUser C_LoginUser;
    CK_C_SessionCancel C_SessionCancel;
    // C_MessageEncryptInit … C_MessageVerifyFinal (20 functions).
    void *message[20];
} CK_FUNCTION_LIST_3_0;

CK_RV C_GetInterfaceList(CK_INTERFACE *pInterfacesList, CK_ULONG *pulCount);
CK_RV C_GetInterface(CK_UTF8CHAR *pInterfaceName, CK_VERSION *pVersion, CK_INTERFACE **ppInterface, CK_FLAGS flags);
CK_RV C_LoginUser(CK_SESSION_HANDLE, CK_USER_TYPE, CK_UTF8CHAR *, CK_ULONG, CK_UTF8CHAR *, CK_ULONG);
CK_RV C_SessionCancel(CK_SESSION_HANDLE, CK_FLAGS);

// The message-based encryption functions (3.0) the module offers (AES-GCM, one message per call).
CK_RV C_MessageEncryptInit(CK_SESSION_HANDLE, CK_MECHANISM *, CK_OBJECT_HANDLE);
CK_RV C_EncryptMessage(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *);
CK_RV C_EncryptMessageBegin(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG);
CK_RV C_EncryptMessageNext(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *, CK_FLAGS);
CK_RV C_MessageEncryptFinal(CK_SESSION_HANDLE);
CK_RV C_MessageDecryptInit(CK_SESSION_HANDLE, CK_MECHANISM *, CK_OBJECT_HANDLE);
CK_RV C_DecryptMessage(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *);
CK_RV C_DecryptMessageBegin(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG);
CK_RV C_DecryptMessageNext(CK_SESSION_HANDLE, void *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *, CK_FLAGS);
CK_RV C_MessageDecryptFinal(CK_SESSION_HANDLE);

// CK_GCM_MESSAGE_PARAMS (3.0): the parameter of each AES-GCM message.
typedef CK_ULONG CK_GENERATOR_FUNCTION;
#define CKG_NO_GENERATE (0x0UL)
#define CKG_GENERATE (0x1UL)
#define CKG_GENERATE_COUNTER (0x2UL)
#define CKG_GENERATE_RANDOM (0x3UL)
typedef struct CK_GCM_MESSAGE_PARAMS {
    CK_BYTE *pIv;
    CK_ULONG ulIvLen;
    CK_ULONG ulIvFixedBits;
    CK_GENERATOR_FUNCTION ivGenerator;
    CK_BYTE *pTag;
    CK_ULONG ulTagBits;
} CK_GCM_MESSAGE_PARAMS;

// --- PKCS #11 3.2: key encapsulation ----------------------------------------------------------

typedef CK_RV (*CK_C_EncapsulateKey)(
    CK_SESSION_HANDLE hSession, CK_MECHANISM *pMechanism, CK_OBJECT_HANDLE hPublicKey, CK_ATTRIBUTE *pTemplate,
    CK_ULONG ulAttributeCount, CK_BYTE *pCiphertext, CK_ULONG *pulCiphertextLen, CK_OBJECT_HANDLE *phKey);
typedef CK_RV (*CK_C_DecapsulateKey)(
    CK_SESSION_HANDLE hSession, CK_MECHANISM *pMechanism, CK_OBJECT_HANDLE hPrivateKey, CK_ATTRIBUTE *pTemplate,
    CK_ULONG ulAttributeCount, CK_BYTE *pCiphertext, CK_ULONG ulCiphertextLen, CK_OBJECT_HANDLE *phKey);

// The 3.2 function list: the 3.0 list, then the 3.2 functions in the standard's order.
typedef struct CK_FUNCTION_LIST_3_2 {
    CK_FUNCTION_LIST_3_0 base;
    CK_C_EncapsulateKey C_EncapsulateKey;
    CK_C_DecapsulateKey C_DecapsulateKey;
    // C_VerifySignatureInit, C_VerifySignature, C_VerifySignatureUpdate, C_VerifySignatureFinal,
    // C_GetSessionValidationFlags, C_AsyncComplete, C_AsyncGetID, C_AsyncJoin,
    // C_WrapKeyAuthenticated, C_UnwrapKeyAuthenticated (10 functions).
    void *more[10];
} CK_FUNCTION_LIST_3_2;

CK_RV C_EncapsulateKey(CK_SESSION_HANDLE, CK_MECHANISM *, CK_OBJECT_HANDLE, CK_ATTRIBUTE *, CK_ULONG, CK_BYTE *, CK_ULONG *, CK_OBJECT_HANDLE *);
CK_RV C_DecapsulateKey(CK_SESSION_HANDLE, CK_MECHANISM *, CK_OBJECT_HANDLE, CK_ATTRIBUTE *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_OBJECT_HANDLE *);

#define CKF_ENCAPSULATE (0x10000000UL)
#define CKF_DECAPSULATE (0x20000000UL)
#define CKA_ENCAPSULATE (0x633UL)
#define CKA_DECAPSULATE (0x634UL)

// --- PKCS #11 3.0 / 3.2 identifiers the 2.40 header lacks -------------------------------------

#ifndef CKA_UNIQUE_ID
#define CKA_UNIQUE_ID (0x4UL)
#endif
#ifndef CKK_EC_MONTGOMERY
#define CKK_EC_MONTGOMERY (0x41UL)
#endif
#ifndef CKM_EC_MONTGOMERY_KEY_PAIR_GEN
#define CKM_EC_MONTGOMERY_KEY_PAIR_GEN (0x1056UL)
#endif
#define CKF_FIND_OBJECTS (0x40UL)
#define CKK_ML_KEM (0x49UL)
#define CKK_ML_DSA (0x4aUL)
#define CKM_ML_KEM_KEY_PAIR_GEN (0x0fUL)
#define CKM_ML_KEM (0x17UL)
#define CKM_ML_DSA_KEY_PAIR_GEN (0x1cUL)
#define CKM_ML_DSA (0x1dUL)
#define CKA_PARAMETER_SET (0x61dUL)
#define CKP_ML_DSA_44 (0x1UL)
#define CKP_ML_DSA_65 (0x2UL)
#define CKP_ML_DSA_87 (0x3UL)
#define CKP_ML_KEM_512 (0x1UL)
#define CKP_ML_KEM_768 (0x2UL)
#define CKP_ML_KEM_1024 (0x3UL)

#endif
