//! FPSCR bits and the rules of writing it (QEMU `ppc_store_fpscr`).

/// Exception summary (sticky; QEMU sets it on every exception event).
pub const FX: u32 = 0x8000_0000;
/// Enabled exception summary (derived).
pub const FEX: u32 = 0x4000_0000;
/// Invalid operation summary (derived from the VX* bits).
pub const VX: u32 = 0x2000_0000;
/// Overflow.
pub const OX: u32 = 0x1000_0000;
/// Underflow.
pub const UX: u32 = 0x0800_0000;
/// Zero divide.
pub const ZX: u32 = 0x0400_0000;
/// Inexact.
pub const XX: u32 = 0x0200_0000;
/// Invalid: signalling NaN.
pub const VXSNAN: u32 = 0x0100_0000;
/// Invalid: infinity - infinity.
pub const VXISI: u32 = 0x0080_0000;
/// Invalid: infinity / infinity.
pub const VXIDI: u32 = 0x0040_0000;
/// Invalid: zero / zero.
pub const VXZDZ: u32 = 0x0020_0000;
/// Invalid: infinity × zero.
pub const VXIMZ: u32 = 0x0010_0000;
/// Invalid compare.
pub const VXVC: u32 = 0x0008_0000;
/// Fraction rounded.
pub const FR: u32 = 0x0004_0000;
/// Fraction inexact.
pub const FI: u32 = 0x0002_0000;
/// Result class descriptor and FPCC (C FL FG FE FU).
pub const FPRF: u32 = 0x0001_f000;
/// The FPCC part of FPRF.
pub const FPCC: u32 = 0x0000_f000;
/// Reserved bit 52: always reads 0.
pub const RESERVED: u32 = 0x0000_0800;
/// Invalid: software request.
pub const VXSOFT: u32 = 0x0000_0400;
/// Invalid: square root of a negative number.
pub const VXSQRT: u32 = 0x0000_0200;
/// Invalid: integer convert.
pub const VXCVI: u32 = 0x0000_0100;
/// Enable: invalid.
pub const VE: u32 = 0x80;
/// Enable: overflow.
pub const OE: u32 = 0x40;
/// Enable: underflow.
pub const UE: u32 = 0x20;
/// Enable: zero divide.
pub const ZE: u32 = 0x10;
/// Enable: inexact.
pub const XE: u32 = 0x08;
/// Non-IEEE mode (inert, as in QEMU).
pub const NI: u32 = 0x04;
/// Rounding mode field.
pub const RN: u32 = 0x03;

/// Every invalid-operation cause.
pub const VX_ALL: u32 = VXSNAN | VXISI | VXIDI | VXZDZ | VXIMZ | VXVC | VXSOFT | VXSQRT | VXCVI;
/// Exception bits mcrfs clears in the nibble it copies.
pub const EX_CLEAR: u32 = FX | OX | UX | ZX | XX | VX_ALL;

/// FPRF of a "quiet NaN / unordered" result: C | FU.
pub const FPRF_QNAN: u32 = 0x0001_1000;

/// The value `v` stored as the FPSCR: VX and FEX recomputed, the reserved bit dropped, FX
/// kept as given.
pub fn store(v: u32) -> u32 {
    let mut v = v & !(VX | FEX | RESERVED);
    if v & VX_ALL != 0 {
        v |= VX;
    }
    if (v >> 25) & (v >> 3) & 0x1f != 0 {
        v |= FEX;
    }
    v
}

/// The FPRF bits for a result, classified as a double. A signalling NaN gets 0 (QEMU's
/// `set_fprf_from_class`: "flags are undefined"); arithmetic quiets NaNs, so only a result
/// whose exponent wrapped after an OE/UE rebias has that pattern.
pub fn fprf(x: u64) -> u32 {
    use super::soft::{class, sign, Class};
    let neg = sign(x);
    let subnormal = (x >> 52) & 0x7ff == 0;
    let code = match class(x) {
        Class::QNan => 0x11,
        Class::SNan => 0,
        Class::Inf => {
            if neg {
                0x09
            } else {
                0x05
            }
        }
        Class::Zero => {
            if neg {
                0x12
            } else {
                0x02
            }
        }
        Class::Finite if subnormal => {
            if neg {
                0x18
            } else {
                0x14
            }
        }
        Class::Finite => {
            if neg {
                0x08
            } else {
                0x04
            }
        }
    };
    code << 12
}

/// The enabled exception a write of the FPSCR leaves pending (QEMU
/// `helper_fpscr_check_status`): whether the program interrupt must be taken.
pub fn enabled_exception(fpscr: u32) -> bool {
    (fpscr & OX != 0 && fpscr & OE != 0)
        || (fpscr & UX != 0 && fpscr & UE != 0)
        || (fpscr & XX != 0 && fpscr & XE != 0)
        || (fpscr & ZX != 0 && fpscr & ZE != 0)
        || (fpscr & VE != 0 && fpscr & VX_ALL != 0)
}
