/*
 * Benchmark "strings": string handling over generated strings, using the runtime's strlen,
 * strcmp and memcpy plus local routines: concatenation, naive and Horspool substring search,
 * in-place reversal, case mapping, integer <-> decimal conversion and insertion-sorting a set
 * of strings with strcmp. Prints counts and a hash of the results.
 */
#include "../lib/rt.h"

/* Start the writable data on a fresh page: ferrite drops every translated block of a page that is
 * written, so data sharing a page with hot code would measure retranslation, not compute (the
 * "mixedpage" benchmark measures that case on purpose). */
static u32 data_page_start __attribute__((aligned(4096), used)) = 1;

#define NSTR 512
#define MAXLEN 96
#define PASSES 100

static char strs[NSTR][MAXLEN];
static char big[NSTR * MAXLEN];
static const char *order[NSTR];
static u32 rng_state = 0x1b873593;

static u32 rng(void)
{
    u32 x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static u32 fnv(const char *s, u32 h)
{
    while (*s)
        h = (h ^ (u8)*s++) * 0x01000193;
    return h;
}

/* Random lowercase strings over a small alphabet (so searches and compares find matches). */
static void gen(void)
{
    for (int i = 0; i < NSTR; i++) {
        u32 len = 8 + rng() % (MAXLEN - 24);
        for (u32 k = 0; k < len; k++)
            strs[i][k] = "abcdeabcab"[rng() % 10];
        strs[i][len] = 0;
    }
}

static char *naive_search(const char *hay, const char *needle)
{
    u32 n = strlen(needle);
    for (; *hay; hay++) {
        u32 k = 0;
        while (k < n && hay[k] == needle[k])
            k++;
        if (k == n)
            return (char *)hay;
    }
    return 0;
}

/* Boyer-Moore-Horspool; counts every occurrence. */
static u32 horspool_count(const char *hay, u32 hn, const char *needle, u32 n)
{
    u32 skip[256];
    for (int c = 0; c < 256; c++)
        skip[c] = n;
    for (u32 k = 0; k + 1 < n; k++)
        skip[(u8)needle[k]] = n - 1 - k;
    u32 count = 0;
    for (u32 pos = 0; pos + n <= hn;) {
        u32 k = n;
        while (k && hay[pos + k - 1] == needle[k - 1])
            k--;
        if (!k)
            count++;
        pos += skip[(u8)hay[pos + n - 1]];
    }
    return count;
}

static void reverse(char *s)
{
    u32 n = strlen(s);
    for (u32 i = 0, j = n ? n - 1 : 0; i < j; i++, j--) {
        char t = s[i];
        s[i] = s[j];
        s[j] = t;
    }
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s -= 32;
}

static u32 utoa(u32 v, char *out)
{
    char d[12];
    u32 n = 0, k = 0;
    do d[n++] = '0' + v % 10; while (v /= 10);
    while (n)
        out[k++] = d[--n];
    out[k] = 0;
    return k;
}

static u32 atou(const char *s)
{
    u32 v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    return v;
}

int main(void)
{
    u32 h = 0x811c9dc5, found = 0, occ = 0, total_len = 0, conv_bad = 0;
    for (int p = 0; p < PASSES; p++) {
        gen();
        /* Concatenate everything into one big string with memcpy. */
        u32 bn = 0;
        for (int i = 0; i < NSTR; i++) {
            u32 l = strlen(strs[i]);
            memcpy(big + bn, strs[i], l);
            bn += l;
            total_len += l;
        }
        big[bn] = 0;
        /* Search: short needles taken from the strings themselves and a random one. */
        for (int i = 0; i < 32; i++) {
            char needle[8];
            const char *src = strs[rng() % NSTR];
            memcpy(needle, src + 2, 5);
            needle[5] = 0;
            if (i & 1)
                needle[4] = 'e';
            if (naive_search(big + (rng() % 4096), needle))
                found++;
            occ += horspool_count(big, bn, needle, 5);
        }
        /* Sort the strings by pointer with strcmp (insertion sort). */
        for (int i = 0; i < NSTR; i++) {
            const char *v = strs[i];
            int j = i - 1;
            while (j >= 0 && strcmp(order[j], v) > 0) {
                order[j + 1] = order[j];
                j--;
            }
            order[j + 1] = v;
        }
        for (int i = 0; i < NSTR; i += 16)
            h = fnv(order[i], h);
        /* Reverse and upper-case each string, hash it. */
        for (int i = 0; i < NSTR; i++) {
            reverse(strs[i]);
            if (i & 1)
                upper(strs[i]);
            h = fnv(strs[i], h);
        }
        /* Number round trips. */
        for (int i = 0; i < 2048; i++) {
            char buf[12];
            u32 v = rng() >> (i & 31);
            utoa(v, buf);
            conv_bad += atou(buf) != v;
            h = fnv(buf, h);
        }
    }
    printf_("strings: total %u found %u occurrences %u convbad %u hash %08x\n", total_len, found,
            occ, conv_bad, h);
    return 0;
}
