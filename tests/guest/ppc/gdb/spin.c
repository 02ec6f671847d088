/* A guest that runs until a debugger tells it to stop (tests/system/gdb.rs fuzzes the stub
 * while it runs): prints a tick every so often, powers off once `stop` is non-zero. */
#include "../lib/rt.h"

volatile int stop;

int main(void)
{
    for (u32 tick = 0; !stop; tick++) {
        for (volatile int i = 0; i < 2000000 && !stop; i++)
            ;
        printf_("tick %u\n", tick);
    }
    printf_("stopped by the debugger\n");
    return 0;
}
