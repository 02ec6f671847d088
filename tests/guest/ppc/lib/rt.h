/* A tiny runtime for bare-metal ppce500 programs: UART output, power-off, formatting. */
#ifndef RT_H
#define RT_H

typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;
typedef unsigned char u8;

void putc_(char c);
void puts_(const char *s);
void printf_(const char *fmt, ...);
void poweroff(void) __attribute__((noreturn));
void *memcpy(void *d, const void *s, unsigned long n);
void *memset(void *d, int c, unsigned long n);
unsigned long strlen(const char *s);
int strcmp(const char *a, const char *b);

/* Interrupt frame built by crt0: r1 at 0, r3 at 8, r4 at 12, lr 16, ctr 20, cr 24, xer 28,
 * r5..r31 from 32. */
struct frame {
    u32 back, pad, r3, r4, lr, ctr, cr, xer, r5_31[27];
};

/* Called for every interrupt with the vector slot number; return to resume at SRR0. */
void trap_handler(u32 vec, struct frame *f);

/* xorshift32, the test programs' pseudo-random numbers (the state must not be 0). */
static inline u32 xorshift32(u32 *state)
{
    u32 x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

#define mfspr(n) ({ u32 v_; __asm__ volatile("mfspr %0, " #n : "=r"(v_)); v_; })
#define mtspr(n, v) __asm__ volatile("mtspr " #n ", %0" : : "r"(v))

#endif
