//! The e500mc (Book E 2.06, MAV 1.0) MMU: TLB0, TLB1, MAS registers and translation.
