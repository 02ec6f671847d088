/*
 * Benchmark "matmul": integer matrix multiply, C = A x B on 32-bit integers (wrapping), in the
 * naive i-j-k order (strided loads of B) and the cache-friendly i-k-j order, plus a 16-bit
 * multiply-accumulate variant. Checks both orders agree and prints checksums.
 */
#include "../lib/rt.h"

/* Start the writable data on a fresh page: ferrite drops every translated block of a page that is
 * written, so data sharing a page with hot code would measure retranslation, not compute (the
 * "mixedpage" benchmark measures that case on purpose). */
static u32 data_page_start __attribute__((aligned(4096), used)) = 1;

#define N 96
#define REPS 100

static u32 A[N][N], B[N][N], C1[N][N], C2[N][N];
static short S[N][N], T[N][N];
static s32 R[N][N];
static u32 rng_state = 0x9e3779b9;

static u32 rng(void)
{
    u32 x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static void mul_ijk(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            u32 s = 0;
            for (int k = 0; k < N; k++)
                s += A[i][k] * B[k][j];
            C1[i][j] = s;
        }
}

static void mul_ikj(void)
{
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++)
            C2[i][j] = 0;
        for (int k = 0; k < N; k++) {
            u32 a = A[i][k];
            for (int j = 0; j < N; j++)
                C2[i][j] += a * B[k][j];
        }
    }
}

static void mul_short(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            s32 s = 0;
            for (int k = 0; k < N; k++)
                s += S[i][k] * T[j][k]; /* T is stored transposed */
            R[i][j] = s;
        }
}

int main(void)
{
    u32 sum1 = 0, sum2 = 0, bad = 0;
    for (int r = 0; r < REPS; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                A[i][j] = rng();
                B[i][j] = rng() >> (r & 7);
                S[i][j] = (short)rng();
                T[i][j] = (short)rng();
            }
        mul_ijk();
        mul_ikj();
        mul_short();
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                bad += C1[i][j] != C2[i][j];
                sum1 = (sum1 ^ C1[i][j]) * 0x01000193;
                sum2 = (sum2 ^ (u32)R[i][j]) * 0x01000193;
            }
    }
    printf_("matmul: n %u reps %u c %08x short %08x bad %u\n", N, REPS, sum1, sum2, bad);
    return 0;
}
