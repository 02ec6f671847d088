/*
 * Conditional branches over a few register-only instructions, which ferrite translates as
 * predicated runs (selects instead of a branch): each pattern runs on many pseudo-random
 * operands, both ways of the branch, and folds every register it may change, CR and XER
 * into a checksum. The runs write GPRs, CR fields (record forms, compares), XER (CA, OV, SO),
 * read what they wrote, and are followed by code that reads the results; one is a bdnz
 * forward (CTR is decremented whichever way it goes).
 */
#include "lib/rt.h"

static u32 rng_state = 0x2545f491;

static u32 rng(void)
{
    return xorshift32(&rng_state);
}

/* A value that is often small, equal to another or at a sign or carry boundary. */
static u32 operand(void)
{
    u32 r = rng();
    switch (r & 7) {
    case 0:
        return r >> 28;
    case 1:
        return 0x7fffffff + (r >> 30);
    case 2:
        return 0xffffffff - (r >> 30);
    default:
        return rng();
    }
}

static u32 sum;

static void fold(u32 v)
{
    sum = (sum ^ v) * 0x01000193;
}

/* The larger-child choice of a heap's sift: skip over three moves. */
static void choose(u32 a, u32 b)
{
    u32 c = 1, v = a, p = 7;
    __asm__ volatile("cmplw %[b],%[v]\n\t"
                     "ble 1f\n\t"
                     "mr %[c],%[p]\n\t"
                     "mr %[v],%[b]\n\t"
                     "addi %[p],%[p],4\n"
                     "1:"
                     : [c] "+r"(c), [v] "+r"(v), [p] "+r"(p)
                     : [b] "r"(b)
                     : "cr0");
    fold(c);
    fold(v);
    fold(p);
}

/* Record forms and a carry written under the condition, then read after the run. */
static void record_and_carry(u32 a, u32 b)
{
    u32 r = a, cr, xer;
    __asm__ volatile("li %[cr],0\n\t"
                     "mtxer %[cr]\n\t"
                     "cmpw cr7,%[a],%[b]\n\t"
                     "bge cr7,1f\n\t"
                     "addic. %[r],%[b],-1\n\t"
                     "add %[r],%[r],%[a]\n"
                     "1:\n\t"
                     "mfcr %[cr]\n\t"
                     "mfxer %[xer]"
                     : [r] "+r"(r), [cr] "=&r"(cr), [xer] "=&r"(xer)
                     : [a] "r"(a), [b] "r"(b)
                     : "cr0", "cr7", "xer");
    fold(r);
    fold(cr);
    fold(xer);
}

/* Overflow and summary overflow under the condition; a compare inside the run writes a CR
 * field the branch after the run tests. */
static void overflow_and_compare(u32 a, u32 b)
{
    u32 r = 0, t = a, cr, xer;
    __asm__ volatile("li %[cr],0\n\t"
                     "mtxer %[cr]\n\t"
                     "cmplwi cr1,%[a],0x4000\n\t"
                     "cmpw cr6,%[b],%[a]\n\t"
                     "bgt cr1,1f\n\t"
                     "addo. %[t],%[a],%[b]\n\t"
                     "cmpw cr6,%[t],%[b]\n\t"
                     "subfo %[t],%[b],%[t]\n"
                     "1:\n\t"
                     "blt cr6,2f\n\t"
                     "li %[r],1\n"
                     "2:\n\t"
                     "mfcr %[cr]\n\t"
                     "mfxer %[xer]"
                     : [r] "+r"(r), [t] "+r"(t), [cr] "=&r"(cr), [xer] "=&r"(xer)
                     : [a] "r"(a), [b] "r"(b)
                     : "cr0", "cr1", "cr6", "xer");
    fold(r);
    fold(t);
    fold(cr);
    fold(xer);
}

/* Shifts, rotates, isel and a register read after it is written in the run. */
static void shifts_and_isel(u32 a, u32 b)
{
    u32 x = a, y = b, cr;
    __asm__ volatile("cmpwi %[a],0\n\t"
                     "beq 1f\n\t"
                     "rlwinm %[x],%[b],5,3,29\n\t"
                     "sraw %[y],%[a],%[x]\n\t"
                     "isel %[x],%[y],%[x],0\n\t"
                     "srawi. %[y],%[x],3\n"
                     "1:\n\t"
                     "mfcr %[cr]"
                     : [x] "+r"(x), [y] "+r"(y), [cr] "=&r"(cr)
                     : [a] "r"(a), [b] "r"(b)
                     : "cr0", "xer");
    fold(x);
    fold(y);
    fold(cr);
}

/* bdnz forward over two instructions: CTR counts down either way. */
static void counted(u32 a, u32 n)
{
    u32 x = a, ctr;
    __asm__ volatile("mtctr %[n]\n\t"
                     "bdnz 1f\n\t"
                     "mullw %[x],%[x],%[x]\n\t"
                     "xori %[x],%[x],0x55\n"
                     "1:\n\t"
                     "mfctr %[c]"
                     : [x] "+r"(x), [c] "=&r"(ctr)
                     : [n] "r"(n)
                     : "ctr");
    fold(x);
    fold(ctr);
}

int main(void)
{
    static const char *const names[] = { "choose", "record_and_carry", "overflow_and_compare", "shifts_and_isel", "counted" };
    for (int p = 0; p < 5; p++) {
        sum = 0x811c9dc5;
        for (int i = 0; i < 20000; i++) {
            u32 a = operand(), b = (i & 3) == 0 ? a : operand();
            switch (p) {
            case 0:
                choose(a, b);
                break;
            case 1:
                record_and_carry(a, b);
                break;
            case 2:
                overflow_and_compare(a, b);
                break;
            case 3:
                shifts_and_isel(a & (i & 4 ? 0 : ~0u), b);
                break;
            default:
                counted(a, b & 3);
                break;
            }
        }
        printf_("%s: %08x\n", names[p], sum);
    }
    return 0;
}
