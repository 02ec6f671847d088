/*
 * Integer ISA checks for the e500mc: arithmetic with XER CA/OV/SO, multiply/divide corner
 * cases (QEMU's results for divide by zero and overflow), rotates and shifts, compares, isel,
 * CR logic, reservations, multiple and byte-reversed accesses, dcbz and the time base (the
 * string instructions are in isa_string.c). Every result is printed in hex so a run on
 * ferrite can be compared line by line with one on qemu-system-ppc.
 */
#include "lib/rt.h"

/* An unexpected program interrupt (e.g. an instruction the CPU lacks) is reported and the
 * instruction skipped, so one missing instruction does not hide the rest of the output. */
void trap_handler(u32 vec, struct frame *f)
{
    u32 srr0 = mfspr(26);
    printf_("  interrupt %u ESR %08x\n", vec, mfspr(62));
    if (vec != 6)
        poweroff();
    mtspr(26, srr0 + 4);
}

/* Prints an asm template with its operand placeholders ("%0".."%9") replaced by names. */
static void put_insn(const char *t, const char *const *names)
{
    for (; *t; t++) {
        if (t[0] == '%' && t[1] >= '0' && t[1] <= '9')
            puts_(names[*++t - '0']);
        else
            putc_(*t);
    }
}

static const char *const imm_names[] = {"rD", "", "", "rA"};
static const char *const cmp_names[] = {"", "rA", "rB"};

/* ---- XO-form arithmetic: "insn rD,rA,rB" with XER preset, CR0 cleared first. ---- */

typedef u32 (*op2_fn)(u32 a, u32 b, u32 xin, u32 *xer, u32 *cr);

#define DEF2(fn, insn)                                                                          \
    static u32 fn(u32 a, u32 b, u32 xin, u32 *xer, u32 *cr)                                    \
    {                                                                                          \
        u32 d, x, c;                                                                           \
        __asm__ volatile("mtcrf 0x80,%6\n\tmtxer %4\n\t" insn " %0,%3,%5\n\tmfxer %1\n\tmfcr %2" \
                         : "=&r"(d), "=&r"(x), "=&r"(c)                                        \
                         : "r"(a), "r"(xin), "r"(b), "r"(0)                                    \
                         : "cr0", "xer");                                                      \
        *xer = x;                                                                              \
        *cr = c;                                                                               \
        return d;                                                                              \
    }

#define DEF1(fn, insn)                                                                          \
    static u32 fn(u32 a, u32 b, u32 xin, u32 *xer, u32 *cr)                                    \
    {                                                                                          \
        u32 d, x, c;                                                                           \
        __asm__ volatile("mtcrf 0x80,%5\n\tmtxer %4\n\t" insn " %0,%3\n\tmfxer %1\n\tmfcr %2"   \
                         : "=&r"(d), "=&r"(x), "=&r"(c)                                        \
                         : "r"(a), "r"(xin), "r"(0)                                            \
                         : "cr0", "xer");                                                      \
        *xer = x;                                                                              \
        *cr = c;                                                                               \
        return d;                                                                              \
    }

DEF2(op_add, "add")
DEF2(op_add_, "add.")
DEF2(op_addo, "addo")
DEF2(op_addo_, "addo.")
DEF2(op_addc, "addc")
DEF2(op_addco_, "addco.")
DEF2(op_adde, "adde")
DEF2(op_adde_, "adde.")
DEF2(op_addeo, "addeo")
DEF2(op_subf, "subf")
DEF2(op_subfo_, "subfo.")
DEF2(op_subfc, "subfc")
DEF2(op_subfco, "subfco")
DEF2(op_subfe, "subfe")
DEF2(op_subfeo_, "subfeo.")
DEF2(op_mullw, "mullw")
DEF2(op_mullwo_, "mullwo.")
DEF2(op_mulhw, "mulhw")
DEF2(op_mulhw_, "mulhw.")
DEF2(op_mulhwu, "mulhwu")
DEF2(op_divw, "divw")
DEF2(op_divwo_, "divwo.")
DEF2(op_divwu, "divwu")
DEF2(op_divwuo, "divwuo")
DEF2(op_and_, "and.")
DEF2(op_andc, "andc")
DEF2(op_nand, "nand")
DEF2(op_or_, "or.")
DEF2(op_orc, "orc")
DEF2(op_nor, "nor")
DEF2(op_xor_, "xor.")
DEF2(op_eqv, "eqv")
DEF1(op_neg, "neg")
DEF1(op_nego_, "nego.")
DEF1(op_addme, "addme")
DEF1(op_addmeo, "addmeo")
DEF1(op_addze_, "addze.")
DEF1(op_addzeo, "addzeo")
DEF1(op_subfme, "subfme")
DEF1(op_subfmeo, "subfmeo")
DEF1(op_subfze, "subfze")
DEF1(op_subfzeo_, "subfzeo.")
DEF1(op_extsb_, "extsb.")
DEF1(op_extsh, "extsh")
DEF1(op_cntlzw, "cntlzw")
DEF1(op_cntlzw_, "cntlzw.")

