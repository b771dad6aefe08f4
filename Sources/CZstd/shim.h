#ifndef REDOUBT_ZSTD_SHIM_H
#define REDOUBT_ZSTD_SHIM_H
#include <zstd.h>
#endif
