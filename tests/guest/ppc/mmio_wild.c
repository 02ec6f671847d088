/*
 * Wild and ordinary MMIO: reads and writes of unassigned addresses (holes in CCSR and in the
 * MPIC window, physical addresses above RAM, the unprogrammed PCI window, the empty platform
 * bus), then reset-state reads of the devices both boards have: the 16550's registers (LSR,
 * IIR with THRE and FIFO states, LCR/DLAB, SCR), the guts PVR/SVR, the MPIC's identification
 * and source registers, and the GPIO controller. Unassigned reads return 0 and writes vanish;
 * the emulator must log them, never stop. Any interrupt is reported.
 */
#include "lib/rt.h"

#define CCSR 0xe0000000u
#define ABOVE_RAM 0xd0000000u /* -> PA 0x0_2000_0000, above the 256 MiB of RAM */
#define PCI_WIN 0xc0000000u   /* -> PA 0xc_0000_0000, no ATMU window programmed */
#define PLAT_BUS 0xb0000000u  /* -> PA 0xf_0000_0000, platform bus with no device */

void trap_handler(u32 vec, struct frame *f)
{
    printf_("  interrupt %u ESR %08x DEAR %08x\n", vec, mfspr(62), mfspr(61));
    mtspr(26, mfspr(26) + 4);
}

/* TLB1[esel]: EA -> PA (36-bit), 1 MiB, cache-inhibited and guarded, supervisor read/write. */
static void map_1m(u32 esel, u32 ea, u64 pa)
{
    mtspr(624, 0x10000000 | esel << 16);
    mtspr(625, 0x80000000 | 10 << 7);
    mtspr(626, ea | 0x0a);
    mtspr(627, (u32)pa | 0x05);
    mtspr(944, (u32)(pa >> 32));
    __asm__ volatile("isync\n\ttlbwe\n\tisync" ::: "memory");
}