struct op {
    const char *name;
    op2_fn fn;
};

static const struct op binops[] = {
    {"add", op_add}, {"add.", op_add_}, {"addo", op_addo}, {"addo.", op_addo_},
    {"addc", op_addc}, {"addco.", op_addco_}, {"adde", op_adde}, {"adde.", op_adde_},
    {"addeo", op_addeo}, {"subf", op_subf}, {"subfo.", op_subfo_}, {"subfc", op_subfc},
    {"subfco", op_subfco}, {"subfe", op_subfe}, {"subfeo.", op_subfeo_}, {"mullw", op_mullw},
    {"mullwo.", op_mullwo_}, {"mulhw", op_mulhw}, {"mulhw.", op_mulhw_}, {"mulhwu", op_mulhwu},
    {"divw", op_divw}, {"divwo.", op_divwo_}, {"divwu", op_divwu}, {"divwuo", op_divwuo},
};

static const struct op logops[] = {
    {"and.", op_and_}, {"andc", op_andc}, {"nand", op_nand}, {"or.", op_or_},
    {"orc", op_orc}, {"nor", op_nor}, {"xor.", op_xor_}, {"eqv", op_eqv},
};

static const struct op unops[] = {
    {"neg", op_neg}, {"nego.", op_nego_}, {"addme", op_addme}, {"addmeo", op_addmeo},
    {"addze.", op_addze_}, {"addzeo", op_addzeo}, {"subfme", op_subfme}, {"subfmeo", op_subfmeo},
    {"subfze", op_subfze}, {"subfzeo.", op_subfzeo_}, {"extsb.", op_extsb_}, {"extsh", op_extsh},
    {"cntlzw", op_cntlzw}, {"cntlzw.", op_cntlzw_},
};

static const u32 pairs[][2] = {
    {0, 0}, {1, 2}, {0x7fffffff, 1}, {0xffffffff, 1}, {0x80000000, 0x80000000},
    {0x80000000, 0xffffffff}, {0xfffffff9, 2}, {7, 0xfffffffe}, {0x12345678, 0x9abcdef0}, {100, 0},
};

static const u32 singles[] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x00010080, 0x0000ff7f};

/* XER inputs: all clear, and SO|OV|CA set (checks which bits each form writes or keeps). */
static const u32 xers[] = {0x00000000, 0xe0000000};

static void run_ops(const struct op *ops, int nops, int unary)
{
    int npairs = unary ? (int)(sizeof(singles) / sizeof(singles[0])) : (int)(sizeof(pairs) / sizeof(pairs[0]));
    for (int i = 0; i < nops; i++) {
        for (int p = 0; p < npairs; p++) {
            u32 a = unary ? singles[p] : pairs[p][0], b = unary ? 0 : pairs[p][1];
            if (unary)
                printf_("%s %08x", ops[i].name, a);
            else
                printf_("%s %08x %08x", ops[i].name, a, b);
            for (int x = 0; x < 2; x++) {
                u32 xer, cr;
                u32 d = ops[i].fn(a, b, xers[x], &xer, &cr);
                printf_(" | %08x x=%08x c=%x", d, xer, cr >> 28);
            }
            putc_('\n');
        }
    }
}

/* ---- Immediate forms. ---- */

#define IMM(insn, a, xin)                                                                       \
    do {                                                                                       \
        u32 d_, x_, c_;                                                                        \
        __asm__ volatile("mtcrf 0x80,%5\n\tmtxer %4\n\t" insn "\n\tmfxer %1\n\tmfcr %2"         \
                         : "=&r"(d_), "=&r"(x_), "=&r"(c_)                                     \
                         : "r"(a), "r"(xin), "r"(0)                                            \
                         : "cr0", "xer");                                                      \
        put_insn(insn, imm_names);                                                             \
        printf_(" [rA=%08x xer=%08x] -> %08x x=%08x c=%x\n", a, xin, d_, x_, c_ >> 28);       \
    } while (0)

