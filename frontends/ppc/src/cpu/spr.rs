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
    /// What must happen after a write.
    pub after: After,
}

/// What a write to an SPR requires of the code that follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Nothing: the block goes on.
    Continue,
    /// Interrupt state may have changed: end the block and go through the run loop.
    RunLoop,
    /// Translations may have changed (PIDs, MMUCSR0): end the block and fetch the next
    /// instruction afresh, through the jump cache, which the write left coherent.
    Refetch,
}

macro_rules! sprs {
    ($( $num:literal $name:literal $r:ident $w:ident $home:expr, $after:ident; )*) => {
        /// Every SPR the e500mc model implements.
        pub static SPRS: &[SprDef] = &[ $( SprDef { num: $num, name: $name, read: Priv::$r, write: Priv::$w, home: $home, after: After::$after }, )* ];
    };
}

use Home::State;

sprs! {
    // number name      read  write home                          after
    1    "XER"         User  User  Home::Xer, Continue;
    8    "LR"          User  User  Home::Reg(regs::LR), Continue;
    9    "CTR"         User  User  Home::Reg(regs::CTR), Continue;
    22   "DEC"         Super Super State, RunLoop;
    26   "SRR0"        Super Super Home::Reg(regs::srr(0)), Continue;
    27   "SRR1"        Super Super Home::Reg(regs::srr(1)), Continue;
    48   "PID"         Super Super State, Refetch;
    54   "DECAR"       None  Super State, Continue;
    58   "CSRR0"       Super Super Home::Reg(regs::srr(2)), Continue;
    59   "CSRR1"       Super Super Home::Reg(regs::srr(3)), Continue;
    61   "DEAR"        Super Super Home::Reg(regs::DEAR), Continue;
    62   "ESR"         Super Super Home::Reg(regs::ESR), Continue;
    63   "IVPR"        Super Super State, Continue;
    259  "SPRG3R"      User  None  Home::Reg(regs::sprg(3)), Continue;
    260  "SPRG4R"      User  None  Home::Reg(regs::sprg(4)), Continue;
    261  "SPRG5R"      User  None  Home::Reg(regs::sprg(5)), Continue;
    262  "SPRG6R"      User  None  Home::Reg(regs::sprg(6)), Continue;
    263  "SPRG7R"      User  None  Home::Reg(regs::sprg(7)), Continue;
    268  "TBL"         User  None  State, Continue;
    269  "TBU"         User  None  State, Continue;
    272  "SPRG0"       Super Super Home::Reg(regs::sprg(0)), Continue;
    273  "SPRG1"       Super Super Home::Reg(regs::sprg(1)), Continue;
    274  "SPRG2"       Super Super Home::Reg(regs::sprg(2)), Continue;
    275  "SPRG3"       Super Super Home::Reg(regs::sprg(3)), Continue;
    276  "SPRG4"       Super Super Home::Reg(regs::sprg(4)), Continue;
    277  "SPRG5"       Super Super Home::Reg(regs::sprg(5)), Continue;
    278  "SPRG6"       Super Super Home::Reg(regs::sprg(6)), Continue;
    279  "SPRG7"       Super Super Home::Reg(regs::sprg(7)), Continue;
    284  "TBWL"        None  Super State, RunLoop;
    285  "TBWU"        None  Super State, RunLoop;
    286  "PIR"         Super Super State, Continue;
    287  "PVR"         Super None  State, Continue;
    304  "DBSR"        Super Super State, Continue;
    308  "DBCR0"       Super Super State, RunLoop;
    309  "DBCR1"       Super Super State, Continue;
    310  "DBCR2"       Super Super State, Continue;
    312  "IAC1"        Super Super State, Continue;
    313  "IAC2"        Super Super State, Continue;
    316  "DAC1"        Super Super State, Continue;
    317  "DAC2"        Super Super State, Continue;
    336  "TSR"         Super Super State, RunLoop;
    340  "TCR"         Super Super State, RunLoop;
    400  "IVOR0"       Super Super State, Continue;
    401  "IVOR1"       Super Super State, Continue;
    402  "IVOR2"       Super Super State, Continue;
    403  "IVOR3"       Super Super State, Continue;
    404  "IVOR4"       Super Super State, Continue;
    405  "IVOR5"       Super Super State, Continue;
    406  "IVOR6"       Super Super State, Continue;
    407  "IVOR7"       Super Super State, Continue;
    408  "IVOR8"       Super Super State, Continue;
    409  "IVOR9"       Super Super State, Continue;
    410  "IVOR10"      Super Super State, Continue;
    411  "IVOR11"      Super Super State, Continue;
    412  "IVOR12"      Super Super State, Continue;
    413  "IVOR13"      Super Super State, Continue;
    414  "IVOR14"      Super Super State, Continue;
    415  "IVOR15"      Super Super State, Continue;
    515  "L1CFG0"      Super None  State, Continue;
    516  "L1CFG1"      Super None  State, Continue;
    528  "IVOR32"      Super Super State, Continue;
    529  "IVOR33"      Super Super State, Continue;
    530  "IVOR34"      Super Super State, Continue;
    531  "IVOR35"      Super Super State, Continue;
    532  "IVOR36"      Super Super State, Continue;
    533  "IVOR37"      Super Super State, Continue;
    569  "MCARU"       Super Super State, Continue;
    570  "MCSRR0"      Super Super Home::Reg(regs::srr(6)), Continue;
    571  "MCSRR1"      Super Super Home::Reg(regs::srr(7)), Continue;
    572  "MCSR"        Super Super State, Continue;
    573  "MCAR"        Super Super State, Continue;
    574  "DSRR0"       Super Super Home::Reg(regs::srr(4)), Continue;
    575  "DSRR1"       Super Super Home::Reg(regs::srr(5)), Continue;
    604  "SPRG8"       Super Super Home::Reg(regs::sprg(8)), Continue;
    605  "SPRG9"       Super Super Home::Reg(regs::sprg(9)), Continue;
    624  "MAS0"        Super Super State, Continue;
    625  "MAS1"        Super Super State, Continue;
    626  "MAS2"        Super Super State, Continue;
    627  "MAS3"        Super Super State, Continue;
    628  "MAS4"        Super Super State, Continue;
    630  "MAS6"        Super Super State, Continue;
    633  "PID1"        Super Super State, Refetch;
    634  "PID2"        Super Super State, Refetch;
    688  "TLB0CFG"     Super None  State, Continue;
    689  "TLB1CFG"     Super None  State, Continue;
    702  "EPR"         Super None  State, Continue;
    944  "MAS7"        Super Super State, Continue;
    1008 "HID0"        Super Super State, Continue;
    1009 "HID1"        Super Super State, Continue;
    1010 "L1CSR0"      Super Super State, Continue;
    1011 "L1CSR1"      Super Super State, Continue;
    1012 "MMUCSR0"     Super Super State, Refetch;
    1015 "MMUCFG"      Super None  State, Continue;
    1017 "L2CSR0"      Super Super State, Continue;
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
