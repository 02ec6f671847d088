/* The program the gdb tests debug (tests/system/gdb.rs): built without optimisation and with
 * debug info so that breakpoints by name, line steps and watchpoints land where the source says. */
#include "../lib/rt.h"

int watched;             /* the write watchpoint's target */

int square(int x)
{
    int y = x * x;
    return y;
}

int sum_squares(int n)
{
    int total = 0;
    for (int i = 1; i <= n; i++)
        total += square(i);
    return total;
}

void bump(int by)
{
    int before = watched;
    watched = before + by;   /* the watchpoint stops here */
}

int main(void)
{
    int r = sum_squares(4);
    printf_("sum_squares(4) = %d\n", r);
    bump(5);
    bump(7);
    printf_("watched = %d\n", watched);
    printf_("done\n");
    return 0;
}
