/*
 * Synchronous interrupts on the e500mc: illegal opcode, traps, system call, data and
 * instruction TLB errors, FP unavailable, alignment, and — from user mode entered with rfi —
 * privileged instructions, storage interrupts on a page without user write/execute rights and
 * a system call. The handler only records what it saw and resumes; main() prints the records
 * afterwards: the vector slot, SRR0 relative to a label at the faulting instruction, SRR1 and
 * the MSR inside the handler (see MSR_SHOWN), and ESR/DEAR/MAS registers where they are defined.
 *
 * Every tested instruction sits at its own label followed by a nop, so SRR0 = label+0 (the
 * faulting instruction) and label+4 (the next one) are told apart.
 */
#include "lib/rt.h"

#define MSR_PR 0x4000
#define MSR_FP 0x2000
#define USER_EXIT 0x5a5a

/* The MSR/SRR1 bits printed: EE, PR, FP, IS, DS. Left out on purpose: QEMU 7.2 ORs Book III-S
 * program-interrupt reason bits (0x00080000 illegal, 0x00040000 privileged, 0x00020000 trap)
 * into SRR1 on Book E, so a later rfi sets MSR[CE]; and its mtmsr never changes ME. Neither is
 * architected for the e500mc; ESR carries the reason. */
#define MSR_SHOWN 0xe030

struct rec {
    u32 vec, srr0, srr1, msr, esr, dear, lr, mas[6];
};
static struct rec recs[40];
static volatile u32 nrec;
u32 sup_lr, sup_msr; /* where user mode returns to (written by to_user) */

void trap_handler(u32 vec, struct frame *f)
{
    u32 srr0 = mfspr(26), srr1 = mfspr(27);
    if (vec == 8 && f->r3 == USER_EXIT) {
        mtspr(26, sup_lr);
        mtspr(27, sup_msr);
        return;
    }
    struct rec *r = &recs[nrec < 39 ? nrec++ : 39];
    r->vec = vec;
    r->srr0 = srr0;
    r->srr1 = srr1;
    __asm__ volatile("mfmsr %0" : "=r"(r->msr));
    r->esr = mfspr(62);
    r->dear = mfspr(61);
    r->lr = f->lr;
    r->mas[0] = mfspr(624);
    r->mas[1] = mfspr(625);
    r->mas[2] = mfspr(626);
    r->mas[3] = mfspr(627);
    r->mas[4] = mfspr(630);
    r->mas[5] = mfspr(944);
    switch (vec) {
    case 8: /* SRR0 already points past the sc */
        break;
    case 3:
    case 14: /* a branch-and-link to a bad address: resume at its return address */
        mtspr(26, f->lr);
        break;
    case 7: /* FP unavailable: retry with MSR[FP] on */
        mtspr(27, srr1 | MSR_FP);
        break;
    default: /* skip the faulting instruction */
        mtspr(26, srr0 + 4);
    }
}

/* The tests, in assembly so the faulting instructions sit at known labels. r0 is not saved by
 * crt0's interrupt entry, so nothing lives in r0 across a faulting instruction. */
