/*
 * Floating-point ISA checks for the e500mc's classic FPU: arithmetic in the four rounding
 * modes, the multiply-adds, conversions, frsp, fres/frsqrte, fsel, compares, FPSCR flags,
 * NaN propagation, single-precision loads/stores and an enabled-exception program interrupt.
 * Every value is printed as its bit pattern, so a run on ferrite can be compared line by line
 * with one on qemu-system-ppc.
 */
#include "lib/rt.h"

typedef union {
    u64 u;
    double d;
} fpr;

#define ONE 0x3ff0000000000000ull
#define TWO 0x4000000000000000ull
#define THREE 0x4008000000000000ull
#define FOUR 0x4010000000000000ull
#define TEN 0x4024000000000000ull
#define HALF 0x3fe0000000000000ull
#define QUARTER 0x3fd0000000000000ull
#define P1 0x3fb999999999999aull /* 0.1 */
#define P2 0x3fc999999999999aull /* 0.2 */
#define NEG 0x8000000000000000ull
#define PZERO 0ull
#define NZERO NEG
#define PINF 0x7ff0000000000000ull
#define NINF 0xfff0000000000000ull
#define QNAN 0x7ff8000000000000ull
#define QNAN1 0x7ff8000000001234ull
#define QNAN2 0xfff8000000005678ull
#define SNAN 0x7ff0000000000001ull
#define SNAN2 0xfff4000000000000ull
#define DMAX 0x7fefffffffffffffull
#define DMIN 0x0010000000000000ull
#define DENMIN 0x0000000000000001ull
#define E10 0x4202a05f20000000ull
#define E40 0x483d6329f1c35ca5ull
#define EM50 0x358dee7a4ad4b81full
#define EM310 0x000012688b70e62bull
#define P2M24 0x3e70000000000000ull
#define P2M53 0x3ca0000000000000ull
#define P2M60 0x3c30000000000000ull

static u32 last_fpscr, last_cr;
static volatile u32 traps, trap_esr;

/* Enabled FP exceptions (and anything unexpected) arrive here. */
void trap_handler(u32 vec, struct frame *f)
{
    if (vec != 6) {
        printf_("  unexpected interrupt %u ESR %08x\n", vec, mfspr(62));
        poweroff();
    }
    traps++;
    trap_esr = mfspr(62);
    mtspr(26, mfspr(26) + 4);
}

/* The instructions fp_run can execute: "%0" = FRT, "%3" = FRA, "%4" = FRB, "%5" = FRC. */
#define FP_CASES(X)                                                                             \
    X(0, "fadd %0,%3,%4") X(1, "fsub %0,%3,%4") X(2, "fmul %0,%3,%5") X(3, "fdiv %0,%3,%4")      \
    X(4, "fadds %0,%3,%4") X(5, "fdivs %0,%3,%4") X(6, "fmuls %0,%3,%5")                        \
    X(7, "fmadd %0,%3,%5,%4") X(8, "fmsub %0,%3,%5,%4") X(9, "fnmadd %0,%3,%5,%4")              \
    X(10, "fnmsub %0,%3,%5,%4") X(11, "fmadds %0,%3,%5,%4") X(12, "fnmsubs %0,%3,%5,%4")        \
    X(13, "fctiw %0,%4") X(14, "fctiwz %0,%4") X(15, "frsp %0,%4") X(16, "fres %0,%4")          \
    X(17, "frsqrte %0,%4") X(18, "fsel %0,%3,%5,%4") X(19, "fcmpu 6,%3,%4")                     \
    X(20, "fcmpo 6,%3,%4") X(21, "fadd. %0,%3,%4") X(22, "fmul. %0,%3,%5")                      \
    X(23, "fneg %0,%4") X(24, "fabs %0,%4") X(25, "fnabs %0,%4") X(26, "fmr %0,%4")             \
    X(27, "fdiv. %0,%3,%4") X(28, "fsubs %0,%3,%4")

