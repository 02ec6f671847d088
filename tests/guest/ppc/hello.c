#include "lib/rt.h"

int main(void)
{
    printf_("Hello from ferrite's bare-metal world: %d + %d = %d, 0x%08x\n", 2, 3, 2 + 3, 0xcafef00d);
    return 0;
}