__asm__(
    "    .text\n"
    /* Supervisor: illegal opcode, traps, sc, data/instruction TLB errors. */
    "    .globl sup_tests\n"
    "sup_tests:\n"
    "    mflr 12\n"
    "    li 3,5\n"
    "    li 4,3\n"
    "    li 5,-1\n"
    "    li 6,1\n"
    "f_illegal: .long 0\n nop\n"
    "f_tweq: tw 4,3,3\n nop\n"
    "f_twlt: tw 16,3,4\n nop\n"
    "f_twllt: tw 2,5,6\n nop\n"
    "f_twlgt: tw 1,5,6\n nop\n"
    "f_twgti: twi 8,3,0\n nop\n"
    "f_trap: trap\n nop\n"
    "f_sc: sc\n nop\n"
    "    lis 7,0x5000\n"
    "    ori 7,7,0x0123\n"
    "f_dtlb_ld: lwz 8,0(7)\n nop\n"
    "f_dtlb_st: stw 8,4(7)\n nop\n"
    "    lis 7,0x5000\n"
    "    mtctr 7\n"
    "f_itlb: bctrl\n nop\n"
    "    mtlr 12\n"
    "    blr\n"

    /* FP unavailable: r3 -> {a, b, out}; a+b computed with MSR[FP] cleared first. */
    "    .globl fpu_test\n"
    "fpu_test:\n"
    "    lfd 2,0(3)\n"
    "    lfd 3,8(3)\n"
    "    mfmsr 4\n"
    "    rlwinm 4,4,0,19,17\n"
    "    mtmsr 4\n"
    "    isync\n"
    "f_fpu: fadd 1,2,3\n nop\n"
    "    stfd 1,16(3)\n"
    "    blr\n"

    /* Alignment: r3 -> an aligned buffer. */
    "    .globl align_test\n"
    "align_test:\n"
    "    addi 4,3,2\n"
    "f_lwarx: lwarx 5,0,4\n nop\n"
    "f_stwcx: stwcx. 5,0,4\n nop\n"
    "f_lwz_un: lwz 5,0(4)\n nop\n"
    "    blr\n"

    /* to_user(entry): run entry with MSR[PR]=1; its sc USER_EXIT returns here. */
    "    .globl to_user\n"
    "to_user:\n"
    "    mflr 4\n"
    "    lis 5,sup_lr@ha\n"
    "    stw 4,sup_lr@l(5)\n"
    "    mfmsr 4\n"
    "    lis 5,sup_msr@ha\n"
    "    stw 4,sup_msr@l(5)\n"
    "    ori 4,4,0x4000\n"
    "    mtspr 26,3\n"
    "    mtspr 27,4\n"
    "    rfi\n"

    /* Runs in user mode. */
    "    .globl user_main\n"
    "user_main:\n"
    "    li 3,0\n"
    "f_u_mfmsr: mfmsr 4\n nop\n"
    "f_u_mtspr: mtspr 26,4\n nop\n"
    "f_u_wrteei: wrteei 1\n nop\n"
    "f_u_rfi: rfi\n nop\n"
    "f_u_tlbwe: tlbwe\n nop\n"
    "f_u_mfsvr: mfspr 4,1023\n nop\n"
    "f_u_tw: tw 31,0,0\n nop\n"
    "f_u_sc: sc\n nop\n"
    "    lis 5,0xe000\n"
    "f_u_ccsr: lwz 6,0(5)\n nop\n"
    "    lis 5,0x4000\n"
    "f_u_ro_ld: lwz 6,0(5)\n nop\n"
    "f_u_ro_st: stw 6,0(5)\n nop\n"
    "    mtctr 5\n"
    "f_u_nx: bctrl\n nop\n"
    "    lis 5,0x5000\n"
    "f_u_dtlb: stw 6,8(5)\n nop\n"
    "f_u_tb: mftb 6\n nop\n"
    "f_u_fp: fadd 1,1,1\n nop\n"
    "f_u_illegal: .long 0\n nop\n"
    "    lis 3,0x5a5a@h\n"
    "    ori 3,3,0x5a5a@l\n"
    "f_u_exit: sc\n");

void sup_tests(void);
void fpu_test(u64 *v);
void align_test(u32 *buf);
void to_user(void (*entry)(void));
void user_main(void);

#define LABELS(X)                                                                               \
    X(f_illegal) X(f_tweq) X(f_twlt) X(f_twllt) X(f_twlgt) X(f_twgti) X(f_trap) X(f_sc)         \
    X(f_dtlb_ld) X(f_dtlb_st) X(f_itlb) X(f_fpu) X(f_lwarx) X(f_stwcx) X(f_lwz_un)              \
    X(f_u_mfmsr) X(f_u_mtspr) X(f_u_wrteei) X(f_u_rfi) X(f_u_tlbwe) X(f_u_mfsvr) X(f_u_tw)      \
    X(f_u_sc) X(f_u_ccsr) X(f_u_ro_ld) X(f_u_ro_st) X(f_u_nx) X(f_u_dtlb) X(f_u_tb) X(f_u_fp)   \
    X(f_u_illegal) X(f_u_exit)

#define DECL(l) extern const char l[];
LABELS(DECL)
#define ENTRY(l) {#l, (u32)l},
static const struct {
    const char *name;
    u32 addr;
} labels[] = {LABELS(ENTRY)};

static u32 abuf[4] = {0x11223344, 0x55667788, 0, 0};

/* Prints `a` as label+0/label+4 (or abuf+n) when it is one of ours, else in hex: the output
 * must not depend on where the linker put things. */
static void put_addr(u32 a)
{
    for (unsigned i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
        if (a - labels[i].addr < 8) {
            printf_("%s+%u", labels[i].name, a - labels[i].addr);
            return;
        }
    }
    if (a - (u32)abuf < sizeof(abuf)) {
        printf_("abuf+%u", a - (u32)abuf);
        return;
    }
    printf_("%08x", a);
}