#define FP_NAME(n, insn) [n] = insn,
static const char *const names[] = {FP_CASES(FP_NAME)};

/* Runs one instruction with CR cleared and the FPSCR set to `fs` beforehand; returns FRT and
 * leaves the FPSCR and CR in last_fpscr / last_cr. FRT starts as 0xdeadbeefdeadbeef so an
 * untouched target is visible. */
#define FP_CASE(n, insn)                                                                        \
    case n:                                                                                    \
        __asm__ volatile("mtcrf 0xff,%7\n\tmtfsf 0xff,%6\n\t" insn "\n\tmffs %1\n\tmfcr %2"      \
                         : "+d"(r.d), "=&d"(o.d), "=&r"(cr)                                    \
                         : "d"(fa.d), "d"(fb.d), "d"(fc.d), "d"(fi.d), "r"(0)                  \
                         : "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7");            \
        break;

static u64 fp_run(int which, u32 fs, u64 a, u64 b, u64 c)
{
    fpr r = {.u = 0xdeadbeefdeadbeefull}, o = {.u = 0}, fa = {.u = a}, fb = {.u = b},
        fc = {.u = c}, fi = {.u = fs};
    u32 cr = 0;
    switch (which) {
        FP_CASES(FP_CASE)
    }
    last_fpscr = (u32)o.u;
    last_cr = cr;
    return r.u;
}

/* Prints "insn operands -> FRT fpscr" for one run; `ops` selects the operands shown (1 = a, 2 = b, 4 = c). */
static void show(int which, u32 fs, u64 a, u64 b, u64 c, int ops)
{
    u64 r = fp_run(which, fs, a, b, c);
    for (const char *n = names[which]; *n && *n != ' '; n++)
        putc_(*n);
    if (ops & 1)
        printf_(" a=%016llx", a);
    if (ops & 2)
        printf_(" b=%016llx", b);
    if (ops & 4)
        printf_(" c=%016llx", c);
    printf_(" rn=%u -> %016llx fpscr=%08x\n", fs & 3, r, last_fpscr);
}

static void rounding(void)
{
    puts_("-- arithmetic in the four rounding modes\n");
    static const struct {
        int op;
        u64 a, b;
    } t[] = {
        {0, ONE, P2M53}, {0, ONE | NEG, P2M53 | NEG}, {3, ONE, THREE}, {3, ONE | NEG, THREE},
        {1, ONE, P2M60}, {4, ONE, P2M24 + 1}, {5, ONE, THREE}, {28, ONE, P2M60},
        {0, DMAX, DMAX}, {0, DMAX | NEG, DMAX | NEG}, {3, DMIN, TWO}, {3, DENMIN, TWO},
        {3, ONE, 0x4000000000000001ull}, {0, P1, P2},
    };
    for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        for (u32 rn = 0; rn < 4; rn++)
            show(t[i].op, rn, t[i].a, t[i].b, 0, 3);
    /* fmul takes FRA and FRC. */
    for (u32 rn = 0; rn < 4; rn++)
        show(2, rn, P1, 0, THREE, 5);
    for (u32 rn = 0; rn < 4; rn++)
        show(6, rn, P1, 0, THREE, 5);
    for (u32 rn = 0; rn < 4; rn++)
        show(2, rn, DENMIN, 0, HALF, 5);
}

static void multiply_add(void)
{
    puts_("-- multiply-add family (a*c+b)\n");
    static const u64 in[][3] = {
        {P1, P2, ONE}, {P1, ONE | NEG, TEN}, {DMAX, DMAX | NEG, TWO}, {PINF, QNAN1, PZERO}, {ONE, PZERO | NEG, PZERO},
    };
    for (unsigned i = 0; i < sizeof(in) / sizeof(in[0]); i++)
        for (int op = 7; op <= 12; op++)
            for (u32 rn = 0; rn < 4; rn++)
                show(op, rn, in[i][0], in[i][1], in[i][2], 7);
}

