#ifndef REDOUBT_OPENSSL_SHIM_H
#define REDOUBT_OPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/rand.h>
#include <openssl/obj_mac.h>
#include <openssl/crypto.h>
#include <openssl/rsa.h>
#include <string.h>
#include <sys/random.h>

/* Selections as plain functions: the OpenSSL macros combine other macros. */
static inline int redoubt_selection_keypair(void) { return EVP_PKEY_KEYPAIR; }
static inline int redoubt_selection_public_key(void) { return EVP_PKEY_PUBLIC_KEY; }

/* Prepared HMAC: keyed once, reset per message (EVP_MAC_init with a NULL key keeps the key). */
static inline EVP_MAC_CTX *redoubt_hmac_new(const char *digest, const unsigned char *key, size_t keylen) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    if (ctx == NULL) return NULL;
    OSSL_PARAM params[2] = { OSSL_PARAM_construct_utf8_string("digest", (char *)digest, 0), OSSL_PARAM_construct_end() };
    if (EVP_MAC_init(ctx, key, keylen, params) != 1) { EVP_MAC_CTX_free(ctx); return NULL; }
    return ctx;
}

static inline int redoubt_hmac_once(EVP_MAC_CTX *ctx, const unsigned char *data, size_t len,
                                    unsigned char *out, size_t outsize, size_t *outlen) {
    return EVP_MAC_init(ctx, NULL, 0, NULL) == 1 && EVP_MAC_update(ctx, data, len) == 1
        && EVP_MAC_final(ctx, out, outlen, outsize) == 1;
}

/* Prepared AES-GCM: the key schedule is done once per context; each message only sets its IV. */
static inline EVP_CIPHER_CTX *redoubt_gcm_new(int keybits, const unsigned char *key, int enc) {
    const EVP_CIPHER *cipher = keybits == 128 ? EVP_aes_128_gcm() : keybits == 192 ? EVP_aes_192_gcm()
                             : keybits == 256 ? EVP_aes_256_gcm() : NULL;
    if (cipher == NULL) return NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return NULL;
    if (EVP_CipherInit_ex(ctx, cipher, NULL, key, NULL, enc) != 1) { EVP_CIPHER_CTX_free(ctx); return NULL; }
    return ctx;
}

static inline int redoubt_gcm_seal(EVP_CIPHER_CTX *ctx, const unsigned char *iv12,
                                   const unsigned char *aad, int aadlen,
                                   const unsigned char *in, int inlen,
                                   unsigned char *out, unsigned char *tag16) {
    int outl = 0, finl = 0;
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv12) != 1) return 0;
    if (aadlen > 0 && EVP_EncryptUpdate(ctx, NULL, &outl, aad, aadlen) != 1) return 0;
    outl = 0;
    if (inlen > 0 && EVP_EncryptUpdate(ctx, out, &outl, in, inlen) != 1) return 0;
    if (EVP_EncryptFinal_ex(ctx, out + outl, &finl) != 1) return 0;
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag16) == 1;
}

static inline int redoubt_gcm_open(EVP_CIPHER_CTX *ctx, const unsigned char *iv12,
                                   const unsigned char *aad, int aadlen,
                                   const unsigned char *in, int inlen,
                                   unsigned char *out, const unsigned char *tag16) {
    int outl = 0, finl = 0;
    unsigned char tag[16];
    memcpy(tag, tag16, 16);
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, iv12) != 1) return 0;
    if (aadlen > 0 && EVP_DecryptUpdate(ctx, NULL, &outl, aad, aadlen) != 1) return 0;
    outl = 0;
    if (inlen > 0 && EVP_DecryptUpdate(ctx, out, &outl, in, inlen) != 1) return 0;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1) return 0;
    return EVP_DecryptFinal_ex(ctx, out + outl, &finl) == 1;
}

#endif