static u32 rd(u32 addr, int size)
{
    u32 v;
    if (size == 1)
        v = *(volatile u8 *)addr;
    else if (size == 2)
        v = *(volatile unsigned short *)addr;
    else
        v = *(volatile u32 *)addr;
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

static void show(const char *what, u32 addr, int size)
{
    u32 v = rd(addr, size);
    printf_("%s %08x/%u -> %08x\n", what, addr, size, v);
}

static void unassigned(void)
{
    static const u32 holes[] = {
        CCSR + 0x0, CCSR + 0x1000, CCSR + 0x2000, CCSR + 0x10000, CCSR + 0x20000, CCSR + 0x90000,
        CCSR + 0xe1000, CCSR + 0xfeff0, CCSR + 0x42100, CCSR + 0x43900, ABOVE_RAM, ABOVE_RAM + 0xabcd0,
        PCI_WIN, PCI_WIN + 0x1234, PLAT_BUS, PLAT_BUS + 0x800,
    };
    puts_("-- unassigned: reads of 1/2/4 bytes, then a write of each size and a read back\n");
    for (unsigned i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
        u32 a = holes[i];
        printf_("%08x: %02x %04x %08x", a, rd(a + 1, 1), rd(a + 2, 2), rd(a, 4));
        wr(a, 4, 0xdeadbeef);
        wr(a + 4, 2, 0xbeef);
        wr(a + 6, 1, 0x5a);
        printf_(" | after writes %08x %08x\n", rd(a, 4), rd(a + 4, 4));
    }
    /* A cache-block zero and a multiple store/load on a hole. */
    __asm__ volatile("dcbz 0,%0" : : "r"(CCSR + 0x1000) : "memory");
    printf_("after dcbz on a hole: %08x\n", rd(CCSR + 0x1000, 4));
}

#define UART (CCSR + 0x4500)

static void uart(void)
{
    puts_("-- 16550 at CCSR+0x4500 (reset state, as the boot left it)\n");
    u32 lsr = rd(UART + 5, 1), iir = rd(UART + 2, 1), lcr = rd(UART + 3, 1), mcr = rd(UART + 4, 1);
    u32 ier = rd(UART + 1, 1), scr = rd(UART + 7, 1);
    printf_("LSR %02x IIR %02x LCR %02x MCR %02x IER %02x SCR %02x\n", lsr, iir, lcr, mcr, ier, scr);
    wr(UART + 7, 1, 0xa5);
    printf_("SCR after writing a5: %02x\n", rd(UART + 7, 1));

    /* THRE interrupt: pending as soon as IER[ETBEI] is set with an empty THR; an IIR read
     * that reports it clears it. The MPIC source is masked, so nothing reaches the core. */
    wr(UART + 1, 1, 0x02);
    u32 i1 = rd(UART + 2, 1), i2 = rd(UART + 2, 1);
    wr(UART + 1, 1, 0x00);
    printf_("IER=02: IIR %02x then %02x; IER back to %02x\n", i1, i2, rd(UART + 1, 1));

    wr(UART + 2, 1, 0x01);
    u32 f1 = rd(UART + 2, 1);
    wr(UART + 2, 1, 0x07);
    u32 f2 = rd(UART + 2, 1);
    wr(UART + 2, 1, 0x00);
    printf_("FCR=01: IIR %02x; FCR=07: IIR %02x; FCR=00: IIR %02x\n", f1, f2, rd(UART + 2, 1));

    /* DLAB: nothing may be printed while it is set (THR is the divisor latch then). */
    wr(UART + 3, 1, 0x80 | lcr);
    u32 dll = rd(UART + 0, 1), dlm = rd(UART + 1, 1);
    wr(UART + 0, 1, 0x12);
    wr(UART + 1, 1, 0x34);
    u32 dll2 = rd(UART + 0, 1), dlm2 = rd(UART + 1, 1);
    wr(UART + 0, 1, dll);
    wr(UART + 1, 1, dlm);
    wr(UART + 3, 1, lcr);
    printf_("DLAB: DLL %02x DLM %02x, written 12/34 read %02x/%02x; LCR back to %02x\n", dll, dlm, dll2, dlm2,
            rd(UART + 3, 1));
    printf_("LSR %02x IIR %02x\n", rd(UART + 5, 1), rd(UART + 2, 1));
}

static void guts_mpic_gpio(void)
{
    puts_("-- global utilities\n");
    show("PVR", CCSR + 0xe00a0, 4);
    show("SVR", CCSR + 0xe00a4, 4);
    show("PORPLLSR", CCSR + 0xe0000, 4);
    show("RSTCR", CCSR + 0xe00b0, 4);
    wr(CCSR + 0xe0040, 4, 0x12345678);
    show("after a write to DEVDISR", CCSR + 0xe0040, 4);

    puts_("-- MPIC\n");
    show("BRR1", CCSR + 0x40000, 4);
    show("FRR", CCSR + 0x41000, 4);
    show("GCR", CCSR + 0x41020, 4);
    show("VIR", CCSR + 0x41080, 4);
    show("SPVR", CCSR + 0x410e0, 4);
    show("TBCR timer A0", CCSR + 0x41110, 4);
    show("IVPR src 42", CCSR + 0x50540, 4);
    show("IDR src 42", CCSR + 0x50550, 4);
    show("IVPR src 1", CCSR + 0x50020, 4);
    show("CTPR cpu0", CCSR + 0x60080, 4);
    show("WHOAMI cpu0", CCSR + 0x60090, 4);
    show("CTPR this cpu", CCSR + 0x40080, 4);

    puts_("-- GPIO\n");
    show("GPDIR", CCSR + 0xff000, 4);
    show("GPODR", CCSR + 0xff004, 4);
    show("GPDAT", CCSR + 0xff008, 4);
    show("GPIER", CCSR + 0xff00c, 4);
    show("GPIMR", CCSR + 0xff010, 4);
    show("GPICR", CCSR + 0xff014, 4);
}

int main(void)
{
    puts_("mmio_wild: unassigned and device MMIO\n");
    map_1m(2, ABOVE_RAM, 0x20000000ull);
    map_1m(3, PCI_WIN, 0xc00000000ull);
    map_1m(4, PLAT_BUS, 0xf00000000ull);
    unassigned();
    uart();
    guts_mpic_gpio();
    puts_("mmio_wild: done, powering off\n");
    return 0;
}
