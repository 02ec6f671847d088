/*
 * Benchmark "stencil": 2-D Jacobi relaxation of the Poisson equation on a 128 x 128 grid of
 * doubles (five-point stencil, fixed boundary, point sources), ping-ponging two grids. Streams
 * through 256 KiB of data per sweep: FP loads/stores and fadd/fmul. Prints the residual and a
 * checksum of the grid as bit patterns.
 */
#include "../lib/rt.h"

/* Start the writable data on a fresh page: ferrite drops every translated block of a page that is
 * written, so data sharing a page with hot code would measure retranslation, not compute (the
 * "mixedpage" benchmark measures that case on purpose). */
static u32 data_page_start __attribute__((aligned(4096), used)) = 1;

#define N 128
#define SWEEPS 150

static double g0[N][N], g1[N][N], f[N][N];

static u64 bits(double d)
{
    union { double d; u64 u; } v = { .d = d };
    return v.u;
}

static void sweep(double (*dst)[N], double (*src)[N], double h2)
{
    for (int i = 1; i < N - 1; i++)
        for (int j = 1; j < N - 1; j++)
            dst[i][j] = 0.25 * (src[i - 1][j] + src[i + 1][j] + src[i][j - 1] + src[i][j + 1] +
                                h2 * f[i][j]);
}

int main(void)
{
    double h = 1.0 / (N - 1);
    /* Boundary: u = 1 on the top edge, 0 elsewhere; sources and sinks inside. */
    for (int j = 0; j < N; j++)
        g0[0][j] = g1[0][j] = 1.0;
    f[N / 4][N / 4] = 1000.0;
    f[3 * N / 4][N / 2] = -500.0;
    f[N / 2][3 * N / 4] = 250.0;

    for (int s = 0; s < SWEEPS; s++) {
        sweep(g1, g0, h * h);
        sweep(g0, g1, h * h);
    }

    /* Residual of the last sweep and a checksum of the grid. */
    double res = 0, sum = 0;
    u64 hsh = 0;
    for (int i = 1; i < N - 1; i++)
        for (int j = 1; j < N - 1; j++) {
            double d = g0[i][j] - g1[i][j];
            res += d * d;
            sum += g0[i][j];
            hsh = (hsh ^ bits(g0[i][j])) * 0x100000001b3ull;
        }
    printf_("stencil: sweeps %u residual %016llx sum %016llx (%d e-6) centre %016llx grid %016llx\n",
            2 * SWEEPS, bits(res), bits(sum), (int)(sum * 1e6), bits(g0[N / 2][N / 2]), hsh);
    return 0;
}
