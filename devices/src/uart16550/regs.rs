//! 16550A register offsets and bits (regshift 0: one byte per register).

/// Receive buffer (read) / transmit holding (write); divisor latch low with DLAB.
pub const RBR_THR_DLL: u64 = 0;
/// Interrupt enable; divisor latch high with DLAB.
pub const IER_DLM: u64 = 1;
/// Interrupt identification (read) / FIFO control (write).
pub const IIR_FCR: u64 = 2;
/// Line control.
pub const LCR: u64 = 3;
/// Modem control.
pub const MCR: u64 = 4;
/// Line status.
pub const LSR: u64 = 5;
/// Modem status.
pub const MSR: u64 = 6;
/// Scratch.
pub const SCR: u64 = 7;

/// IER: received data available.
pub const IER_RDI: u8 = 0x01;
/// IER: transmitter holding register empty.
pub const IER_THRI: u8 = 0x02;
/// IER: receiver line status.
pub const IER_RLSI: u8 = 0x04;
/// IER: modem status.
pub const IER_MSI: u8 = 0x08;

/// IIR: no interrupt pending.
pub const IIR_NO_INT: u8 = 0x01;
/// IIR: receiver line status.
pub const IIR_RLSI: u8 = 0x06;
/// IIR: received data available.
pub const IIR_RDI: u8 = 0x04;
/// IIR: character timeout.
pub const IIR_CTI: u8 = 0x0c;
/// IIR: transmitter holding register empty.
pub const IIR_THRI: u8 = 0x02;
/// IIR: modem status.
pub const IIR_MSI: u8 = 0x00;
/// IIR: FIFOs enabled (16550A).
pub const IIR_FIFO_ENABLED: u8 = 0xc0;

/// FCR: enable FIFOs.
pub const FCR_FE: u8 = 0x01;
/// FCR: clear the receive FIFO.
pub const FCR_RFR: u8 = 0x02;
/// FCR: clear the transmit FIFO.
pub const FCR_XFR: u8 = 0x04;

/// LCR: divisor latch access.
pub const LCR_DLAB: u8 = 0x80;

/// MCR: data terminal ready.
pub const MCR_DTR: u8 = 0x01;
/// MCR: request to send.
pub const MCR_RTS: u8 = 0x02;
/// MCR: OUT1.
pub const MCR_OUT1: u8 = 0x04;
/// MCR: OUT2 (interrupt enable on PCs).
pub const MCR_OUT2: u8 = 0x08;
/// MCR: loopback.
pub const MCR_LOOP: u8 = 0x10;

/// LSR: data ready.
pub const LSR_DR: u8 = 0x01;
/// LSR: overrun error.
pub const LSR_OE: u8 = 0x02;
/// LSR: break interrupt.
pub const LSR_BI: u8 = 0x10;
/// LSR: transmitter holding register empty.
pub const LSR_THRE: u8 = 0x20;
/// LSR: transmitter empty.
pub const LSR_TEMT: u8 = 0x40;
/// LSR bits that raise a line-status interrupt.
pub const LSR_INT_ANY: u8 = 0x1e;

/// MSR: clear to send.
pub const MSR_CTS: u8 = 0x10;
/// MSR: data set ready.
pub const MSR_DSR: u8 = 0x20;
/// MSR: ring indicator.
pub const MSR_RI: u8 = 0x40;
/// MSR: data carrier detect.
pub const MSR_DCD: u8 = 0x80;
/// MSR: any delta bit.
pub const MSR_ANY_DELTA: u8 = 0x0f;

/// Receive FIFO depth.
pub const FIFO_LEN: usize = 16;