static void immediates(void)
{
    puts_("-- immediates\n");
    IMM("addic %0,%3,1", 0xffffffffu, 0);
    IMM("addic. %0,%3,-1", 0u, 0);
    IMM("addic. %0,%3,-1", 1u, 0x80000000u);
    IMM("subfic %0,%3,5", 7u, 0);
    IMM("subfic %0,%3,5", 5u, 0);
    IMM("subfic %0,%3,-1", 0u, 0);
    IMM("mulli %0,%3,-3", 0x40000001u, 0);
    IMM("addis %0,%3,0x8000", 0x12345678u, 0);
    IMM("andi. %0,%3,0x8001", 0xffff0000u, 0);
    IMM("andis. %0,%3,0x8001", 0xffff0000u, 0);
    IMM("ori %0,%3,0xf00f", 0x10000000u, 0);
    IMM("xoris %0,%3,0xffff", 0x12345678u, 0);
    IMM("srawi %0,%3,0", 0x80000001u, 0x20000000u);
    IMM("srawi %0,%3,1", 0x80000001u, 0);
    IMM("srawi %0,%3,4", 0xfffffff0u, 0);
    IMM("srawi. %0,%3,31", 0x80000000u, 0);
    IMM("srawi %0,%3,31", 0x7fffffffu, 0x20000000u);
}

/* ---- Rotates. ---- */