static const char *vec_name(u32 v)
{
    static const char *const n[] = {
        "critical", "machine check", "data storage", "instruction storage", "external",
        "alignment", "program", "fp unavailable", "system call", "ap unavailable",
        "decrementer", "fit", "watchdog", "data tlb", "instruction tlb", "debug",
    };
    return v < 16 ? n[v] : "other";
}

static void print_recs(void)
{
    for (u32 i = 0; i < nrec; i++) {
        struct rec *r = &recs[i];
        printf_("  vec %u (%s) srr0=", r->vec, vec_name(r->vec));
        put_addr(r->srr0);
        printf_(" srr1=%08x msr=%08x", r->srr1 & MSR_SHOWN, r->msr & MSR_SHOWN);
        if (r->vec == 2 || r->vec == 3 || r->vec == 5 || r->vec == 6 || r->vec == 13 || r->vec == 14)
            printf_(" esr=%08x", r->esr);
        if (r->vec == 2 || r->vec == 5 || r->vec == 13) {
            puts_(" dear=");
            put_addr(r->dear);
        }
        if (r->vec == 3 || r->vec == 14) {
            puts_(" lr=");
            put_addr(r->lr);
        }
        putc_('\n');
        if (r->vec == 13 || r->vec == 14)
            printf_("    mas0=%08x mas1=%08x mas2=%08x mas3=%08x mas6=%08x mas7=%08x\n", r->mas[0], r->mas[1],
                    r->mas[2], r->mas[3], r->mas[4], r->mas[5]);
    }
    nrec = 0;
}

/* A 4 KiB page mapped a second time at 0x40000000: supervisor read/write/execute, user read
 * only. */
static u32 upage[1024] __attribute__((aligned(4096)));

static void tlb1_write(u32 esel, u32 mas1, u32 mas2, u32 mas3)
{
    mtspr(624, 0x10000000 | esel << 16);
    mtspr(625, mas1);
    mtspr(626, mas2);
    mtspr(627, mas3);
    mtspr(944, 0);
    __asm__ volatile("isync\n\ttlbwe\n\tisync" ::: "memory");
}

/* Prints a TLB1 entry; an RPN equal to `rpn` shows as "rpn" (it is a link-time address). */
static void tlb1_show(u32 esel, u32 rpn)
{
    mtspr(624, 0x10000000 | esel << 16);
    __asm__ volatile("isync\n\ttlbre\n\tisync");
    u32 mas3 = mfspr(627);
    printf_("TLB1[%u]: mas1=%08x mas2=%08x mas3=", esel, mfspr(625), mfspr(626));
    if (rpn && (mas3 & ~0xfffu) == rpn)
        printf_("rpn|%03x", mas3 & 0xfff);
    else
        printf_("%08x", mas3);
    printf_(" mas7=%08x\n", mfspr(944));
}

int main(void)
{
    puts_("exceptions: synchronous interrupts\n");
    tlb1_show(0, 0);
    tlb1_show(1, 0);

    puts_("-- supervisor: illegal, tw/twi/trap (only eq, lgt, gti and trap fire), sc, dtlb load/store, itlb\n");
    sup_tests();
    print_recs();

    puts_("-- fp unavailable (retried with MSR[FP]=1)\n");
    u64 v[3] = {0x3ff8000000000000ull, 0x4004000000000000ull, 0};
    fpu_test(v);
    print_recs();
    printf_("  1.5 + 2.5 = %016llx\n", v[2]);

    puts_("-- alignment: lwarx / stwcx. / lwz at +2\n");
    align_test(abuf);
    print_recs();

    puts_("-- user mode\n");
    upage[0] = 0x4e800020; /* blr */
    __asm__ volatile("dcbst 0,%0\n\tsync\n\ticbi 0,%0\n\tsync\n\tisync" : : "r"(upage) : "memory");
    tlb1_write(2, 0x80000000 | 2 << 7, 0x40000000, (u32)upage | 0x17);
    tlb1_show(2, (u32)upage);
    ((void (*)(void))0x40000000)();
    puts_("  supervisor call into the page at 40000000: returned\n");
    to_user(user_main);
    u32 msr;
    __asm__ volatile("mfmsr %0" : "=r"(msr));
    printf_("  back in supervisor mode: msr=%08x\n", msr & MSR_SHOWN);
    print_recs();
    printf_("  page at 40000000 after the user store: %08x\n", upage[0]);
    puts_("exceptions: done\n");
    return 0;
}
