/*
 * Book E timers on the e500mc: the decrementer (TSR[DIS] on expiry, TSR write-one-to-clear,
 * gating by TCR[DIE] and MSR[EE], level-sensitive delivery, DECAR auto-reload) and `wait` woken
 * by a decrementer interrupt. Only counts and flags are printed, never times, so the output
 * does not depend on host speed.
 *
 * Left out because QEMU 7.2 (the reference output) deviates from the architecture: the
 * fixed-interval timer (its booke_update_fixed_timer only arms while TSR[FIS] is already set,
 * so FIT never fires from a clean TSR), and the value DEC reads after expiring (QEMU keeps
 * counting below zero without ARE, and reads 0 with ARE between reloads).
 *
 * crt0's interrupt entry does not save r0, so interrupts are enabled only inside asm blocks
 * that keep nothing in r0.
 */
#include "lib/rt.h"

/* SPRs (rt.h's mfspr/mtspr take literal numbers): DEC 22, DECAR 54, TSR 336, TCR 340. */
#define TSR_DIS 0x08000000
#define TCR_DIE 0x04000000
#define TCR_ARE 0x00400000

#define TB_HZ 400000000u
#define TIMEOUT (2 * TB_HZ) /* ticks: give up waiting after two seconds */

static volatile u32 dec_count, dec_limit = 1, dec_keep_pending;

void trap_handler(u32 vec, struct frame *f)
{
    if (vec == 10) {
        dec_count++;
        /* Leaving TSR[DIS] set makes the (level-sensitive) interrupt come straight back. */
        if (!dec_keep_pending || dec_count >= dec_limit)
            mtspr(336, TSR_DIS);
        if (dec_count >= dec_limit)
            mtspr(340, mfspr(340) & ~TCR_DIE);
    } else {
        printf_("unexpected interrupt %u ESR %08x\n", vec, mfspr(62));
        poweroff();
    }
}

static u32 tbl(void)
{
    u32 t;
    __asm__ volatile("mftb %0" : "=r"(t));
    return t;
}

/* With MSR[EE]=1, waits until *p >= n or `ticks` time-base ticks pass; returns 1 on timeout. */
static int wait_for(volatile u32 *p, u32 n, u32 ticks)
{
    u32 v, t, t0, timed_out;
    __asm__ volatile("mftb %[t0]\n\t"
                     "li %[to],0\n\t"
                     "wrteei 1\n"
                     "1:\tlwz %[v],0(%[p])\n\t"
                     "cmplw %[v],%[n]\n\t"
                     "bge 2f\n\t"
                     "mftb %[t]\n\t"
                     "subf %[t],%[t0],%[t]\n\t"
                     "cmplw %[t],%[ticks]\n\t"
                     "blt 1b\n\t"
                     "li %[to],1\n"
                     "2:\twrteei 0"
                     : [v] "=&b"(v), [t] "=&b"(t), [t0] "=&b"(t0), [to] "=&b"(timed_out)
                     : [p] "b"(p), [n] "b"(n), [ticks] "b"(ticks)
                     : "r0", "cr0", "memory");
    return timed_out;
}

/* Opens an MSR[EE]=1 window of about `spins` loop iterations. */
static void ee_window(u32 spins)
{
    __asm__ volatile("mtctr %0\n\t"
                     "wrteei 1\n"
                     "1:\tbdnz 1b\n\t"
                     "wrteei 0"
                     : : "b"(spins) : "r0", "ctr", "memory");
}

static void delay_ticks(u32 ticks)
{
    u32 t0 = tbl();
    while (tbl() - t0 < ticks)
        ;
}