static void conversions(void)
{
    puts_("-- fctiw (rn 0..3) / fctiwz / frsp\n");
    static const u64 v[] = {
        0x4004000000000000ull, 0xc004000000000000ull, 0x400c000000000000ull, HALF | NEG, E10,
        E10 | NEG, 0x41dfffffffe00000ull, 0xc1e0000000100000ull, QNAN, SNAN, PINF, NINF, NZERO,
    };
    for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        for (u32 rn = 0; rn < 4; rn++)
            show(13, rn, 0, v[i], 0, 2);
        show(14, 0, 0, v[i], 0, 2);
    }
    static const u64 s[] = {
        P1, E40, E40 | NEG, EM50, DMAX, 0x3ff0000010000000ull, 0x3ff0000030000000ull, SNAN2, QNAN1, EM310,
    };
    for (unsigned i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        for (u32 rn = 0; rn < 4; rn++) {
            u64 r = fp_run(15, rn, 0, s[i], 0);
            printf_("frsp %016llx rn=%u -> %016llx fpscr=%08x\n", s[i], rn, r, last_fpscr);
        }
}

static void estimates_select(void)
{
    puts_("-- fres / frsqrte / fsel\n");
    static const u64 v[] = {THREE, PZERO, NZERO, PINF, NINF, FOUR | NEG, QUARTER, QNAN1, SNAN, EM310, DMAX};
    for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        u64 r = fp_run(16, 0, 0, v[i], 0);
        printf_("fres %016llx -> %016llx fpscr=%08x", v[i], r, last_fpscr);
        r = fp_run(17, 0, 0, v[i], 0);
        printf_(" | frsqrte -> %016llx fpscr=%08x\n", r, last_fpscr);
    }
    static const u64 a[] = {ONE, ONE | NEG, PZERO, NZERO, QNAN, NINF, SNAN};
    for (unsigned i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
        u64 r = fp_run(18, 0x000000f8, a[i], TWO, ONE);
        printf_("fsel a=%016llx -> %016llx fpscr=%08x\n", a[i], r, last_fpscr);
    }
}

static void compares(void)
{
    puts_("-- fcmpu / fcmpo into cr6\n");
    static const u64 p[][2] = {
        {ONE, TWO}, {TWO, ONE}, {ONE, ONE}, {PZERO, NZERO}, {QNAN, ONE}, {ONE, SNAN}, {PINF, PINF}, {NINF, DMAX},
    };
    for (unsigned i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
        fp_run(19, 0x00060000, p[i][0], p[i][1], 0);
        printf_("fcmpu %016llx %016llx -> cr6=%x fpscr=%08x", p[i][0], p[i][1], (last_cr >> 4) & 15, last_fpscr);
        fp_run(20, 0x00060000, p[i][0], p[i][1], 0);
        printf_(" | fcmpo cr6=%x fpscr=%08x\n", (last_cr >> 4) & 15, last_fpscr);
    }
}

