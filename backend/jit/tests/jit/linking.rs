//! Block chaining through link slots and the jump cache.
