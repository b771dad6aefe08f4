// CPKCS11 is a header target (include/CPKCS11.h); this file checks the layouts the module's
// function tables rely on.
#include "CPKCS11.h"
#include <stddef.h>

_Static_assert(offsetof(CK_FUNCTION_LIST_3_0, C_GetInterfaceList) == sizeof(CK_FUNCTION_LIST),
               "the 3.0 functions follow the 2.40 list with no padding");
_Static_assert(sizeof(CK_FUNCTION_LIST) == 8 + 68 * sizeof(void *), "68 functions in the 2.40 list");
