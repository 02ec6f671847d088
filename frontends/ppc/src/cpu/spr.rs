//! The special-purpose registers of the e500mc: one declarative table saying, for each SPR
//! number, its name, who may read and write it, and where its value lives (an IR register the
//! translator accesses inline, or CPU state reached through the `mfspr`/`mtspr` helpers).

use super::regs;
use ferrite_ir::Reg;

/// Who may access an SPR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priv {
    /// Not accessible this way (write-only or read-only register).
    None,
    /// User and supervisor.
    User,
    /// Supervisor only.
    Super,
}

/// Where an SPR's value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Home {
    /// An IR register (accessed inline).
    Reg(Reg),
    /// The whole XER (assembled from its IR fields inline).
    Xer,
    /// CPU state behind the `mfspr`/`mtspr` helpers.
    State,
}

/// One SPR.
#[derive(Clone, Copy, Debug)]
pub struct SprDef {
    /// SPR number.
    pub num: u16,
    /// Name (as in the Power ISA / EREF).
    pub name: &'static str,
    /// Read access.
    pub read: Priv,
    /// Write access.
    pub write: Priv,
    /// Where it lives.
    pub home: Home,
    /// A write may change translation or interrupt state: end the block after it.
    pub sync: bool,
}

macro_rules! sprs {
    ($( $num:literal $name:literal $r:ident $w:ident $home:expr, $sync:literal; )*) => {
        /// Every SPR the e500mc model implements.
        pub static SPRS: &[SprDef] = &[ $( SprDef { num: $num, name: $name, read: Priv::$r, write: Priv::$w, home: $home, sync: $sync }, )* ];
    };
}

use Home::State;

