/*
 * Code that changes the translation of the page it runs from: after a tlbwe, and after a PID
 * write, each followed by isync, the next instructions must come through the new mapping.
 * Page A and page B hold different code at the same offsets; the virtual page 0x60000000 is
 * mapped to A, the code there switches it to B and returns what B's next instructions say.
 * Each case runs many times, so that its blocks also run as host code and through the jump
 * cache.
 */
#include "lib/rt.h"

#define VPAGE 0x60000000u
#define RUNS 3000

/* Offset 0x000: tlbwe (MAS preset by the caller); offset 0x100: PID = r4. Then isync, and
 * r3 = 1 in page A, 2 in page B. */
__asm__(".text\n"
        ".balign 4096\n"
        "page_a:\n"
        "  tlbwe\n  isync\n  li 3,1\n  blr\n"
        "  .balign 256\n"
        "  mtspr 48,4\n  isync\n  li 3,1\n  blr\n"
        ".balign 4096\n"
        "page_b:\n"
        "  nop\n  nop\n  li 3,2\n  blr\n"
        "  .balign 256\n"
        "  nop\n  nop\n  li 3,2\n  blr\n"
        ".balign 4096\n");

extern const u32 page_a[], page_b[];

/* Supervisor read/execute for the 4 KiB page at VPAGE, TID `tid`, in TLB1 entry `esel`. */
static void map(u32 esel, u32 tid, const u32 *page)
{
    mtspr(624, 0x10000000 | esel << 16);
    mtspr(625, 0x80000000 | tid << 16 | 2 << 7);
    mtspr(626, VPAGE);
    mtspr(627, (u32)page | 0x11);
    mtspr(944, 0);
}

static void unmap(u32 esel)
{
    mtspr(624, 0x10000000 | esel << 16);
    mtspr(625, 0);
    __asm__ volatile("isync\n\ttlbwe\n\tisync" ::: "memory");
}

int main(void)
{
    u32 (*at)(u32, u32);
    u32 n;

    puts_("remap: code that changes the mapping of its own page\n");

    /* Each run: page A's code (r3 = 1); its tlbwe to page B, going on in B (2); page B's
     * code at the same address (2). */
    n = 0;
    for (u32 i = 0; i < RUNS; i++) {
        map(3, 0, page_a);
        __asm__ volatile("isync\n\ttlbwe\n\tisync" ::: "memory");
        u32 before = ((u32 (*)(u32, u32))(VPAGE + 8))(0, 0);
        map(3, 0, page_b); /* MAS for the tlbwe in page A */
        at = (u32 (*)(u32, u32))VPAGE;
        u32 switched = at(0, 0);
        u32 after = ((u32 (*)(u32, u32))(VPAGE + 8))(0, 0);
        n += before == 1 && switched == 2 && after == 2;
    }
    printf_("  tlbwe: %u of %u runs fetched from page A, then page B\n", n, RUNS);
    unmap(3);

    /* The same with PID 1 mapping page A and PID 2 page B. */
    n = 0;
    map(3, 1, page_a);
    __asm__ volatile("isync\n\ttlbwe\n\tisync" ::: "memory");
    map(4, 2, page_b);
    __asm__ volatile("isync\n\ttlbwe\n\tisync" ::: "memory");
    for (u32 i = 0; i < RUNS; i++) {
        mtspr(48, 1);
        __asm__ volatile("isync");
        u32 before = ((u32 (*)(u32, u32))(VPAGE + 0x108))(0, 0);
        at = (u32 (*)(u32, u32))(VPAGE + 0x100);
        u32 switched = at(0, 2);
        u32 after = ((u32 (*)(u32, u32))(VPAGE + 0x108))(0, 0);
        n += before == 1 && switched == 2 && after == 2;
    }
    mtspr(48, 0);
    __asm__ volatile("isync");
    printf_("  PID 1 -> 2: %u of %u runs fetched from page A, then page B\n", n, RUNS);
    unmap(3);
    unmap(4);

    puts_("remap: done\n");
    return 0;
}
