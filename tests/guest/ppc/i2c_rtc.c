/*
 * The I2C controller at CCSR+0x3000 and the DS1338 real-time clock at I2C address 0x68,
 * driven by polling as a boot loader would: status after each byte, the time registers read
 * with a repeated start, the time set and read back, the control register and RAM, and an
 * address with no device. The time itself depends on the host, so only facts about it are
 * printed (valid BCD, plausible ranges, what was set).
 *
 * Left out because QEMU 7.2 (the reference output) departs from the chip: the day of the week
 * after a set (it counts it from the date before the set, so it reads differently each day)
 * and 12-hour mode (it forgets the mode bit and reads hours back in 24-hour form).
 */
#include "lib/rt.h"

#define I2C 0xe0003000u
#define ADR (I2C + 0x00)
#define CR (I2C + 0x08)
#define SR (I2C + 0x0c)
#define DR (I2C + 0x10)

#define CR_MEN 0x80
#define CR_MSTA 0x20
#define CR_MTX 0x10
#define CR_TXAK 0x08
#define CR_RSTA 0x04
#define SR_MCF 0x80
#define SR_MBB 0x20
#define SR_MIF 0x02
#define SR_RXAK 0x01

#define RTC 0x68

void trap_handler(u32 vec, struct frame *f)
{
    printf_("unexpected interrupt %u ESR %08x DEAR %08x\n", vec, mfspr(62), mfspr(61));
    poweroff();
}

static u32 rd(u32 a)
{
    u32 v = *(volatile u8 *)a;
    __asm__ volatile("mbar" ::: "memory");
    return v;
}

static void wr(u32 a, u32 v)
{
    *(volatile u8 *)a = v;
    __asm__ volatile("mbar" ::: "memory");
}

/* Waits for the byte in flight (MIF), clears it and returns the status it had. */
static u32 done(void)
{
    for (int i = 0; i < 100000; i++) {
        u32 s = rd(SR);
        if (s & SR_MIF) {
            wr(SR, 0);
            return s;
        }
    }
    puts_("timeout waiting for MIF\n");
    poweroff();
}

/* Writes `n` bytes to RTC register `reg` onwards. */
static void rtc_write(u32 reg, const u8 *b, int n)
{
    wr(CR, CR_MEN | CR_MSTA | CR_MTX);
    wr(DR, RTC << 1);
    done();
    wr(DR, reg);
    done();
    for (int i = 0; i < n; i++) {
        wr(DR, b[i]);
        done();
    }
    wr(CR, CR_MEN);
}

/* Reads `n` bytes from RTC register `reg` onwards: pointer write, repeated start, dummy read. */
static void rtc_read(u32 reg, u8 *b, int n)
{
    wr(CR, CR_MEN | CR_MSTA | CR_MTX);
    wr(DR, RTC << 1);
    done();
    wr(DR, reg);
    done();
    wr(CR, CR_MEN | CR_MSTA | CR_MTX | CR_RSTA);
    wr(DR, (RTC << 1) | 1);
    done();
    wr(CR, CR_MEN | CR_MSTA | (n == 1 ? CR_TXAK : 0));
    rd(DR);
    for (int i = 0; i < n; i++) {
        done();
        if (i == n - 1)
            wr(CR, CR_MEN | CR_MSTA | CR_MTX); /* no clock after the last byte */
        b[i] = rd(DR);
    }
    wr(CR, CR_MEN);
}

static int bcd_ok(u32 v, u32 max)
{
    return (v & 0xf) < 10 && (v >> 4) * 10 + (v & 0xf) <= max;
}

static const char *yes(int c)
{
    return c ? "yes" : "no";
}

int main(void)
{
    puts_("i2c_rtc: Freescale I2C controller and DS1338 RTC\n");
    printf_("status after reset %02x, control %02x\n", rd(SR), rd(CR));
    wr(ADR, 0xff);
    printf_("own address ff reads %02x\n", rd(ADR));

    wr(CR, CR_MEN | CR_MSTA | CR_MTX);
    printf_("master: bus busy %s\n", yes(rd(SR) & SR_MBB));
    wr(DR, RTC << 1);
    u32 s = done();
    printf_("address 68 write: complete %s, acknowledged %s\n", yes(s & SR_MCF), yes(!(s & SR_RXAK)));
    wr(CR, CR_MEN);
    printf_("stop: bus busy %s\n", yes(rd(SR) & SR_MBB));

    u8 t[7];
    rtc_read(0, t, 7);
    int valid = bcd_ok(t[0], 59) && bcd_ok(t[1], 59) && bcd_ok(t[2], 23) && t[3] >= 1 && t[3] <= 7 &&
                bcd_ok(t[4], 31) && t[4] && bcd_ok(t[5], 12) && t[5] && bcd_ok(t[6], 99);
    printf_("time registers are a valid BCD date: %s; year 2026 or later: %s\n", yes(valid), yes(t[6] >= 0x26));

    /* Monday 2031-02-03 04:05:06, 24-hour mode. */
    static const u8 set[7] = {0x06, 0x05, 0x04, 2, 0x03, 0x02, 0x31};
    rtc_write(0, set, 7);
    rtc_read(0, t, 7);
    printf_("after setting 2031-02-03 04:05:06: %02x-%02x-%02x %02x:%02x, seconds 06 or 07: %s\n", t[6], t[5], t[4],
            t[2], t[1], yes(t[0] == 0x06 || t[0] == 0x07));

    static const u8 ctl_ram[3] = {0xff, 0xa5, 0x5a};
    rtc_write(7, ctl_ram, 3);
    rtc_read(7, t, 3);
    printf_("control ff reads %02x; RAM a5 5a reads %02x %02x\n", t[0], t[1], t[2]);

    wr(CR, CR_MEN | CR_MSTA | CR_MTX);
    wr(DR, 0x50 << 1);
    for (int i = 0; i < 1000; i++)
        if (rd(SR) & SR_RXAK)
            break;
    printf_("address 50 (no device): acknowledged %s\n", yes(!(rd(SR) & SR_RXAK)));
    wr(CR, CR_MEN);
    wr(SR, 0);
    wr(CR, 0);
    printf_("disabled: control %02x status %02x own address %02x\n", rd(CR), rd(SR), rd(ADR));
    poweroff();
}
