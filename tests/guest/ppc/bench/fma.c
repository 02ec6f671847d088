/*
 * Benchmark "fma": chains of fused multiply-adds in single and double precision, written with
 * inline assembly so the exact instructions (fmadd, fmsub, fnmadd, fnmsub and their single
 * forms) are used:
 *  - four independent logistic-map chains x <- r*x*(1-x) in double and in single, chaotic, so
 *    any rounding difference is amplified into a different result;
 *  - Horner evaluation of a degree-9 polynomial (fmadd) and its derivative (fmsub/fnmadd) over
 *    a sweep of points;
 *  - dot products with four fmadds accumulators over arrays, in single and double.
 * Prints every result as a bit pattern.
 */
#include "../lib/rt.h"

/* Start the writable data on a fresh page: ferrite drops every translated block of a page that is
 * written, so data sharing a page with hot code would measure retranslation, not compute (the
 * "mixedpage" benchmark measures that case on purpose). */
static u32 data_page_start __attribute__((aligned(4096), used)) = 1;

#define LOGISTIC_STEPS 1000000
#define HORNER_POINTS 200000
#define DOT_LEN 1024
#define DOT_REPS 300

static inline double fmadd(double a, double c, double b)
{
    double r;
    __asm__("fmadd %0,%1,%2,%3" : "=f"(r) : "f"(a), "f"(c), "f"(b));
    return r;
}
static inline double fmsub(double a, double c, double b)
{
    double r;
    __asm__("fmsub %0,%1,%2,%3" : "=f"(r) : "f"(a), "f"(c), "f"(b));
    return r;
}
static inline double fnmadd(double a, double c, double b)
{
    double r;
    __asm__("fnmadd %0,%1,%2,%3" : "=f"(r) : "f"(a), "f"(c), "f"(b));
    return r;
}
static inline double fnmsub(double a, double c, double b)
{
    double r;
    __asm__("fnmsub %0,%1,%2,%3" : "=f"(r) : "f"(a), "f"(c), "f"(b));
    return r;
}
static inline float fmadds(float a, float c, float b)
{
    float r;
    __asm__("fmadds %0,%1,%2,%3" : "=f"(r) : "f"(a), "f"(c), "f"(b));
    return r;
}
static inline float fmsubs(float a, float c, float b)
{
    float r;
    __asm__("fmsubs %0,%1,%2,%3" : "=f"(r) : "f"(a), "f"(c), "f"(b));
    return r;
}
static inline float fnmsubs(float a, float c, float b)
{
    float r;
    __asm__("fnmsubs %0,%1,%2,%3" : "=f"(r) : "f"(a), "f"(c), "f"(b));
    return r;
}

static u64 dbits(double d)
{
    union { double d; u64 u; } v = { .d = d };
    return v.u;
}

static u32 sbits(float f)
{
    union { float f; u32 u; } v = { .f = f };
    return v.u;
}

static double da[DOT_LEN], db[DOT_LEN];
static float sa[DOT_LEN], sb[DOT_LEN];

int main(void)
{
    /* Logistic map: t = r*x; x' = t - t*x = fnmsub(t, x, t). */
    double x0 = 0.1, x1 = 0.2, x2 = 0.3, x3 = 0.4, r = 3.99;
    float y0 = 0.1f, y1 = 0.2f, y2 = 0.3f, y3 = 0.4f, rs = 3.99f;
    for (int i = 0; i < LOGISTIC_STEPS; i++) {
        double t0 = r * x0, t1 = r * x1, t2 = r * x2, t3 = r * x3;
        x0 = fnmsub(t0, x0, t0);
        x1 = fnmsub(t1, x1, t1);
        x2 = fnmsub(t2, x2, t2);
        x3 = fnmsub(t3, x3, t3);
        float u0 = rs * y0, u1 = rs * y1, u2 = rs * y2, u3 = rs * y3;
        y0 = fnmsubs(u0, y0, u0);
        y1 = fnmsubs(u1, y1, u1);
        y2 = fnmsubs(u2, y2, u2);
        y3 = fnmsubs(u3, y3, u3);
    }
    printf_("fma: logistic d %016llx %016llx %016llx %016llx\n", dbits(x0), dbits(x1), dbits(x2),
            dbits(x3));
    printf_("fma: logistic s %08x %08x %08x %08x\n", sbits(y0), sbits(y1), sbits(y2), sbits(y3));

    /* Horner: p(x) = sum c_k x^k (alternating, sin-like), p'(x) via a second chain. */
    static const double c[10] = { 0.0, 1.0, 0.0, -1.0 / 6, 0.0, 1.0 / 120, 0.0, -1.0 / 5040, 0.0,
                                  1.0 / 362880 };
    double psum = 0, dsum = 0, q = 0;
    float fsum = 0;
    for (int i = 0; i < HORNER_POINTS; i++) {
        double x = -3.0 + 6.0 * i / HORNER_POINTS;
        double p = c[9], d = 0;
        for (int k = 8; k >= 0; k--) {
            d = fmadd(d, x, p);
            p = fmadd(p, x, c[k]);
        }
        psum = fmadd(p, p, psum);
        dsum = fnmadd(d, 0.5, dsum);             /* -(d/2 + dsum): alternating sum */
        q = fmsub(q, 0.5, d);                     /* q/2 - d */
        fsum = fmsubs((float)p, (float)d, fsum); /* p*d - fsum, rounded once to single */
    }
    printf_("fma: horner %016llx %016llx %016llx %08x\n", dbits(psum), dbits(dsum), dbits(q),
            sbits(fsum));

    /* Dot products, four accumulators each. */
    for (int i = 0; i < DOT_LEN; i++) {
        da[i] = 1.0 / (i + 1);
        db[i] = (i & 1) ? -0.75 : 1.25 + i * 1e-3;
        sa[i] = (float)da[i];
        sb[i] = (float)db[i];
    }
    double acc = 0;
    float sacc = 0;
    for (int rep = 0; rep < DOT_REPS; rep++) {
        double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        float b0 = 0, b1 = 0, b2 = 0, b3 = 0;
        for (int i = 0; i < DOT_LEN; i += 4) {
            a0 = fmadd(da[i], db[i], a0);
            a1 = fmadd(da[i + 1], db[i + 1], a1);
            a2 = fmadd(da[i + 2], db[i + 2], a2);
            a3 = fmadd(da[i + 3], db[i + 3], a3);
            b0 = fmadds(sa[i], sb[i], b0);
            b1 = fmadds(sa[i + 1], sb[i + 1], b1);
            b2 = fmadds(sa[i + 2], sb[i + 2], b2);
            b3 = fmadds(sa[i + 3], sb[i + 3], b3);
        }
        acc = fmadd(acc, 0.5, (a0 + a1) + (a2 + a3));
        sacc = fmadds(sacc, 0.5f, (b0 + b1) + (b2 + b3));
        da[rep % DOT_LEN] += 1e-7; /* keep each repetition different */
    }
    printf_("fma: dot %016llx %08x\n", dbits(acc), sbits(sacc));
    return 0;
}