#define RLWINM(sh, mb, me, a)                                                                   \
    do {                                                                                       \
        u32 d_, c_;                                                                            \
        __asm__ volatile("mtcrf 0x80,%3\n\trlwinm. %0,%2," #sh "," #mb "," #me "\n\tmfcr %1"    \
                         : "=&r"(d_), "=&r"(c_)                                                \
                         : "r"(a), "r"(0)                                                      \
                         : "cr0");                                                             \
        printf_("rlwinm. %08x," #sh "," #mb "," #me " -> %08x c=%x\n", a, d_, c_ >> 28);       \
    } while (0)

#define RLWIMI(sh, mb, me, t, a)                                                                \
    do {                                                                                       \
        u32 d_ = t;                                                                            \
        __asm__ volatile("rlwimi %0,%1," #sh "," #mb "," #me : "+r"(d_) : "r"(a));             \
        printf_("rlwimi %08x<-%08x," #sh "," #mb "," #me " -> %08x\n", t, a, d_);             \
    } while (0)

#define RLWNM(mb, me, a, b)                                                                     \
    do {                                                                                       \
        u32 d_;                                                                                \
        __asm__ volatile("rlwnm %0,%1,%2," #mb "," #me : "=r"(d_) : "r"(a), "r"(b));          \
        printf_("rlwnm %08x,%08x," #mb "," #me " -> %08x\n", a, b, d_);                       \
    } while (0)

static void rotates(void)
{
    puts_("-- rotates\n");
    u32 v = 0x81234567;
    RLWINM(0, 0, 31, v);
    RLWINM(4, 0, 27, v);
    RLWINM(28, 4, 31, v);
    RLWINM(8, 16, 23, v);
    RLWINM(0, 28, 3, v);
    RLWINM(31, 31, 31, v);
    RLWINM(16, 0, 15, v);
    RLWINM(1, 31, 0, v);
    RLWINM(0, 8, 7, v);
    RLWINM(0, 16, 15, 0u);
    RLWIMI(0, 0, 31, 0xffffffffu, v);
    RLWIMI(8, 16, 23, 0xffffffffu, v);
    RLWIMI(4, 28, 3, 0x00000000u, v);
    RLWIMI(31, 0, 0, 0x7fffffffu, 1u);
    RLWNM(0, 31, v, 4u);
    RLWNM(0, 31, v, 36u);
    RLWNM(4, 27, v, 0xffffffe4u);
    RLWNM(24, 7, v, 12u);
}

/* ---- Shifts by register. ---- */

#define SHIFT(insn, a, n)                                                                       \
    do {                                                                                       \
        u32 d_, x_;                                                                            \
        __asm__ volatile("mtxer %3\n\t" insn " %0,%2,%4\n\tmfxer %1"                           \
                         : "=&r"(d_), "=&r"(x_)                                                \
                         : "r"(a), "r"(0), "r"(n)                                              \
                         : "xer");                                                             \
        printf_(" %08x/x=%08x", d_, x_);                                                       \
    } while (0)

static void shifts(void)
{
    static const u32 vals[] = {0x80000001, 0x7fffffff, 0xfffffff0, 0xffffffff};
    static const u32 counts[] = {0, 1, 4, 31, 32, 33, 63, 64, 0xffffffe1};
    puts_("-- shifts (slw srw sraw)\n");
    for (unsigned v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
        for (unsigned c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
            printf_("%08x << >> %08x:", vals[v], counts[c]);
            SHIFT("slw", vals[v], counts[c]);
            SHIFT("srw", vals[v], counts[c]);
            SHIFT("sraw", vals[v], counts[c]);
            putc_('\n');
        }
    }
}

/* ---- Compares: into CR3 (and CR0) with XER[SO] copied. ---- */

#define CMP(insn, a, b, so)                                                                     \
    do {                                                                                       \
        u32 c_;                                                                                \
        __asm__ volatile("mtcrf 0xff,%3\n\tmtxer %4\n\t" insn "\n\tmfcr %0"                    \
                         : "=&r"(c_)                                                           \
                         : "r"(a), "r"(b), "r"(0), "r"(so)                                     \
                         : "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7", "xer");     \
        put_insn(insn, cmp_names);                                                             \
        printf_(" [rA=%08x rB=%08x so=%x] cr=%08x\n", a, b, so >> 31, c_);                    \
    } while (0)

static void compares(void)
{
    puts_("-- compares\n");
    static const u32 cp[][2] = {{1, 2}, {2, 1}, {5, 5}, {0xffffffff, 1}, {0x80000000, 0x7fffffff}};
    for (unsigned i = 0; i < sizeof(cp) / sizeof(cp[0]); i++) {
        CMP("cmpw 3,%1,%2", cp[i][0], cp[i][1], 0u);
        CMP("cmplw 3,%1,%2", cp[i][0], cp[i][1], 0x80000000u);
    }
    CMP("cmpwi 7,%1,-1", 0xffffffffu, 0u, 0u);
    CMP("cmplwi 7,%1,0xffff", 0x10000u, 0u, 0x80000000u);
    CMP("cmpwi %1,0", 0u, 0u, 0x80000000u);
}

/* ---- isel and CR logic. ---- */

#define ISEL(bit, crv)                                                                          \
    do {                                                                                       \
        u32 d_;                                                                                \
        __asm__ volatile("mtcrf 0xff,%3\n\tisel %0,%1,%2," #bit                                \
                         : "=&r"(d_)                                                           \
                         : "b"(0x11111111u), "r"(0x22222222u), "r"(crv)                        \
                         : "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7");            \
        printf_("isel bit " #bit " cr=%08x -> %08x\n", crv, d_);                               \
    } while (0)

#define CRL(insn)                                                                               \
    do {                                                                                       \
        u32 c_;                                                                                \
        __asm__ volatile("mtcrf 0xff,%1\n\t" insn "\n\tmfcr %0"                                \
                         : "=&r"(c_)                                                           \
                         : "r"(0x5a3c96e1u)                                                    \
                         : "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7");            \
        printf_("%s -> %08x\n", insn, c_);                                                     \
    } while (0)

/* mtcrf `mask` of 0x12345678 over a CR preset to `init`. */
#define MTCRF(mask, init)                                                                       \
    do {                                                                                       \
        u32 c_;                                                                                \
        __asm__ volatile("mtcrf 0xff,%1\n\tmtcrf " #mask ",%2\n\tmfcr %0"                      \
                         : "=&r"(c_)                                                           \
                         : "r"(init), "r"(0x12345678u)                                         \
                         : "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7");            \
        printf_("mtcrf " #mask " over %08x -> %08x\n", init, c_);                              \
    } while (0)

static void crlogic(void)
{
    puts_("-- isel / cr logic / mtcrf\n");
    ISEL(0, 0x80000000u);
    ISEL(0, 0x7fffffffu);
    ISEL(13, 0x00040000u);
    ISEL(31, 0x00000001u);
    ISEL(31, 0xfffffffeu);
    {
        u32 d_;
        __asm__ volatile("mtcrf 0xff,%2\n\tisel %0,0,%1,2" : "=&r"(d_) : "r"(0x33u), "r"(0x20000000u) : "cr0");
        printf_("isel rA=0 true -> %08x\n", d_);
    }
    CRL("crand 0,1,3");
    CRL("crand 5,1,3");
    CRL("cror 31,0,30");
    CRL("crxor 4,4,4");
    CRL("crnand 2,2,2");
    CRL("crnor 8,9,10");
    CRL("creqv 12,13,14");
    CRL("crandc 16,17,18");
    CRL("crorc 20,21,22");
    CRL("mcrf 7,0");
    CRL("mcrf 0,3");
    MTCRF(0x01, 0u);
    MTCRF(0x80, 0u);
    MTCRF(0x5a, 0u);
    MTCRF(0xff, 0u);
    MTCRF(0x00, 0xffffffffu);
    {
        u32 x_, c_;
        __asm__ volatile("mtcrf 0xff,%2\n\tmtxer %3\n\tmcrxr 5\n\tmfcr %1\n\tmfxer %0"
                         : "=&r"(x_), "=&r"(c_) : "r"(0u), "r"(0xe0000000u) : "cr5", "xer");
        printf_("mcrxr 5 (xer=e0000000) -> cr=%08x xer=%08x\n", c_, x_);
    }
    {
        u32 x_;
        __asm__ volatile("mtxer %1\n\tmfxer %0" : "=&r"(x_) : "r"(0xffffffffu) : "xer");
        printf_("mtxer ffffffff; mfxer -> %08x\n", x_);
        __asm__ volatile("mtxer %1\n\tmfxer %0" : "=&r"(x_) : "r"(0x0000007fu) : "xer");
        printf_("mtxer 0000007f; mfxer -> %08x\n", x_);
    }
}

/* ---- Loads and stores. ---- */

static u32 mem[64] __attribute__((aligned(128)));
static u8 line[256] __attribute__((aligned(128)));

static void loads_stores(void)
{
    puts_("-- loads / stores\n");
    mem[0] = 0x8001f00d;
    mem[1] = 0x11223344;
    u32 r;
    __asm__ volatile("lha %0,0(%1)" : "=r"(r) : "b"(mem));
    printf_("lha 8001 -> %08x\n", r);
    __asm__ volatile("lhz %0,2(%1)" : "=r"(r) : "b"(mem));
    printf_("lhz f00d -> %08x\n", r);
    __asm__ volatile("lbz %0,1(%1)" : "=r"(r) : "b"(mem));
    printf_("lbz 01 -> %08x\n", r);
    __asm__ volatile("lwz %0,1(%1)" : "=r"(r) : "b"(mem));
    printf_("lwz unaligned +1 -> %08x\n", r);
    {
        u32 *p = mem, v;
        __asm__ volatile("lwzu %0,4(%1)" : "=r"(v), "+b"(p));
        printf_("lwzu -> %08x, ea advanced by %x\n", v, (u32)((char *)p - (char *)mem));
    }
    __asm__ volatile("lhbrx %0,0,%1" : "=r"(r) : "r"(mem));
    printf_("lhbrx -> %08x\n", r);
    __asm__ volatile("lwbrx %0,0,%1" : "=r"(r) : "r"(mem + 1));
    printf_("lwbrx -> %08x\n", r);
    __asm__ volatile("sthbrx %0,0,%1" : : "r"(0xaabbccddu), "r"(mem + 2) : "memory");
    __asm__ volatile("stwbrx %0,0,%1" : : "r"(0x12345678u), "r"(mem + 3) : "memory");
    printf_("sthbrx/stwbrx -> %08x %08x\n", mem[2] & 0xffff0000, mem[3]);

    /* Reservations. */
    mem[4] = 100;
    mem[5] = 200;
    u32 c, v;
    __asm__ volatile("lwarx %0,0,%2\n\taddi %0,%0,1\n\tstwcx. %0,0,%2\n\tmfcr %1"
                     : "=&r"(v), "=&r"(c) : "r"(mem + 4) : "cr0", "memory");
    printf_("lwarx/stwcx. -> cr0=%x mem=%u\n", c >> 28, mem[4]);
    __asm__ volatile("stwcx. %1,0,%2\n\tmfcr %0" : "=&r"(c) : "r"(7u), "r"(mem + 4) : "cr0", "memory");
    printf_("stwcx. without reservation -> cr0=%x mem=%u\n", c >> 28, mem[4]);
    __asm__ volatile("mtxer %3\n\tlwarx %0,0,%2\n\tstwcx. %0,0,%2\n\tmfcr %1"
                     : "=&r"(v), "=&r"(c) : "r"(mem + 4), "r"(0x80000000u) : "cr0", "memory", "xer");
    printf_("stwcx. with SO set -> cr0=%x\n", c >> 28);
    __asm__ volatile("lwarx %0,0,%2\n\tstwcx. %0,0,%3\n\tmfcr %1"
                     : "=&r"(v), "=&r"(c) : "r"(mem + 4), "r"(mem + 5) : "cr0", "memory");
    printf_("stwcx. to another word -> cr0=%x mem=%u %u\n", c >> 28, mem[4], mem[5]);
    __asm__ volatile("lwarx %0,0,%2\n\tstwcx. %0,0,%2\n\tstwcx. %0,0,%2\n\tmfcr %1"
                     : "=&r"(v), "=&r"(c) : "r"(mem + 4) : "cr0", "memory");
    printf_("second stwcx. -> cr0=%x\n", c >> 28);

    /* Multiple. */
    static const u32 src[4] = {0xa0a0a0a0, 0xb1b1b1b1, 0xc2c2c2c2, 0xd3d3d3d3};
    memset(mem, 0, 64);
    __asm__ volatile("lmw 28,0(%0)\n\tstmw 28,0(%1)" : : "b"(src), "b"(mem) : "r28", "r29", "r30", "r31", "memory");
    __asm__ volatile("lmw 30,4(%0)\n\tstmw 30,20(%1)" : : "b"(src), "b"(mem) : "r30", "r31", "memory");
    printf_("lmw/stmw -> %08x %08x %08x %08x | %08x %08x %08x\n", mem[0], mem[1], mem[2], mem[3], mem[4],
            mem[5], mem[6]);

    /* dcbz clears the whole 64-byte line holding the address. */
    memset(line, 0xaa, sizeof(line));
    __asm__ volatile("dcbz 0,%0" : : "r"(line + 0x48) : "memory");
    int first = -1, last = -1, n = 0;
    for (int i = 0; i < (int)sizeof(line); i++) {
        if (line[i] == 0) {
            if (first < 0)
                first = i;
            last = i;
            n++;
        }
    }
    printf_("dcbz at +0x48: zeroed %u bytes, offsets %x..%x\n", n, first, last);
    memset(line, 0xaa, sizeof(line));
    __asm__ volatile("dcbz %0,%1" : : "b"(line), "r"(0xc3) : "memory");
    first = last = -1, n = 0;
    for (int i = 0; i < (int)sizeof(line); i++) {
        if (line[i] == 0) {
            if (first < 0)
                first = i;
            last = i;
            n++;
        }
    }
    printf_("dcbz at +0xc3: zeroed %u bytes, offsets %x..%x\n", n, first, last);
}

/* ---- Time base. ---- */

static u64 read_tb(void)
{
    u32 hi, lo, hi2;
    do {
        __asm__ volatile("mftbu %0\n\tmftb %1\n\tmftbu %2" : "=r"(hi), "=r"(lo), "=r"(hi2));
    } while (hi != hi2);
    return (u64)hi << 32 | lo;
}

static void timebase(void)
{
    puts_("-- time base\n");
    u64 first = read_tb(), prev = first;
    int backwards = 0;
    for (int i = 0; i < 2000; i++) {
        u64 t = read_tb();
        if (t < prev)
            backwards++;
        prev = t;
    }
    u32 spr = mfspr(268);
    u32 sprh = mfspr(269);
    printf_("mftb monotonic: %s, advanced: %s\n", backwards ? "no" : "yes", prev > first ? "yes" : "no");
    printf_("mfspr TBL/TBU agree with mftb: %s\n", ((u64)sprh << 32 | spr) >= prev ? "yes" : "no");
}

int main(void)
{
    puts_("isa_int: integer ISA checks\n");
    puts_("-- xo-form: result x=XER c=CR0 for XER in 00000000 | e0000000\n");
    run_ops(binops, sizeof(binops) / sizeof(binops[0]), 0);
    puts_("-- logical\n");
    run_ops(logops, sizeof(logops) / sizeof(logops[0]), 0);
    puts_("-- unary\n");
    run_ops(unops, sizeof(unops) / sizeof(unops[0]), 1);
    immediates();
    rotates();
    shifts();
    compares();
    crlogic();
    loads_stores();
    timebase();
    puts_("isa_int: done\n");
    return 0;
}
