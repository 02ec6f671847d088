/*
 * Benchmark "hash": integer hashing over a 64 KiB buffer, many rounds.
 * Each round runs three hashes over the buffer: byte-wise FNV-1a (32-bit), an xxHash32-style
 * word hash (four lanes of multiply/rotate), and a 64-bit FNV-1a over words (64-bit multiplies
 * done in 32-bit registers). The buffer is perturbed between rounds so no round repeats.
 * Prints the combined checksums.
 */
#include "../lib/rt.h"

/* Start the writable data on a fresh page: ferrite drops every translated block of a page that is
 * written, so data sharing a page with hot code would measure retranslation, not compute (the
 * "mixedpage" benchmark measures that case on purpose). */
static u32 data_page_start __attribute__((aligned(4096), used)) = 1;

/* HASH_ONLY=1, 2 or 3 keeps only the first, second or third hash of each round, to time them
 * apart (tests/bench/hash_parts.sh); 0, the default, runs all three. */
#ifndef HASH_ONLY
#define HASH_ONLY 0
#endif
#define RUNS_HASH(k) (HASH_ONLY == 0 || HASH_ONLY == (k))

#define BUF_WORDS (16 * 1024) /* 64 KiB */
#define ROUNDS 4000

static u32 buf[BUF_WORDS];

static u32 rng_state = 0x12345678;

/* xorshift32: cheap, deterministic pseudo-random words. */
static u32 rng(void)
{
    u32 x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static u32 fnv1a32(const u8 *p, u32 n)
{
    u32 h = 0x811c9dc5;
    for (u32 i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x01000193;
    }
    return h;
}

static inline u32 rotl(u32 x, int r)
{
    return (x << r) | (x >> (32 - r));
}

#define P1 0x9E3779B1u
#define P2 0x85EBCA77u
#define P3 0xC2B2AE3Du

/* An xxHash32-shaped hash over whole words (not byte-compatible with xxHash); n is a multiple
 * of 4. */
static u32 xxh_words(const u32 *p, u32 n, u32 seed)
{
    u32 v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
    for (u32 i = 0; i < n; i += 4) {
        v1 = rotl(v1 + p[i] * P2, 13) * P1;
        v2 = rotl(v2 + p[i + 1] * P2, 13) * P1;
        v3 = rotl(v3 + p[i + 2] * P2, 13) * P1;
        v4 = rotl(v4 + p[i + 3] * P2, 13) * P1;
    }
    u32 h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18) + n * 4;
    h ^= h >> 15;
    h *= P2;
    h ^= h >> 13;
    h *= P3;
    h ^= h >> 16;
    return h;
}

static u64 fnv1a64_words(const u32 *p, u32 n)
{
    u64 h = 0xcbf29ce484222325ull;
    for (u32 i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int main(void)
{
    for (u32 i = 0; i < BUF_WORDS; i++)
        buf[i] = rng();

    u32 a = 0, b = 0;
    u64 c = 0;
    for (u32 r = 0; r < ROUNDS; r++) {
        if (RUNS_HASH(1))
            a = a * 31 + fnv1a32((const u8 *)buf, sizeof buf);
        if (RUNS_HASH(2))
            b ^= xxh_words(buf, BUF_WORDS, r);
        if (RUNS_HASH(3))
            c += fnv1a64_words(buf, BUF_WORDS);
        /* Perturb 64 words so the next round hashes different data. */
        for (u32 k = 0; k < 64; k++)
            buf[rng() % BUF_WORDS] ^= rng();
    }
    printf_("hash: rounds %u fnv32 %08x xxh %08x fnv64 %016llx\n", ROUNDS, a, b, c);
    return 0;
}
