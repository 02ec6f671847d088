/*
 * Two cores (run with -smp 2): CPU 0 releases CPU 1 through the board's ePAPR spin table, as
 * Linux does; then both contend for a lwarx/stwcx. counter and a spinlock, and each rings the
 * other's doorbell (msgsnd), which the receiver takes as a doorbell interrupt (IVOR36).
 * Every line is printed by CPU 0 after a handshake, so the console does not depend on how the
 * cores interleave.
 */
#include "lib/rt.h"

#define SPIN_EA 0xef000000u     /* the spin table, mapped below (PA 0xF_EF00_0000) */
#define ROUNDS 1000000u
#define DBELL_CPU1 1u           /* msgsnd rB: doorbell type 0, PIR tag 1 */
#define DBELL_CPU0 0u

extern void secondary_start(void);

static volatile u32 cpu1_stage, cpu1_r3, cpu1_pir, cpu1_doorbells, go;
static volatile u32 counter, lock, locked_sum;
static volatile u32 cpu0_doorbells;
u32 cpu1_stack[2048] __attribute__((aligned(16)));

/*
 * CPU 1 starts here with MSR = 0, r3 from the spin table and TLB1[1] mapping EA 0..64 MiB to the
 * entry's 64 MiB page. It maps CCSR for the UART like crt0 (its TLB is its own, in entry 2),
 * points its doorbell vector at crt0's table, takes a stack and calls secondary_main(r3).
 */
__asm__(
    ".section .text\n"
    ".globl secondary_start\n"
    "secondary_start:\n"
    "    mr      31, 3\n"
    "    lis     3, 0x1002\n"
    "    mtspr   624, 3\n"
    "    lis     3, 0xc000\n"
    "    ori     3, 3, (10 << 7)\n"
    "    mtspr   625, 3\n"
    "    lis     3, 0xe000\n"
    "    ori     3, 3, 0x0a\n"
    "    mtspr   626, 3\n"
    "    lis     3, 0xe000\n"
    "    ori     3, 3, 0x05\n"
    "    mtspr   627, 3\n"
    "    li      3, 0xf\n"
    "    mtspr   944, 3\n"
    "    isync\n"
    "    tlbwe\n"
    "    isync\n"
    "    lis     3, cpu0_ivpr@ha\n"
    "    lwz     3, cpu0_ivpr@l(3)\n"
    "    mtspr   63, 3\n"
    "    li      3, 17 * 0x100\n"
    "    mtspr   532, 3\n"          /* IVOR36 (doorbell) -> slot 17 */
    "    li      3, 0x3000\n"       /* FP | ME */
    "    mtmsr   3\n"
    "    isync\n"
    "    lis     1, (cpu1_stack + 8192 - 16)@ha\n"
    "    addi    1, 1, (cpu1_stack + 8192 - 16)@l\n"
    "    mr      3, 31\n"
    "    bl      secondary_main\n"
    "1:  b       1b\n");

u32 cpu0_ivpr;

static void atomic_inc(volatile u32 *p)
{
    u32 t;
    __asm__ volatile("1: lwarx %0, 0, %1\n"
                     "   addi %0, %0, 1\n"
                     "   stwcx. %0, 0, %1\n"
                     "   bne- 1b\n"
                     : "=&r"(t) : "r"(p) : "cr0", "memory");
}

static void spin_lock(volatile u32 *l)
{
    u32 t;
    __asm__ volatile("1: lwarx %0, 0, %1\n"
                     "   cmpwi %0, 0\n"
                     "   bne- 1b\n"
                     "   li %0, 1\n"
                     "   stwcx. %0, 0, %1\n"
                     "   bne- 1b\n"
                     "   isync\n"
                     : "=&r"(t) : "r"(l) : "cr0", "memory");
}

static void spin_unlock(volatile u32 *l)
{
    __asm__ volatile("lwsync" ::: "memory");
    *l = 0;
}

static void msgsnd(u32 rb)
{
    __asm__ volatile("msgsnd %0" : : "r"(rb) : "memory");
}

static void enable_interrupts(void)
{
    __asm__ volatile("wrteei 1" ::: "memory");
}

/* Both cores' share of the contention: the atomic counter, then a sum kept under the lock
 * with a deliberately non-atomic read-modify-write inside. */
static void contend(u32 weight)
{
    for (u32 i = 0; i < ROUNDS; i++)
        atomic_inc(&counter);
    for (u32 i = 0; i < ROUNDS / 10; i++) {
        spin_lock(&lock);
        u32 v = locked_sum;
        locked_sum = v + weight;
        spin_unlock(&lock);
    }
}

void trap_handler(u32 vec, struct frame *f)
{
    u32 pir = mfspr(286);
    if (vec == 17) {
        __asm__ volatile("msgclr %0" : : "r"(0u));
        if (pir == 0)
            cpu0_doorbells++;
        else
            cpu1_doorbells++;
        return;
    }
    printf_("unexpected interrupt %u on CPU %u at %08x\n", vec, pir, mfspr(26));
    poweroff();
}

void secondary_main(u32 r3)
{
    cpu1_r3 = r3;
    cpu1_pir = mfspr(286);
    cpu1_stage = 1;
    while (!go)
        ;
    contend(3);
    cpu1_stage = 2;
    /* Doorbells: wait for CPU 0's, then ring CPU 0 back. */
    enable_interrupts();
    while (cpu1_doorbells == 0)
        ;
    msgsnd(DBELL_CPU0);
    cpu1_stage = 3;
    for (;;)
        ;
}

static void map_spin_table(void)
{
    /* TLB1[2]: EA 0xEF000000 -> PA 0xF_EF000000, 4 KiB, V|IPROT, I|G, SR|SW. */
    mtspr(624, 0x10020000);
    mtspr(625, 0xc0000000 | (2 << 7));
    mtspr(626, SPIN_EA | 0x0a);
    mtspr(627, SPIN_EA | 0x05);
    mtspr(944, 0xf);
    __asm__ volatile("isync; tlbwe; isync");
}

int main(void)
{
    volatile u32 *spin1 = (volatile u32 *)(SPIN_EA + 0x20);
    cpu0_ivpr = mfspr(63);
    map_spin_table();
    printf_("CPU 0: PIR %u\n", mfspr(286));
    printf_("spin table entry 1: addr %08x%08x r3 %08x%08x pir %u\n", spin1[0], spin1[1], spin1[2], spin1[3], spin1[5]);

    /* Linux's order: pir, r3, addr high, then the low word of addr releases the CPU. */
    spin1[5] = 1;
    spin1[2] = 0;
    spin1[3] = 0x5eed;
    spin1[0] = 0;
    spin1[1] = (u32)secondary_start;
    while (cpu1_stage < 1)
        ;
    printf_("CPU 1 up: r3 %x, PIR %u\n", cpu1_r3, cpu1_pir);
    printf_("spin table entry 1: addr is the entry point %s, pir %u\n", spin1[1] == (u32)secondary_start ? "yes" : "no", spin1[5]);

    go = 1;
    contend(1);
    while (cpu1_stage < 2)
        ;
    printf_("atomic counter %u (expected %u)\n", counter, 2 * ROUNDS);
    printf_("locked sum %u (expected %u)\n", locked_sum, ROUNDS / 10 * (1 + 3));

    enable_interrupts();
    msgsnd(DBELL_CPU1);
    while (cpu1_stage < 3 || cpu0_doorbells == 0)
        ;
    printf_("doorbells: CPU 0 took %u, CPU 1 took %u\n", cpu0_doorbells, cpu1_doorbells);
    return 0;
}
