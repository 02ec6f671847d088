/*
 * Benchmark "nbody": the classic five-body (Sun and the giant planets) simulation in double
 * precision with a symplectic Euler step. The e500mc has no fsqrt, so 1/sqrt(d2) is computed
 * by Newton iteration from a bit-pattern estimate (fmul/fadd/fsub only; GCC contracts some of
 * it into fmadd/fnmsub). Prints the energy before and after, as bit patterns and as scaled
 * integers.
 */
#include "../lib/rt.h"

/* Start the writable data on a fresh page: ferrite drops every translated block of a page that is
 * written, so data sharing a page with hot code would measure retranslation, not compute (the
 * "mixedpage" benchmark measures that case on purpose). */
static u32 data_page_start __attribute__((aligned(4096), used)) = 1;

#define STEPS 80000
#define NB 5

#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24

struct body {
    double x, y, z, vx, vy, vz, mass;
};

static struct body bodies[NB] = {
    { 0, 0, 0, 0, 0, 0, SOLAR_MASS },
    { 4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
      1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
      -6.90460016972063023e-05 * DAYS_PER_YEAR, 9.54791938424326609e-04 * SOLAR_MASS },
    { 8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
      -2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
      2.30417297573763929e-05 * DAYS_PER_YEAR, 2.85885980666130812e-04 * SOLAR_MASS },
    { 1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
      2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
      -2.96589568540237556e-05 * DAYS_PER_YEAR, 4.36624404335156298e-05 * SOLAR_MASS },
    { 1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
      2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
      -9.51592254519715870e-05 * DAYS_PER_YEAR, 5.15138902046611451e-05 * SOLAR_MASS },
};

static u64 bits(double d)
{
    union { double d; u64 u; } v = { .d = d };
    return v.u;
}

static double from_bits(u64 u)
{
    union { double d; u64 u; } v = { .u = u };
    return v.d;
}

/* 1/sqrt(x) for x > 0: magic-constant estimate, then five Newton steps. */
static double rsqrt(double x)
{
    double y = from_bits(0x5fe6eb50c7b537a9ull - (bits(x) >> 1));
    double hx = 0.5 * x;
    for (int i = 0; i < 5; i++)
        y = y * (1.5 - hx * y * y);
    return y;
}

static void offset_momentum(void)
{
    double px = 0, py = 0, pz = 0;
    for (int i = 0; i < NB; i++) {
        px += bodies[i].vx * bodies[i].mass;
        py += bodies[i].vy * bodies[i].mass;
        pz += bodies[i].vz * bodies[i].mass;
    }
    bodies[0].vx = -px / SOLAR_MASS;
    bodies[0].vy = -py / SOLAR_MASS;
    bodies[0].vz = -pz / SOLAR_MASS;
}

static double energy(void)
{
    double e = 0;
    for (int i = 0; i < NB; i++) {
        struct body *b = &bodies[i];
        e += 0.5 * b->mass * (b->vx * b->vx + b->vy * b->vy + b->vz * b->vz);
        for (int j = i + 1; j < NB; j++) {
            struct body *c = &bodies[j];
            double dx = b->x - c->x, dy = b->y - c->y, dz = b->z - c->z;
            e -= b->mass * c->mass * rsqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

static void advance(double dt)
{
    for (int i = 0; i < NB; i++) {
        struct body *b = &bodies[i];
        for (int j = i + 1; j < NB; j++) {
            struct body *c = &bodies[j];
            double dx = b->x - c->x, dy = b->y - c->y, dz = b->z - c->z;
            double r = rsqrt(dx * dx + dy * dy + dz * dz);
            double mag = dt * r * r * r;
            b->vx -= dx * c->mass * mag;
            b->vy -= dy * c->mass * mag;
            b->vz -= dz * c->mass * mag;
            c->vx += dx * b->mass * mag;
            c->vy += dy * b->mass * mag;
            c->vz += dz * b->mass * mag;
        }
    }
    for (int i = 0; i < NB; i++) {
        bodies[i].x += dt * bodies[i].vx;
        bodies[i].y += dt * bodies[i].vy;
        bodies[i].z += dt * bodies[i].vz;
    }
}

/* Prints e * 1e9 as a signed integer (fctiwz via a conversion to int). */
static void show(const char *what, double e)
{
    printf_("nbody: %s %016llx (%d e-9)\n", what, bits(e), (int)(e * 1e9));
}

int main(void)
{
    offset_momentum();
    show("energy before", energy());
    for (int i = 0; i < STEPS; i++)
        advance(0.01);
    show("energy after ", energy());
    u64 h = 0;
    for (int i = 0; i < NB; i++)
        h = h * 31 + bits(bodies[i].x) + bits(bodies[i].vz);
    printf_("nbody: steps %u state %016llx\n", STEPS, h);
    return 0;
}
