#ifndef REDOUBT_SECP256K1_SHIM_H
#define REDOUBT_SECP256K1_SHIM_H
#include <secp256k1.h>
#include <secp256k1_preallocated.h>
#endif
