//! Hand-written blocks for behaviour random testing reaches rarely.