static void one_shot(void)
{
    puts_("-- one-shot decrementer, TCR[DIE]=0\n");
    mtspr(340, 0);
    mtspr(336, TSR_DIS);
    mtspr(22, 40000); /* 100 us */
    u32 t0 = tbl();
    while (!(mfspr(336) & TSR_DIS) && tbl() - t0 < TIMEOUT)
        ;
    printf_("TSR[DIS] set: %s\n", mfspr(336) & TSR_DIS ? "yes" : "no");
    mtspr(336, 0);
    printf_("TSR after writing 0: DIS=%u\n", !!(mfspr(336) & TSR_DIS));
    ee_window(10000);
    printf_("interrupts with DIE=0 and EE=1: %u\n", dec_count);

    puts_("-- pending DIS, DIE set with EE=0, then EE=1\n");
    dec_limit = 1;
    mtspr(340, TCR_DIE);
    delay_ticks(4000);
    printf_("interrupts while EE=0: %u\n", dec_count);
    ee_window(10000);
    printf_("interrupts after opening EE: %u, TSR[DIS]=%u, TCR=%08x\n", dec_count, !!(mfspr(336) & TSR_DIS),
            mfspr(340));
    mtspr(336, TSR_DIS);
    printf_("TSR after writing DIS: DIS=%u\n", !!(mfspr(336) & TSR_DIS));
}

static void level_sensitive(void)
{
    puts_("-- level-sensitive: handler leaves TSR[DIS] set for 4 entries\n");
    dec_count = 0;
    dec_limit = 5;
    dec_keep_pending = 1;
    mtspr(22, 4000);
    mtspr(340, TCR_DIE);
    int to = wait_for(&dec_count, 5, TIMEOUT);
    ee_window(10000);
    printf_("interrupts: %u%s\n", dec_count, to ? " (timeout)" : "");
    dec_keep_pending = 0;
}

static void auto_reload(void)
{
    puts_("-- auto-reload: DECAR = DEC = 100 us, TCR[DIE|ARE], 10 interrupts\n");
    dec_count = 0;
    dec_limit = 10;
    mtspr(336, TSR_DIS);
    mtspr(54, 40000);
    mtspr(22, 40000);
    mtspr(340, TCR_DIE | TCR_ARE);
    int to = wait_for(&dec_count, 10, TIMEOUT);
    printf_("interrupts: %u%s\n", dec_count, to ? " (timeout)" : "");
    /* The handler cleared DIE on the tenth: the decrementer keeps reloading, silently. */
    ee_window(100000);
    delay_ticks(200000);
    ee_window(100000);
    /* A reload is due every 100 us; an emulator's timer may run late on a loaded host, so wait
     * for one up to TIMEOUT instead of judging after a fixed delay. */
    u32 t0 = tbl();
    while (!(mfspr(336) & TSR_DIS) && tbl() - t0 < TIMEOUT)
        ;
    printf_("after DIE cleared: interrupts %u, TSR[DIS] set again by a reload: %u\n", dec_count,
            !!(mfspr(336) & TSR_DIS));
    mtspr(340, 0);
    mtspr(336, TSR_DIS);
}

static void wait_insn(void)
{
    puts_("-- wait, woken by the decrementer (1 ms)\n");
    dec_count = 0;
    dec_limit = 1;
    mtspr(336, TSR_DIS);
    mtspr(340, TCR_DIE);
    u32 t0 = tbl();
    mtspr(22, 400000);
    /* EE is closed right after wait: without a real wait the interrupt would still be pending. */
    __asm__ volatile("wrteei 1\n\twait\n\twrteei 0" : : : "r0", "memory");
    u32 dt = tbl() - t0, n = dec_count;
    printf_("interrupts taken by wait: %u, slept at least 0.9 ms: %s\n", n, dt >= 360000 ? "yes" : "no");
    mtspr(340, 0);
    mtspr(336, TSR_DIS);
}

int main(void)
{
    puts_("timer: decrementer and wait\n");
    printf_("TCR at entry %08x, TSR %08x\n", mfspr(340), mfspr(336));
    one_shot();
    level_sensitive();
    auto_reload();
    wait_insn();
    puts_("timer: done\n");
    return 0;
}