static void flags(void)
{
    puts_("-- FPSCR flags (from 0, then sticky from a dirty FPSCR) and CR1 of Rc=1 forms\n");
    static const struct {
        const char *what;
        int op;
        u64 a, b, c;
    } t[] = {
        {"overflow", 2, DMAX, 0, TWO}, {"underflow", 2, DMIN, 0, DMIN}, {"inexact", 3, ONE, THREE, 0},
        {"exact", 0, ONE, ONE, 0}, {"zero-divide", 3, ONE, PZERO, 0}, {"inf-inf", 1, PINF, PINF, 0},
        {"0/0", 3, PZERO, PZERO, 0}, {"inf/inf", 3, PINF, NINF, 0}, {"inf*0", 2, PINF, 0, PZERO},
        {"snan", 0, SNAN, ONE, 0}, {"fctiw big", 13, 0, E10, 0}, {"frsqrte -1", 17, 0, ONE | NEG, 0},
        {"fadd. ovf", 21, DMAX, DMAX, 0}, {"fmul. inv", 22, PINF, 0, PZERO}, {"fdiv. zx", 27, ONE, PZERO, 0},
    };
    for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        u64 r = fp_run(t[i].op, 0, t[i].a, t[i].b, t[i].c);
        printf_("%s: %016llx fpscr=%08x cr1=%x", t[i].what, r, last_fpscr, (last_cr >> 24) & 15);
        fp_run(t[i].op, 0x9e0ff000, t[i].a, t[i].b, t[i].c);
        printf_(" | dirty: fpscr=%08x cr1=%x\n", last_fpscr, (last_cr >> 24) & 15);
    }

    /* FPSCR bit instructions. */
    fpr f = {.u = 0}, o;
    u32 cr;
    __asm__ volatile("mtfsf 0xff,%1\n\tmtfsb1 3\n\tmtfsb1 7\n\tmtfsb1 30\n\tmffs %0" : "=d"(o.d) : "d"(f.d));
    printf_("mtfsb1 3,7,30 -> %08x\n", (u32)o.u);
    __asm__ volatile("mtfsb0 7\n\tmtfsb0 30\n\tmffs %0" : "=d"(o.d));
    printf_("mtfsb0 7,30 -> %08x\n", (u32)o.u);
    __asm__ volatile("mtfsfi 7,5\n\tmtfsfi 0,9\n\tmffs %0" : "=d"(o.d));
    printf_("mtfsfi 7,5; 0,9 -> %08x\n", (u32)o.u);
    f.u = 0x9e0ff0f0ull;
    __asm__ volatile("mtfsf 0xff,%2\n\tmtfsf 0x0f,%3\n\tmcrfs 2,1\n\tmffs %0\n\tmfcr %1"
                     : "=d"(o.d), "=r"(cr) : "d"(f.d), "d"(0.0) : "cr2");
    printf_("mtfsf 0x0f,0; mcrfs 2,1 -> fpscr=%08x cr2=%x\n", (u32)o.u, (cr >> 20) & 15);
    f.u = 0xfffff7ffull;
    __asm__ volatile("mtfsf 0xff,%1\n\tmffs %0" : "=d"(o.d) : "d"(f.d));
    printf_("mtfsf 0xff,fffff7ff -> %016llx\n", o.u);
}

static void nans(void)
{
    puts_("-- NaN propagation\n");
    show(0, 0, QNAN1, QNAN2, 0, 3);
    show(0, 0, QNAN2, QNAN1, 0, 3);
    show(0, 0, ONE, SNAN2, 0, 3);
    show(0, 0, SNAN, QNAN1, 0, 3);
    show(2, 0, SNAN2, 0, QNAN1, 5);
    show(2, 0, ONE, 0, SNAN, 5);
    show(3, 0, QNAN2, PZERO, 0, 3);
    show(7, 0, ONE, QNAN1, SNAN, 7);
    show(7, 0, SNAN2, QNAN1, QNAN2, 7);
    show(7, 0, PINF, QNAN1, PZERO, 7);
    show(7, 0, PINF, SNAN, PZERO, 7);
    show(9, 0, QNAN2, ONE, ONE, 7);
    show(9, 0, ONE, SNAN2, ONE, 7);
    show(4, 0, QNAN1, ONE, 0, 3);
    show(4, 0, 0x7ff00000ffffffffull, ONE, 0, 3);
    show(23, 0, 0, SNAN, 0, 2);
    show(24, 0, 0, SNAN2, 0, 2);
    show(25, 0, 0, QNAN1, 0, 2);
    show(26, 0, 0, SNAN2, 0, 2);
}

