/* Runtime: 16550 at CCSR+0x4500 (mapped at 0xE0004500 by crt0), GPIO power-off. */
#include "rt.h"
#include <stdarg.h>

#ifdef RT_HOST
/* The same program built for the host (tests/bench/run.sh NATIVE=1): the console is stdout and
 * power-off is exit; the rest of this file is shared, so both builds run the same code. */
#include <unistd.h>

void putc_(char c)
{
    (void)!write(1, &c, 1);
}
#else
#define UART ((volatile u8 *)0xe0004500)
#define GPIO ((volatile u32 *)0xe00ff000)

void putc_(char c)
{
    if (c == '\n')
        putc_('\r');
    while (!(UART[5] & 0x20))
        ;
    UART[0] = c;
}
#endif

void puts_(const char *s)
{
    while (*s)
        putc_(*s++);
}

#ifdef RT_HOST
void poweroff(void)
{
    _exit(0);
}
#else
void poweroff(void)
{
    GPIO[0] = 0x80000000; /* pin 0 output */
    GPIO[2] = 0x80000000; /* high: power off */
    for (;;)
        ;
}
#endif

void *memcpy(void *d, const void *s, unsigned long n)
{
    u8 *dd = d;
    const u8 *ss = s;
    while (n--)
        *dd++ = *ss++;
    return d;
}

void *memset(void *d, int c, unsigned long n)
{
    u8 *dd = d;
    while (n--)
        *dd++ = c;
    return d;
}

unsigned long strlen(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (u8)*a - (u8)*b;
}

static void put_uint(u64 v, int base, int width, char pad)
{
    char buf[24];
    int n = 0;
    do {
        u32 d = v % base;
        buf[n++] = d < 10 ? '0' + d : 'a' + d - 10;
        v /= base;
    } while (v);
    while (n < width--)
        putc_(pad);
    while (n)
        putc_(buf[--n]);
}

/* %d %u %x %s %c %%, with width and '0' padding, and %llx / %llu / %lld. */
void printf_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            putc_(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, ll = 0;
        if (*fmt == '0')
            pad = '0', fmt++;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l')
            ll++, fmt++;
        switch (*fmt) {
        case 'd': {
            long long v = ll >= 2 ? va_arg(ap, long long) : va_arg(ap, int);
            if (v < 0) {
                putc_('-');
                v = -v;
            }
            put_uint(v, 10, width, pad);
            break;
        }
        case 'u':
            put_uint(ll >= 2 ? va_arg(ap, u64) : va_arg(ap, u32), 10, width, pad);
            break;
        case 'x':
            put_uint(ll >= 2 ? va_arg(ap, u64) : va_arg(ap, u32), 16, width, pad);
            break;
        case 's':
            puts_(va_arg(ap, const char *));
            break;
        case 'c':
            putc_(va_arg(ap, int));
            break;
        default:
            putc_(*fmt);
        }
    }
    va_end(ap);
}

#ifndef RT_HOST
/* Default: report the interrupt and power off. Programs that expect interrupts define their
 * own trap_handler. */
__attribute__((weak)) void trap_handler(u32 vec, struct frame *f)
{
    printf_("unexpected interrupt %u at %08x (ESR %08x DEAR %08x)\n", vec, mfspr(26), mfspr(62), mfspr(61));
    (void)f;
    poweroff();
}
#endif
