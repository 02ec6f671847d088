//! IR value types.

use std::fmt;

/// The type of an IR value. Integer values narrower than 64 bits are kept zero-extended in
/// the interpreter's 64-bit slots; floats are kept as their IEEE bit patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Type {
    /// No value (stores, terminators, helpers without a result).
    Void,
    /// 8-bit integer; also the type of booleans (0 or 1).
    I8,
    /// 16-bit integer.
    I16,
    /// 32-bit integer.
    I32,
    /// 64-bit integer; also the type of guest addresses and PCs.
    I64,
    /// IEEE binary32.
    F32,
    /// IEEE binary64.
    F64,
}

impl Type {
    /// Size in bytes (0 for `Void`).
    pub const fn bytes(self) -> u32 {
        match self {
            Type::Void => 0,
            Type::I8 => 1,
            Type::I16 => 2,
            Type::I32 | Type::F32 => 4,
            Type::I64 | Type::F64 => 8,
        }
    }

    /// Size in bits.
    pub const fn bits(self) -> u32 {
        self.bytes() * 8
    }

    /// Whether this is an integer type.
    pub const fn is_int(self) -> bool {
        matches!(self, Type::I8 | Type::I16 | Type::I32 | Type::I64)
    }

    /// Whether this is a floating-point type.
    pub const fn is_float(self) -> bool {
        matches!(self, Type::F32 | Type::F64)
    }

    /// Mask of the value bits in a 64-bit slot.
    pub const fn mask(self) -> u64 {
        match self.bits() {
            0 => 0,
            64 => u64::MAX,
            b => (1u64 << b) - 1,
        }
    }

    /// The integer type of the same width (for bitcasts).
    pub const fn int_of_same_width(self) -> Type {
        match self {
            Type::F32 => Type::I32,
            Type::F64 => Type::I64,
            t => t,
        }
    }

    /// Text name used by the printer.
    pub const fn name(self) -> &'static str {
        match self {
            Type::Void => "void",
            Type::I8 => "i8",
            Type::I16 => "i16",
            Type::I32 => "i32",
            Type::I64 => "i64",
            Type::F32 => "f32",
            Type::F64 => "f64",
        }
    }

    /// Parses a printer name.
    pub fn from_name(s: &str) -> Option<Type> {
        Some(match s {
            "void" => Type::Void,
            "i8" => Type::I8,
            "i16" => Type::I16,
            "i32" => Type::I32,
            "i64" => Type::I64,
            "f32" => Type::F32,
            "f64" => Type::F64,
            _ => return None,
        })
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
