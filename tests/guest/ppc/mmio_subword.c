/*
 * Byte and halfword accesses to the GPIO controller, whose registers are 32 bits wide: QEMU
 * 7.2's model ignores any access of another size (reads 0, writes dropped). GPIMR is used for
 * the writes because, unlike GPDIR/GPDAT, it cannot power the board off.
 */
#include "lib/rt.h"

#define CCSR 0xe0000000u
#define GPIMR (CCSR + 0xff010)

void trap_handler(u32 vec, struct frame *f)
{
    printf_("  interrupt %u ESR %08x DEAR %08x\n", vec, mfspr(62), mfspr(61));
    mtspr(26, mfspr(26) + 4);
}

static u32 rd(u32 addr, int size)
{
    u32 v = size == 1 ? *(volatile u8 *)addr : size == 2 ? *(volatile unsigned short *)addr : *(volatile u32 *)addr;
    __asm__ volatile("mbar" ::: "memory");
    return v;
}

static void wr(u32 addr, int size, u32 v)
{
    if (size == 1)
        *(volatile u8 *)addr = v;
    else if (size == 2)
        *(volatile unsigned short *)addr = v;
    else
        *(volatile u32 *)addr = v;
    __asm__ volatile("mbar" ::: "memory");
}

int main(void)
{
    puts_("mmio_subword: byte/halfword accesses to the GPIO controller\n");
    wr(GPIMR, 4, 0x12345678);
    printf_("GPIMR = 12345678: word %08x, halves %04x %04x, bytes %02x %02x\n", rd(GPIMR, 4), rd(GPIMR, 2),
            rd(GPIMR + 2, 2), rd(GPIMR, 1), rd(GPIMR + 3, 1));
    wr(GPIMR, 2, 0xbeef);
    printf_("halfword beef at +0: %08x\n", rd(GPIMR, 4));
    wr(GPIMR + 2, 2, 0xcafe);
    printf_("halfword cafe at +2: %08x\n", rd(GPIMR, 4));
    wr(GPIMR + 3, 1, 0x5a);
    printf_("byte 5a at +3: %08x\n", rd(GPIMR, 4));
    wr(GPIMR, 4, 0);
    printf_("GPIMR cleared: %08x\n", rd(GPIMR, 4));
    puts_("mmio_subword: done\n");
    return 0;
}
