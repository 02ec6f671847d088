/*
 * Benchmark "mixedpage": hot code whose written data lives on the same 4 KiB page, as is common
 * in bare-metal programs and firmware (the default link script puts .data right after .text).
 * The kernel hashes a buffer in blocks of 64 words and records its progress in a global state
 * record after every block; that record is placed in the page of the loop's own code. An
 * emulator that invalidates translated code per page on every write retranslates the loop
 * after each block; one that tracks the written bytes does not.
 * bench: not-in-mean (a pathology probe, reported apart from the compute suite)
 */
#include "../lib/rt.h"

#define WORDS 4096
#define BLOCK 64
#define ROUNDS 2000 /* ~0.3 s on QEMU; raise it once ferrite no longer takes ~40 s */

struct progress {
    u32 blocks, hash, last;
};

/* Written after every block: 64 bytes that hash_blocks reserves in .text right after itself (see
 * the asm in its body), so the record shares the loop's code page; main checks it does. */
extern volatile struct progress mixedpage_state;
#define state mixedpage_state
static u32 buf[WORDS];

__attribute__((noinline, aligned(1024), section(".text.mixedpage")))
static void hash_blocks(u32 round)
{
    /* A section first named inside the function is laid out after the function's own. */
    __asm__(".pushsection .text.mixedpage_state, \"ax\", @progbits\n"
            "    .balign 64\n"
            "mixedpage_state:\n"
            "    .space 64\n"
            "    .popsection");
    for (u32 b = 0; b < WORDS; b += BLOCK) {
        u32 h = state.hash ^ round;
        for (u32 i = 0; i < BLOCK; i++)
            h = (h ^ buf[b + i]) * 0x01000193;
        state.hash = h;
        state.last = b;
        state.blocks++;
    }
}

int main(void)
{
    u32 x = 0x6b43a9b5;
    for (u32 i = 0; i < WORDS; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = x;
    }
    /* The layout is what this benchmark measures: refuse to run without it. */
    if (((u32)&state >> 12) != ((u32)hash_blocks >> 12)) {
        printf_("mixedpage: layout error: state at %08x, code at %08x\n", (u32)&state,
                (u32)hash_blocks);
        return 0;
    }
    for (u32 r = 0; r < ROUNDS; r++)
        hash_blocks(r);
    printf_("mixedpage: blocks %u hash %08x last %u\n", state.blocks, state.hash, state.last);
    return 0;
}
