/*
 * Benchmark "sort": sorts pseudo-random u32 arrays with quicksort (median of three, insertion
 * sort for short ranges) and heapsort, checks both results are sorted and equal, and prints a
 * checksum of sampled elements. Branchy, load/store-heavy integer code.
 */
#include "../lib/rt.h"

/* Start the writable data on a fresh page: ferrite drops every translated block of a page that is
 * written, so data sharing a page with hot code would measure retranslation, not compute (the
 * "mixedpage" benchmark measures that case on purpose). */
static u32 data_page_start __attribute__((aligned(4096), used)) = 1;

#define N 20000
#define PASSES 100

static u32 src[N], qa[N], ha[N];
static u32 rng_state = 0xdeadbeef;

static u32 rng(void)
{
    u32 x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static void insertion(u32 *a, int lo, int hi)
{
    for (int i = lo + 1; i <= hi; i++) {
        u32 v = a[i];
        int j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static inline void swap(u32 *a, int i, int j)
{
    u32 t = a[i];
    a[i] = a[j];
    a[j] = t;
}

static void quicksort(u32 *a, int lo, int hi)
{
    while (hi - lo > 16) {
        int mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo])
            swap(a, mid, lo);
        if (a[hi] < a[lo])
            swap(a, hi, lo);
        if (a[hi] < a[mid])
            swap(a, hi, mid);
        u32 pivot = a[mid];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j)
                swap(a, i++, j--);
        }
        /* Recurse into the smaller half, loop on the larger: bounded stack. */
        if (j - lo < hi - i) {
            quicksort(a, lo, j);
            lo = i;
        } else {
            quicksort(a, i, hi);
            hi = j;
        }
    }
    insertion(a, lo, hi);
}

static void sift(u32 *a, int root, int n)
{
    u32 v = a[root];
    for (;;) {
        int c = 2 * root + 1;
        if (c >= n)
            break;
        if (c + 1 < n && a[c + 1] > a[c])
            c++;
        if (a[c] <= v)
            break;
        a[root] = a[c];
        root = c;
    }
    a[root] = v;
}

static void heapsort(u32 *a, int n)
{
    for (int i = n / 2 - 1; i >= 0; i--)
        sift(a, i, n);
    for (int end = n - 1; end > 0; end--) {
        swap(a, 0, end);
        sift(a, 0, end);
    }
}

int main(void)
{
    u32 sum = 0, bad = 0;
    for (int p = 0; p < PASSES; p++) {
        /* Alternate full-range values and many duplicates (small range). */
        u32 mask = (p & 1) ? 0x3ff : 0xffffffff;
        for (int i = 0; i < N; i++)
            src[i] = rng() & mask;
        memcpy(qa, src, sizeof src);
        memcpy(ha, src, sizeof src);
        quicksort(qa, 0, N - 1);
        heapsort(ha, N);
        for (int i = 0; i < N; i++) {
            if (qa[i] != ha[i] || (i && qa[i - 1] > qa[i]))
                bad++;
            if ((i & 255) == 0)
                sum = sum * 33 + qa[i];
        }
    }
    printf_("sort: n %u passes %u checksum %08x bad %u\n", N, PASSES, sum, bad);
    return 0;
}
