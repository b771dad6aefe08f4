// zstd for the backup fuzz target, which seals chunks of its own (the main package's CZstd is not a product).
#include <zstd.h>