static void single_memory(void)
{
    puts_("-- lfs / stfs / stfiwx\n");
    static const u64 d[] = {P1, E40, EM50, SNAN2, 0x7ff00000ffffffffull, 0x36a0000000000000ull, DMIN};
    for (unsigned i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        u32 w;
        fpr v = {.u = d[i]};
        __asm__ volatile("stfs %1,0(%2)" : "=m"(w) : "d"(v.d), "b"(&w));
        printf_("stfs %016llx -> %08x\n", d[i], w);
    }
    static const u32 s[] = {0x3dcccccd, 0x00000001, 0x807fffff, 0x7f800001, 0xff800000, 0x7fc00000};
    for (unsigned i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        fpr v;
        __asm__ volatile("lfs %0,0(%1)" : "=d"(v.d) : "b"(&s[i]), "m"(s[i]));
        printf_("lfs %08x -> %016llx\n", s[i], v.u);
    }
    fpr v = {.u = 0xfffffff4fffffffbull};
    u32 w;
    __asm__ volatile("stfiwx %1,0,%2" : "=m"(w) : "d"(v.d), "r"(&w));
    printf_("stfiwx fffffff4fffffffb -> %08x\n", w);
}

static void enabled_exceptions(void)
{
    puts_("-- enabled exceptions (MSR[FE0,FE1] = 1,1)\n");
    u32 msr;
    __asm__ volatile("mfmsr %0" : "=r"(msr));
    __asm__ volatile("mtmsr %0\n\tisync" : : "r"(msr | 0x900));
    static const struct {
        const char *what;
        int op;
        u32 fs;
        u64 a, b, c;
    } t[] = {
        {"0/0 VE", 3, 0x80, PZERO, PZERO, 0}, {"1/0 ZE", 3, 0x10, ONE, PZERO, 0},
        {"ovf OE", 0, 0x40, DMAX, DMAX, 0}, {"1/3 XE", 3, 0x08, ONE, THREE, 0},
        {"tiny UE", 2, 0x20, DMIN, 0, HALF}, {"1/0 VE only", 3, 0x80, ONE, PZERO, 0},
        {"snan VE", 0, 0x80, SNAN, ONE, 0},
    };
    for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        traps = 0;
        trap_esr = 0;
        u64 r = fp_run(t[i].op, t[i].fs, t[i].a, t[i].b, t[i].c);
        printf_("%s: traps=%u esr=%08x frt=%016llx fpscr=%08x\n", t[i].what, traps, trap_esr, r, last_fpscr);
    }
    /* Setting VE while VXZDZ is already set traps at the mtfsf itself. */
    traps = 0;
    fpr a = {.u = 0x00200000ull}, b = {.u = 0x00200080ull}, o;
    __asm__ volatile("mtfsf 0xff,%1\n\tmtfsf 0xff,%2\n\tmffs %0" : "=&d"(o.d) : "d"(a.d), "d"(b.d));
    printf_("mtfsf VE with VXZDZ set: traps=%u fpscr=%08x\n", traps, (u32)o.u);
    __asm__ volatile("mtmsr %0\n\tisync" : : "r"(msr));
    traps = 0;
    fp_run(3, 0x80, PZERO, PZERO, 0);
    printf_("FE0=FE1=0, 0/0 with VE: traps=%u fpscr=%08x\n", traps, last_fpscr);
}

int main(void)
{
    u32 msr;
    __asm__ volatile("mfmsr %0" : "=r"(msr));
    printf_("isa_fp: MSR[FP]=%u\n", (msr >> 13) & 1);
    if (!(msr & 0x2000)) {
        __asm__ volatile("mtmsr %0\n\tisync" : : "r"(msr | 0x2000));
        puts_("isa_fp: enabled MSR[FP]\n");
    }
    rounding();
    multiply_add();
    conversions();
    estimates_select();
    compares();
    flags();
    nans();
    single_memory();
    enabled_exceptions();
    puts_("isa_fp: done\n");
    return 0;
}