sprs! {
    // number name      read  write home                          sync
    1    "XER"         User  User  Home::Xer, false;
    8    "LR"          User  User  Home::Reg(regs::LR), false;
    9    "CTR"         User  User  Home::Reg(regs::CTR), false;
    22   "DEC"         Super Super State, true;
    26   "SRR0"        Super Super Home::Reg(regs::srr(0)), false;
    27   "SRR1"        Super Super Home::Reg(regs::srr(1)), false;
    48   "PID"         Super Super State, true;
    54   "DECAR"       None  Super State, false;
    58   "CSRR0"       Super Super Home::Reg(regs::srr(2)), false;
    59   "CSRR1"       Super Super Home::Reg(regs::srr(3)), false;
    61   "DEAR"        Super Super Home::Reg(regs::DEAR), false;
    62   "ESR"         Super Super Home::Reg(regs::ESR), false;
    63   "IVPR"        Super Super State, false;
    259  "SPRG3R"      User  None  Home::Reg(regs::sprg(3)), false;
    260  "SPRG4R"      User  None  Home::Reg(regs::sprg(4)), false;
    261  "SPRG5R"      User  None  Home::Reg(regs::sprg(5)), false;
    262  "SPRG6R"      User  None  Home::Reg(regs::sprg(6)), false;
    263  "SPRG7R"      User  None  Home::Reg(regs::sprg(7)), false;
    268  "TBL"         User  None  State, false;
    269  "TBU"         User  None  State, false;
    272  "SPRG0"       Super Super Home::Reg(regs::sprg(0)), false;
    273  "SPRG1"       Super Super Home::Reg(regs::sprg(1)), false;
    274  "SPRG2"       Super Super Home::Reg(regs::sprg(2)), false;
    275  "SPRG3"       Super Super Home::Reg(regs::sprg(3)), false;
    276  "SPRG4"       Super Super Home::Reg(regs::sprg(4)), false;
    277  "SPRG5"       Super Super Home::Reg(regs::sprg(5)), false;
    278  "SPRG6"       Super Super Home::Reg(regs::sprg(6)), false;
    279  "SPRG7"       Super Super Home::Reg(regs::sprg(7)), false;
    284  "TBWL"        None  Super State, true;
    285  "TBWU"        None  Super State, true;
    286  "PIR"         Super Super State, false;
    287  "PVR"         Super None  State, false;
    304  "DBSR"        Super Super State, false;
    308  "DBCR0"       Super Super State, true;
    309  "DBCR1"       Super Super State, false;
    310  "DBCR2"       Super Super State, false;
    312  "IAC1"        Super Super State, false;
    313  "IAC2"        Super Super State, false;
    316  "DAC1"        Super Super State, false;
    317  "DAC2"        Super Super State, false;
    336  "TSR"         Super Super State, true;
    340  "TCR"         Super Super State, true;
    400  "IVOR0"       Super Super State, false;
    401  "IVOR1"       Super Super State, false;
    402  "IVOR2"       Super Super State, false;
    403  "IVOR3"       Super Super State, false;
    404  "IVOR4"       Super Super State, false;
    405  "IVOR5"       Super Super State, false;
    406  "IVOR6"       Super Super State, false;
    407  "IVOR7"       Super Super State, false;
    408  "IVOR8"       Super Super State, false;
    409  "IVOR9"       Super Super State, false;
    410  "IVOR10"      Super Super State, false;
    411  "IVOR11"      Super Super State, false;
    412  "IVOR12"      Super Super State, false;
    413  "IVOR13"      Super Super State, false;
    414  "IVOR14"      Super Super State, false;
    415  "IVOR15"      Super Super State, false;
    515  "L1CFG0"      Super None  State, false;
    516  "L1CFG1"      Super None  State, false;
    528  "IVOR32"      Super Super State, false;
    529  "IVOR33"      Super Super State, false;
    530  "IVOR34"      Super Super State, false;
    531  "IVOR35"      Super Super State, false;
    532  "IVOR36"      Super Super State, false;
    533  "IVOR37"      Super Super State, false;
    569  "MCARU"       Super Super State, false;
    570  "MCSRR0"      Super Super Home::Reg(regs::srr(6)), false;
    571  "MCSRR1"      Super Super Home::Reg(regs::srr(7)), false;
    572  "MCSR"        Super Super State, false;
    573  "MCAR"        Super Super State, false;
    574  "DSRR0"       Super Super Home::Reg(regs::srr(4)), false;
    575  "DSRR1"       Super Super Home::Reg(regs::srr(5)), false;
    604  "SPRG8"       Super Super Home::Reg(regs::sprg(8)), false;
    605  "SPRG9"       Super Super Home::Reg(regs::sprg(9)), false;
    624  "MAS0"        Super Super State, false;
    625  "MAS1"        Super Super State, false;
    626  "MAS2"        Super Super State, false;
    627  "MAS3"        Super Super State, false;
    628  "MAS4"        Super Super State, false;
    630  "MAS6"        Super Super State, false;
    633  "PID1"        Super Super State, true;
    634  "PID2"        Super Super State, true;
    688  "TLB0CFG"     Super None  State, false;
    689  "TLB1CFG"     Super None  State, false;
    702  "EPR"         Super None  State, false;
    944  "MAS7"        Super Super State, false;
    1008 "HID0"        Super Super State, false;
    1009 "HID1"        Super Super State, false;
    1010 "L1CSR0"      Super Super State, false;
    1011 "L1CSR1"      Super Super State, false;
    1012 "MMUCSR0"     Super Super State, true;
    1015 "MMUCFG"      Super None  State, false;
    1017 "L2CSR0"      Super Super State, false;
}

/// The definition of SPR `num`, if the model implements it.
pub fn lookup(num: u32) -> Option<&'static SprDef> {
    SPRS.binary_search_by_key(&(num as u16), |d| d.num).ok().map(|i| &SPRS[i])
}

/// SPR number from the split field of mfspr/mtspr (low and high 5-bit halves swapped).
pub fn spr_from_field(field: u32) -> u32 {
    ((field & 0x1f) << 5) | ((field >> 5) & 0x1f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(SPRS.windows(2).all(|w| w[0].num < w[1].num));
        assert_eq!(lookup(8).unwrap().name, "LR");
        assert_eq!(lookup(1015).unwrap().name, "MMUCFG");
        assert!(lookup(1023).is_none(), "SVR is not implemented on e500mc (as in QEMU)");
        assert_eq!(spr_from_field(0x100), 8);
    }
}
