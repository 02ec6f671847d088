/*
 * Move-assist (string) instructions on the e500mc. QEMU 7.2's e500mc model has no PPC_STRING,
 * so lswi, lswx, stswi and stswx raise a program interrupt (ESR[PIL]) instead of moving bytes;
 * the handler reports that and skips the instruction, leaving the registers and memory as
 * they were.
 */
#include "lib/rt.h"

void trap_handler(u32 vec, struct frame *f)
{
    printf_("  interrupt %u ESR %08x\n", vec, mfspr(62));
    if (vec != 6)
        poweroff();
    mtspr(26, mfspr(26) + 4);
}

static u32 mem[4];

int main(void)
{
    static const u8 str[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    u32 s0, s1;
    puts_("isa_string: string instructions\n");
    __asm__ volatile("li 9,-1\n\tli 10,-1\n\tlswi 9,%2,7\n\tmr %0,9\n\tmr %1,10"
                     : "=&r"(s0), "=&r"(s1) : "b"(str) : "r9", "r10");
    printf_("lswi 7 -> %08x %08x\n", s0, s1);
    memset(mem, 0xee, sizeof(mem));
    __asm__ volatile("lis 9,0x4142\n\tori 9,9,0x4344\n\tlis 10,0x4546\n\tori 10,10,0x4748\n\tstswi 9,%0,6"
                     : : "b"(mem) : "r9", "r10", "memory");
    printf_("stswi 6 -> %08x %08x\n", mem[0], mem[1]);
    __asm__ volatile("li 9,-1\n\tli 10,-1\n\tmtxer %3\n\tlswx 9,%2,%4\n\tmr %0,9\n\tmr %1,10"
                     : "=&r"(s0), "=&r"(s1) : "b"(str), "r"(5u), "r"(1u) : "r9", "r10", "xer");
    printf_("lswx xer=5 from +1 -> %08x %08x\n", s0, s1);
    memset(mem, 0xee, sizeof(mem));
    __asm__ volatile("lis 9,0x4142\n\tori 9,9,0x4344\n\tmtxer %2\n\tstswx 9,%0,%1"
                     : : "b"(mem), "r"(4u), "r"(3u) : "r9", "xer", "memory");
    printf_("stswx xer=3 at +4 -> %08x %08x\n", mem[0], mem[1]);
    puts_("isa_string: done\n");
    return 0;
}
