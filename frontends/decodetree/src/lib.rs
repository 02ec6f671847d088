//! Generator of instruction decoders from declarative .decode tables (build-time)
