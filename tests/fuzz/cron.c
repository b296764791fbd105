/* libFuzzer target for the schedule parser (functions/fn_sched.c): any
 * byte string must parse or fail cleanly, and next-time must terminate. */
#include "functions/fn_sched.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256)
        return 0;
    char s[257];
    memcpy(s, data, size);
    s[size] = '\0';
    fn_sched sc;
    char err[128];
    if (fn_sched_parse(s, &sc, err, sizeof err) == 0) {
        int64_t t = fn_sched_next(&sc, 1795707081772LL);
        if (t != -1 && t <= 1795707081772LL)
            abort();
    }
    return 0;
}
