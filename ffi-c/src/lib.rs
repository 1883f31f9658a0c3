//! `libyunxin_ecp`: the shared and static C library. The entry points live in
//! `yunxin-ecp-capi`; re-exporting them here makes them the exported symbols of both artifacts.

pub use yunxin_ecp_capi::*;
